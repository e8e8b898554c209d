package runner

import (
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// recorder collects operations and faults from many goroutines.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []history.Op
	flt   []history.Fault
	// counters for progress lines
	committed, aborted, unknown int
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

func (r *recorder) since() time.Duration { return time.Since(r.start) }

func (r *recorder) op(op history.Op) {
	op.End = r.since()
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = len(r.ops)
	r.ops = append(r.ops, op)
	switch op.Outcome {
	case history.OutcomeCommit:
		r.committed++
	case history.OutcomeAbort:
		r.aborted++
	case history.OutcomeUnknown:
		r.unknown++
	}
}

func (r *recorder) fault(f history.Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flt = append(r.flt, f)
}

func (r *recorder) counts() (int, int, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops), r.committed, r.aborted, r.unknown
}

func (r *recorder) snapshot() ([]history.Op, []history.Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]history.Op(nil), r.ops...), append([]history.Fault(nil), r.flt...)
}
