package coordinator

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is capped exponential backoff with jitter.
type backoff struct {
	next, max time.Duration
}

func (c *Coordinator) newBackoff() *backoff {
	return &backoff{next: c.cfg.RetryMin, max: c.cfg.RetryMax}
}

// wait sleeps for the next interval or until ctx is done. The first call
// (made by a for-loop's post statement) follows the first attempt.
func (b *backoff) wait(ctx context.Context) {
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(b.next*2, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
