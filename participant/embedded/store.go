package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// DefaultLockTimeout is the lock wait used when Options.LockTimeout is 0.
const DefaultLockTimeout = 5 * time.Second

var (
	bucketData     = []byte("data")
	bucketIntents  = []byte("intents")
	bucketOutcomes = []byte("outcomes")
	bucketDecided  = []byte("decided") // decision time + tx ID: the prune order
	bucketMeta     = []byte("meta")
	keyTerm        = []byte("term")
)

// Outcome tombstone values.
const (
	outcomeCommitted byte = 'C'
	outcomeAborted   byte = 'A'
)

// ErrLockTimeout is returned by Tx.Get and Tx.Put when a key lock cannot be
// taken before the context (or Options.LockTimeout) runs out. It is
// participant.ErrLockTimeout, so the agent maps it to codes.Aborted.
var ErrLockTimeout = participant.ErrLockTimeout

// Options configures a Store.
type Options struct {
	// LockTimeout is the longest a Get or Put waits for a key lock when its
	// context has no deadline. 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// Now is the clock that stamps decisions and ages them for
	// PruneOutcomes. Nil means time.Now.
	Now func() time.Time
}

// Store is a durable key-value store whose writes commit only through
// two-phase commit. It is safe for concurrent use.
type Store struct {
	db    *bolt.DB
	opts  Options
	locks *lockTable

	mu     sync.Mutex
	active map[string]*Tx // unprepared local transactions by tx ID

	group *groupCommitter // prepares, commits and aborts share fsyncs
}

var _ participant.Resource[*Tx] = (*Store)(nil)

// Open opens (creating if needed) the store at path. Every write is fsync'd.
// Prepared intents found on disk re-acquire the locks of the keys they wrote
// and read.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// The free-page list is rebuilt at open rather than written on every
	// commit (NoFreelistSync): less to write per fsync, same durability.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s := &Store{db: db, opts: opts, locks: newLockTable(), active: make(map[string]*Tx)}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.stampLegacyOutcomes(); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.group = newGroupCommitter(db)
	return s, nil
}

// init creates the buckets and re-locks the keys of prepared intents.
func (s *Store) init() error {
	return s.db.Update(func(btx *bolt.Tx) error {
		for _, name := range [][]byte{bucketData, bucketIntents, bucketOutcomes, bucketDecided, bucketMeta} {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("embedded: create bucket %s: %w", name, err)
			}
		}
		return btx.Bucket(bucketIntents).ForEach(func(k, v []byte) error {
			in, err := decodeIntent(v)
			if err != nil {
				return fmt.Errorf("embedded: intent %s: %w", k, err)
			}
			for _, key := range in.lockedKeys() {
				s.locks.tryAcquire(key, string(k))
			}
			return nil
		})
	})
}

// Close closes the database. Prepared work stays on disk.
func (s *Store) Close() error {
	s.group.close()
	return s.db.Close()
}

// Read returns key's committed value, without taking its lock.
func (s *Store) Read(key string) ([]byte, bool, error) {
	var val []byte
	var ok bool
	err := s.db.View(func(btx *bolt.Tx) error {
		if v := btx.Bucket(bucketData).Get([]byte(key)); v != nil {
			val, ok = append([]byte{}, v...), true
		}
		return nil
	})
	return val, ok, err
}

// ReadAll returns a committed snapshot of every key.
func (s *Store) ReadAll() (map[string][]byte, error) {
	out := make(map[string][]byte)
	err := s.db.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte{}, v...)
			return nil
		})
	})
	return out, err
}

// Term returns the highest fencing term recorded.
func (s *Store) Term(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var term uint64
	err := s.db.View(func(btx *bolt.Tx) error {
		term = readTerm(btx)
		return nil
	})
	return term, err
}

// SetTerm durably records term if it is higher than the recorded one.
func (s *Store) SetTerm(ctx context.Context, term uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(btx *bolt.Tx) error {
		if term <= readTerm(btx) {
			return nil
		}
		return btx.Bucket(bucketMeta).Put(keyTerm, binary.BigEndian.AppendUint64(nil, term))
	})
}

func readTerm(btx *bolt.Tx) uint64 {
	v := btx.Bucket(bucketMeta).Get(keyTerm)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// txState reads txID's durable state inside btx.
func txState(btx *bolt.Tx, txID string) participant.State {
	if st, ok := outcomeState(btx.Bucket(bucketOutcomes).Get([]byte(txID))); ok {
		return st
	}
	if btx.Bucket(bucketIntents).Get([]byte(txID)) != nil {
		return participant.StatePrepared
	}
	return participant.StateNone
}

var errEmptyTxID = errors.New("embedded: empty transaction ID")
