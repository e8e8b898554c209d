package embedded

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many writes share one bbolt transaction.
const maxGroup = 512

var errStoreClosed = errors.New("embedded: store closed")

// groupCommitter runs writes from many goroutines in shared bbolt
// transactions: one fsync for every write that queued while the previous
// fsync ran. There is no artificial delay: a lone write commits at once,
// and under load the batch grows by itself (group commit).
type groupCommitter struct {
	db   *bolt.DB
	reqs chan writeReq
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu     sync.RWMutex // held shared while sending, exclusively to close
	closed bool
}

type writeReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

func newGroupCommitter(db *bolt.DB) *groupCommitter {
	g := &groupCommitter{db: db, reqs: make(chan writeReq, maxGroup), quit: make(chan struct{})}
	g.wg.Add(1)
	go g.run()
	return g
}

// write runs fn inside a durable bbolt transaction shared with other
// writes. fn may run more than once (if another write in its group fails,
// the group is retried without it), so it must only act through btx.
func (g *groupCommitter) write(fn func(*bolt.Tx) error) error {
	r := writeReq{fn: fn, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errStoreClosed
	}
	g.reqs <- r // run keeps taking requests until close has stopped new sends
	g.mu.RUnlock()
	return <-r.done
}

func (g *groupCommitter) run() {
	defer g.wg.Done()
	for {
		select {
		case r := <-g.reqs:
			g.commit(g.drain([]writeReq{r}))
		case <-g.quit:
			g.failPending()
			return
		}
	}
}

// drain adds every write already queued, up to maxGroup.
func (g *groupCommitter) drain(batch []writeReq) []writeReq {
	for len(batch) < maxGroup {
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit runs the group in one transaction. A write that fails is answered
// with its error and the rest of the group is retried without it.
func (g *groupCommitter) commit(batch []writeReq) {
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
				r.done <- err // nil, or the commit's own error for everyone
			}
			return
		}
		batch[failed].done <- ferr
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

func (g *groupCommitter) failPending() {
	for {
		select {
		case r := <-g.reqs:
			r.done <- errStoreClosed
		default:
			return
		}
	}
}

// close stops new writes, answers every queued one with errStoreClosed
// (none is left waiting), and waits for the committer to exit.
func (g *groupCommitter) close() {
	g.once.Do(func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		close(g.quit)
	})
	g.wg.Wait()
}
