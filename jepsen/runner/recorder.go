package runner

import (
	"context"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	// tries: tx ID -> the client's Commit and Abort attempts for it, until
	// an op of that tx takes them (see op).
	tries map[string]history.Attempts
	// decided is a ring of the last txs a commit or abort op learned the
	// decision of, for status reads of other workers' txs.
	decided []string
}

// recentDecided is the size of recorder.decided.
const recentDecided = 4

func newRecorder() *recorder {
	return &recorder{start: time.Now(), tries: map[string]history.Attempts{}}
}

// countAttempts is a gRPC client interceptor: it counts every Commit and
// Abort attempt the client makes, by tx ID, and those that ended with no
// answer (the attempt timed out or its connection failed: its outcome is
// unknown and the client retries by the same ID).
func (r *recorder) countAttempts(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	tx, ok := req.(interface{ GetTxId() string })
	if !ok || tx.GetTxId() == "" || !(strings.HasSuffix(method, "/Commit") || strings.HasSuffix(method, "/Abort")) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.tries[tx.GetTxId()]
	a.Calls++
	switch status.Code(err) {
	case codes.DeadlineExceeded, codes.Unavailable, codes.Canceled:
		a.Unanswered++
	}
	r.tries[tx.GetTxId()] = a
	return err
}

func (r *recorder) since() time.Duration { return time.Since(r.start) }

func (r *recorder) op(op history.Op) {
	op.End = r.since()
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = len(r.ops)
	if !history.Asks(op.Kind) && op.TxID != "" {
		op.Attempts = r.tries[op.TxID]
		delete(r.tries, op.TxID)
	}
	r.ops = append(r.ops, op)
	r.noteDecided(op)
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

func (r *recorder) noteDecided(op history.Op) {
	if (op.Kind == history.KindCommit || op.Kind == history.KindAbort) &&
		(op.Outcome == history.OutcomeCommit || op.Outcome == history.OutcomeAbort) {
		r.decided = append(r.decided, op.TxID)
		if len(r.decided) > recentDecided {
			r.decided = r.decided[1:]
		}
	}
}

// recent returns the last txs whose decision a client learned.
func (r *recorder) recent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.decided...)
}
