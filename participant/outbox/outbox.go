package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
)

// Config configures an Outbox. Start from DefaultConfig.
type Config struct {
	// ID is the outbox's participant ID: the branch part of every message
	// ID (tx/ID/seq).
	ID string
	// NATSURL is the broker's URL (nats://host:port).
	NATSURL string
	// Stream is the JetStream stream that captures Subjects. The outbox
	// creates it (file storage) if it does not exist, with DuplicateWindow.
	Stream string
	// Subjects are the subject patterns the stream captures; a branch
	// publishing elsewhere is refused at Prepare (it could never be
	// published).
	Subjects []string
	// DuplicateWindow is the stream's duplicate window when the outbox
	// creates it: within it a republished message ID is dropped.
	DuplicateWindow time.Duration
	// MaxMessages and MaxMessageBytes bound one branch (and one message's
	// data: the broker's max_payload is 1 MiB by default).
	MaxMessages     int
	MaxMessageBytes int
	// RetryMin and RetryMax bound the backoff between publish attempts
	// while the broker is down or refuses.
	RetryMin, RetryMax time.Duration
	// PublishTimeout bounds one publish and its acknowledgement.
	PublishTimeout time.Duration
	// Poll is how often pending messages are looked for without a commit
	// having woken the publisher (after a restart, after a failed publish).
	Poll time.Duration
}

// DefaultConfig returns the defaults; set ID, NATSURL, Stream, Subjects.
func DefaultConfig() Config {
	return Config{DuplicateWindow: 2 * time.Minute, MaxMessages: 64, MaxMessageBytes: 1 << 20,
		RetryMin: 50 * time.Millisecond, RetryMax: 2 * time.Second, PublishTimeout: 2 * time.Second, Poll: time.Second}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" || strings.ContainsAny(c.ID, "/ ") {
		errs = append(errs, fmt.Errorf("ID %q: set the participant ID (no '/' or spaces)", c.ID))
	}
	if c.NATSURL == "" || c.Stream == "" || len(c.Subjects) == 0 {
		errs = append(errs, errors.New("NATSURL, Stream and Subjects are required"))
	}
	if c.DuplicateWindow <= 0 || c.MaxMessages <= 0 || c.MaxMessageBytes <= 0 || c.PublishTimeout <= 0 || c.Poll <= 0 {
		errs = append(errs, errors.New("DuplicateWindow, MaxMessages, MaxMessageBytes, PublishTimeout and Poll must be positive"))
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("RetryMin %v must be positive and at most RetryMax %v", c.RetryMin, c.RetryMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("outbox: invalid config: %w", err)
	}
	return nil
}

// Outbox holds the branches' messages in an embedded store and publishes
// the committed ones (Run).
type Outbox struct {
	cfg  Config
	st   *embedded.Store
	log  *zap.Logger
	wake chan struct{}

	published  atomic.Uint64 // acknowledged as new by JetStream
	duplicates atomic.Uint64 // acknowledged as a duplicate (a republish)
	failures   atomic.Uint64 // publish attempts that failed (broker down, timeout)
}

// New returns an Outbox over st, which it owns the data of: every key it
// holds is a message (see keyOf).
func New(cfg Config, st *embedded.Store, log *zap.Logger) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Outbox{cfg: cfg, st: st, log: log.With(zap.String("outbox", cfg.ID)), wake: make(chan struct{}, 1)}, nil
}

// Stats are the publisher's counts since New.
type Stats struct {
	Published, Duplicates, Failures uint64
	// Pending is how many committed messages await publication.
	Pending int
}

// Stats reports the counts and the messages pending now.
func (o *Outbox) Stats() Stats {
	p, _ := o.pending()
	return Stats{Published: o.published.Load(), Duplicates: o.duplicates.Load(), Failures: o.failures.Load(), Pending: len(p)}
}

// Handler is the agent's handler: it checks the branch's messages and
// stores them in the local transaction, one key per message, so that
// Prepare makes them durable and only COMMIT makes them pending.
func (o *Outbox) Handler(ctx context.Context, tx *embedded.Tx, b []byte) error {
	msgs, err := decodePayload(b, o.cfg)
	if err != nil {
		return err
	}
	for i, m := range msgs {
		v, _ := json.Marshal(m)
		if err := tx.Put(ctx, keyOf(tx.ID(), i), v); err != nil {
			return err
		}
	}
	return nil
}

// keyOf is the store key of a transaction's i-th message; its message ID
// is msgID(key) (the transaction, this branch, the sequence).
func keyOf(txID string, i int) string { return fmt.Sprintf("m/%s/%04d", txID, i) }

func (o *Outbox) msgID(key string) string {
	tx, seq := splitKey(key)
	return tx + "/" + o.cfg.ID + "/" + seq
}

// MsgID is the message ID (Nats-Msg-Id) of the seq-th message (from 0) of
// transaction txID's branch at the outbox participantID.
func MsgID(txID, participantID string, seq int) string {
	return fmt.Sprintf("%s/%s/%04d", txID, participantID, seq)
}

func splitKey(key string) (txID, seq string) {
	k := strings.TrimPrefix(key, "m/")
	i := strings.LastIndexByte(k, '/')
	return k[:i], k[i+1:]
}

// Resource is the embedded store as the agent's Resource, waking the
// publisher after each commit.
func (o *Outbox) Resource() participant.Resource[*embedded.Tx] { return &resource{Store: o.st, o: o} }

type resource struct {
	*embedded.Store
	o *Outbox
}

func (r *resource) Commit(ctx context.Context, txID string) error {
	err := r.Store.Commit(ctx, txID)
	if err == nil {
		r.o.poke()
	}
	return err
}

func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

var _ participant.OutcomePruner = (*resource)(nil)
