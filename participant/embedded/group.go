package embedded

import (
	"errors"
	"sync"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many writes share one fdatasync.
const maxGroup = 512

var errStoreClosed = errors.New("embedded: store closed")

// op decides, from the durable state as its group sees it, the record a
// write appends to the intent log: nil when there is nothing to write (a
// retried decision), or an error that refuses the write alone.
type op func(v *groupView) (*record, error)

// groupCommitter appends the records of writes from many goroutines to the
// intent log with one fdatasync for every write that queued while the
// previous one ran. There is no artificial delay: a lone write commits at
// once, and under load the group grows by itself (group commit). A write
// is answered only after its record is durable, and becomes visible to
// readers (the overlay) at the same time.
type groupCommitter struct {
	s    *Store
	reqs chan writeReq
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	next uint64 // LSN of the next record (only run touches it)

	mu     sync.RWMutex // held shared while sending, exclusively to close
	closed bool
}

type writeReq struct {
	op   op
	done chan error
}

func newGroupCommitter(s *Store, next uint64) *groupCommitter {
	g := &groupCommitter{s: s, reqs: make(chan writeReq, maxGroup), quit: make(chan struct{}), next: next}
	g.wg.Add(1)
	go g.run()
	return g
}

// write runs o in the next group and waits until its record is durable.
func (g *groupCommitter) write(o op) error {
	r := writeReq{op: o, done: make(chan error, 1)}
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

// commit decides every write's record, appends them with one fdatasync,
// makes them visible and answers. A refused write is answered at once.
func (g *groupCommitter) commit(batch []writeReq) {
	recs, ok, err := g.decide(batch)
	if err == nil && len(recs) > 0 {
		err = g.append(recs)
	}
	for _, r := range ok {
		r.done <- err
	}
}

// decide runs each write's op against one consistent view of the durable
// state plus the records decided before it in the group.
func (g *groupCommitter) decide(batch []writeReq) (recs []*record, ok []writeReq, err error) {
	s := g.s
	err = s.view(func(btx *bolt.Tx) error {
		v := &groupView{s: s, btx: btx, local: make(map[string]*record), term: s.term.Load()}
		for _, r := range batch {
			rec, err := r.op(v)
			if err != nil {
				r.done <- err
				continue
			}
			ok = append(ok, r)
			if rec != nil {
				rec.lsn = g.next + uint64(len(recs))
				recs = append(recs, rec)
				v.add(rec)
			}
		}
		return nil
	})
	return recs, ok, err
}

// append writes recs to the log (one fdatasync), then publishes them.
func (g *groupCommitter) append(recs []*record) error {
	s := g.s
	var buf []byte
	for _, r := range recs {
		n := len(buf)
		buf = appendRecord(buf, r.lsn, r.encode())
		r.size = len(buf) - n
	}
	if err := s.log.write(recs[0].lsn, buf); err != nil {
		return err
	}
	g.next += uint64(len(recs))
	s.ov.mu.Lock()
	s.ov.add(recs)
	full := len(s.ov.pending) >= checkpointRecords || s.ov.bytes >= checkpointBytes
	s.ov.mu.Unlock()
	for _, r := range recs {
		if r.kind == recTerm && r.term > s.term.Load() {
			s.term.Store(r.term)
		}
	}
	if full {
		s.kickCheckpoint()
	}
	return nil
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

// groupView is the durable state as a write in a group sees it: the
// records decided earlier in the group, the overlay, then bbolt.
type groupView struct {
	s     *Store
	btx   *bolt.Tx
	local map[string]*record
	term  uint64
}

func (v *groupView) add(r *record) {
	if r.kind == recTerm {
		v.term = r.term
		return
	}
	v.local[r.txID] = r
}

func (v *groupView) state(txID string) participant.State {
	if r, ok := v.local[txID]; ok {
		return r.state()
	}
	return v.s.ov.state(v.btx, txID)
}

// intent returns prepared txID's intent.
func (v *groupView) intent(txID string) (intent, error) {
	if r, ok := v.local[txID]; ok && r.kind == recPrepare {
		return decodeIntent(r.intent)
	}
	if e, ok := v.s.ov.txs[txID]; ok {
		return decodeIntent(e.intent)
	}
	return decodeIntent(v.btx.Bucket(bucketIntents).Get([]byte(txID)))
}
