// Package backoff is the one way this module waits while a context may end:
// Sleep for a set time, and Backoff, capped exponential backoff with jitter
// built on Sleep. The client SDK, the participant SDK, the coordinator and
// the tools all use it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits for d or until ctx ends, whichever comes first, and reports
// whether all of d passed; false means ctx ended (ctx.Err says why). A d of
// zero or less does not wait: Sleep reports whether ctx is still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Backoff is capped exponential backoff with jitter. It is not safe for
// concurrent use: each retry loop has its own.
type Backoff struct {
	next, max time.Duration
}

// New returns a Backoff whose first wait is about first and whose waits
// double up to about max.
func New(first, max time.Duration) *Backoff {
	return &Backoff{next: first, max: max}
}

// Wait sleeps for a random duration between half the current interval and
// all of it, then doubles the interval (up to max). It reports, as Sleep
// does, whether it slept the whole time rather than seeing ctx end.
func (b *Backoff) Wait(ctx context.Context) bool {
	return Sleep(ctx, b.step())
}

// step returns the next wait and doubles the interval.
func (b *Backoff) step() time.Duration {
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(b.next*2, b.max)
	return d
}
