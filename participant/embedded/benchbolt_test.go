package embedded

import (
	"fmt"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/internal/txstate"
	bolt "go.etcd.io/bbolt"
)

// boltModel makes a prepare and a decision durable exactly as the store
// did before the intent log (main at 7980160): the same buckets, records
// and checks, in one bbolt transaction per group of concurrent writes, or
// through bbolt's own Update or Batch. The comparison benchmark measures
// it beside the store, so the "before" figures come from the same run.
type boltModel struct {
	db    *bolt.DB
	write func(func(*bolt.Tx) error) error
	stop  func()
}

// boltWrite names how a boltModel commits a write.
type boltWrite int

const (
	boltUpdate boltWrite = iota // db.Update per write: one bbolt commit each
	boltBatch                   // db.Batch: bbolt's own coalescing (MaxBatchDelay)
	boltGroup                   // the store's former group committer (no delay)
)

func openBoltModel(path string, how boltWrite, opts *bolt.Options) (*boltModel, error) {
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(btx *bolt.Tx) error {
		for _, name := range [][]byte{bucketData, bucketIntents, bucketOutcomes, bucketDecided, bucketMeta} {
			if _, err := btx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	m := &boltModel{db: db, stop: func() {}}
	switch how {
	case boltUpdate:
		m.write = db.Update
	case boltBatch:
		m.write = db.Batch
	case boltGroup:
		g := newOldGroup(db)
		m.write, m.stop = g.write, g.close
	}
	return m, nil
}

func (m *boltModel) prepare(txID, key string, val []byte) error {
	rec := intent{deadline: time.Now().Add(time.Minute), writes: map[string][]byte{key: val}}.encode()
	return m.write(func(btx *bolt.Tx) error {
		if err := txstate.NeedNone(txState(btx, txID), txID); err != nil {
			return err
		}
		return btx.Bucket(bucketIntents).Put([]byte(txID), rec)
	})
}

func (m *boltModel) commit(txID string) error {
	at := time.Now()
	return m.write(func(btx *bolt.Tx) error {
		switch txState(btx, txID) {
		case participant.StateCommitted:
			return nil
		case participant.StatePrepared:
			return applyIntent(btx, txID, at)
		}
		return fmt.Errorf("commit %s: not prepared", txID)
	})
}

func (m *boltModel) close() error {
	m.stop()
	return m.db.Close()
}

// oldGroup is the store's group committer before the intent log, kept
// here only to measure it: writes queued while a bbolt commit ran share the
// next one (two fdatasyncs: data pages, then the meta page).
type oldGroup struct {
	db   *bolt.DB
	reqs chan oldReq
	quit chan struct{}
	wg   sync.WaitGroup
}

type oldReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

func newOldGroup(db *bolt.DB) *oldGroup {
	g := &oldGroup{db: db, reqs: make(chan oldReq, 512), quit: make(chan struct{})}
	g.wg.Add(1)
	go g.run()
	return g
}

func (g *oldGroup) write(fn func(*bolt.Tx) error) error {
	r := oldReq{fn: fn, done: make(chan error, 1)}
	g.reqs <- r
	return <-r.done
}

func (g *oldGroup) run() {
	defer g.wg.Done()
	for {
		select {
		case r := <-g.reqs:
			batch := []oldReq{r}
			for more := true; more && len(batch) < 512; {
				select {
				case r := <-g.reqs:
					batch = append(batch, r)
				default:
					more = false
				}
			}
			g.commit(batch)
		case <-g.quit:
			return
		}
	}
}

func (g *oldGroup) commit(batch []oldReq) {
	for len(batch) > 0 {
		failed, ferr := -1, error(nil)
		err := g.db.Update(func(btx *bolt.Tx) error {
			for i, r := range batch {
				if err := r.fn(btx); err != nil {
					failed, ferr = i, err
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, r := range batch {
				r.done <- err
			}
			return
		}
		batch[failed].done <- ferr
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

func (g *oldGroup) close() {
	close(g.quit)
	g.wg.Wait()
}
