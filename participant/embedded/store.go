package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

	log   *wal            // the intent log: every write is durable here first
	ov    *overlay        // what the log holds that bbolt does not yet
	group *groupCommitter // prepares, decisions and terms share fdatasyncs
	term  atomic.Uint64   // highest durable fencing term

	ckMu   sync.Mutex // one checkpoint at a time
	ckKick chan struct{}
	ckQuit chan struct{}
	ckWG   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ participant.Resource[*Tx] = (*Store)(nil)

// Open opens (creating if needed) the store at path: bbolt at path and
// its intent log in the directory path+".wal". It applies to bbolt what
// the log holds beyond the last checkpoint (a crash's durable writes; a
// torn tail, never acknowledged, is dropped), then starts a fresh log.
// Prepared intents re-acquire the locks of the keys they wrote and read.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// The free-page list is rebuilt at open rather than written on every
	// commit (NoFreelistSync): less to write per checkpoint, same durability.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s := &Store{db: db, opts: opts, locks: newLockTable(), active: make(map[string]*Tx), ov: newOverlay(),
		ckKick: make(chan struct{}, 1), ckQuit: make(chan struct{})}
	if err := s.recover(path); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ckWG.Add(1)
	go s.runCheckpoints()
	return s, nil
}

// recover brings bbolt up to date with the intent log and starts the log
// and its group committer. It checks the whole log before it changes
// anything: a log it refuses leaves every file as it was.
func (s *Store) recover(path string) error {
	dir := logDir(path)
	var applied uint64
	var ready bool // every bucket exists
	err := s.db.View(func(btx *bolt.Tx) error {
		ready = hasBuckets(btx)
		if ready {
			applied = readApplied(btx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	recs, err := scanLog(dir, applied)
	if err != nil {
		return fmt.Errorf("embedded: recover %s: %w", dir, err)
	}
	if !ready {
		if err := s.createBuckets(); err != nil {
			return err
		}
	}
	if err := makeLogDir(dir); err != nil {
		return err
	}
	if err := replay(s.db, recs); err != nil {
		return fmt.Errorf("embedded: recover %s: %w", dir, err)
	}
	if len(recs) > 0 {
		applied = recs[len(recs)-1].lsn
	}
	return s.start(dir, applied)
}

// start re-locks prepared work, stamps legacy outcomes, and starts a
// fresh log after LSN applied, with its group committer.
func (s *Store) start(dir string, applied uint64) error {
	if err := s.init(); err != nil {
		return err
	}
	if err := s.stampLegacyOutcomes(); err != nil {
		return err
	}
	var err error
	if s.log, err = startWAL(dir, applied+1); err != nil {
		return fmt.Errorf("embedded: start intent log %s: %w", dir, err)
	}
	s.group = newGroupCommitter(s, applied+1)
	return nil
}

var allBuckets = [][]byte{bucketData, bucketIntents, bucketOutcomes, bucketDecided, bucketMeta}

func hasBuckets(btx *bolt.Tx) bool {
	for _, name := range allBuckets {
		if btx.Bucket(name) == nil {
			return false
		}
	}
	return true
}

func (s *Store) createBuckets() error {
	return s.db.Update(func(btx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("embedded: create bucket %s: %w", name, err)
			}
		}
		return nil
	})
}

// init reads the term and re-locks the keys of prepared intents.
func (s *Store) init() error {
	return s.db.View(func(btx *bolt.Tx) error {
		s.term.Store(readTerm(btx))
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

// Close stops writes, applies what the log holds to bbolt and closes
// both. Prepared work stays on disk.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.group.close()
		close(s.ckQuit)
		s.ckWG.Wait()
		err := s.checkpoint()
		if lerr := s.log.close(); err == nil {
			err = lerr
		}
		if derr := s.db.Close(); err == nil {
			err = derr
		}
		s.closeErr = err
	})
	return s.closeErr
}

// Read returns key's committed value, without taking its lock.
func (s *Store) Read(key string) ([]byte, bool, error) {
	var val []byte
	var ok bool
	err := s.view(func(btx *bolt.Tx) error {
		if e, hit := s.ov.data[key]; hit {
			val, ok = append([]byte{}, e.val...), true
		} else if v := btx.Bucket(bucketData).Get([]byte(key)); v != nil {
			val, ok = append([]byte{}, v...), true
		}
		return nil
	})
	return val, ok, err
}

// ReadAll returns a committed snapshot of every key.
func (s *Store) ReadAll() (map[string][]byte, error) {
	btx, _, data, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer func() { _ = btx.Rollback() }()
	out := make(map[string][]byte, len(data))
	for k, e := range data {
		out[k] = append([]byte{}, e.val...)
	}
	err = btx.Bucket(bucketData).ForEach(func(k, v []byte) error {
		if _, hit := out[string(k)]; !hit {
			out[string(k)] = append([]byte{}, v...)
		}
		return nil
	})
	return out, err
}

// Term returns the highest fencing term recorded.
func (s *Store) Term(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.term.Load(), nil
}

// SetTerm durably records term if it is higher than the recorded one.
func (s *Store) SetTerm(ctx context.Context, term uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.group.write(func(v *groupView) (*record, error) {
		if term <= v.term {
			return nil, nil
		}
		return &record{kind: recTerm, term: term}, nil
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
