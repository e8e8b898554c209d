package coordinator

import "github.com/arbiter-tx/arbiter/internal/backoff"

// newBackoff paces a retry loop: capped exponential backoff with jitter,
// from RetryMin up to RetryMax. The loop's post statement waits, so the
// first wait follows the first attempt.
func (c *Coordinator) newBackoff() *backoff.Backoff {
	return backoff.New(c.cfg.RetryMin, c.cfg.RetryMax)
}
