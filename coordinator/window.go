package coordinator

import (
	"fmt"
	"time"

	"github.com/arbiter-tx/arbiter/internal/txid"
)

// maxFutureSkew is how far ahead of this node's clock an ID's creation time
// may be (clock skew between a client and the coordinators).
const maxFutureSkew = time.Minute

// idAge checks an ID against the uniqueness window by the creation time it
// carries (client.NewTxID, or this leader's newTxID). dated is false for an
// ID without one. An ID older than the window is refused with ErrTooOld:
// its outcome may have been forgotten, so running it could decide it a
// second time. One from further ahead than maxFutureSkew is refused too.
func (c *Coordinator) idAge(txID string) (dated bool, err error) {
	created, ok := txid.Time(txID)
	if !ok {
		return false, nil
	}
	now := c.cfg.clock()()
	switch {
	case now.Sub(created) > c.cfg.UniquenessWindow:
		return true, fmt.Errorf("%w: %s was created at %s, more than %v ago (--uniqueness-window): its outcome may have been forgotten, so it is never run again; start a new transaction with a fresh ID (client.NewTxID)",
			ErrTooOld, txID, created.UTC().Format(time.RFC3339), c.cfg.UniquenessWindow)
	case created.Sub(now) > maxFutureSkew:
		return true, fmt.Errorf("%w: %s was created at %s, more than %v ahead of this coordinator's clock: fix the client's clock",
			ErrInvalid, txID, created.UTC().Format(time.RFC3339), maxFutureSkew)
	}
	return true, nil
}

// oneShotID refuses a one-shot ID that cannot be dated or is out of the
// window: a one-shot run is the only way an ID without a record can be
// decided, so this check is what makes the window hold.
func (c *Coordinator) oneShotID(txID string) error {
	dated, err := c.idAge(txID)
	if err == nil && !dated {
		err = fmt.Errorf("%w: one-shot tx_id %q does not carry its creation time: make it with client.NewTxID (a UUIDv7 in 32 lowercase hex digits), so the coordinator can refuse it once it is older than the uniqueness window",
			ErrInvalid, txID)
	}
	return err
}

// newTxID returns a fresh dated ID, chosen by the node before it proposes
// anything.
func (c *Coordinator) newTxID() string { return txid.New(c.cfg.clock()()) }
