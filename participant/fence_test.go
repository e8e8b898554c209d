package participant_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// termProbe records, for every Abort applied, whether the store already
// held a term above staleTerm: a decision applied after a newer term was
// recorded, which fencing must prevent.
type termProbe struct {
	participant.Resource[*embedded.Tx]
	staleTerm  uint64
	termReads  atomic.Int32
	lateAborts atomic.Int32
}

func (p *termProbe) Term(ctx context.Context) (uint64, error) {
	p.termReads.Add(1)
	return p.Resource.Term(ctx)
}

func (p *termProbe) Abort(ctx context.Context, txID string) error {
	if term, err := p.Resource.Term(ctx); err == nil && term > p.staleTerm {
		p.lateAborts.Add(1)
	}
	return p.Resource.Abort(ctx, txID)
}

// An ABORT from a deposed leader (term 3) and a COMMIT from its successor
// (term 5) race for one transaction while a retried Prepare holds its lock.
// The term check and the apply are one step per transaction: the stale
// ABORT either applies before term 5 is recorded, or is refused; it never
// applies after.
func TestTermCheckIsAtomicWithApply(t *testing.T) {
	probe := &termProbe{staleTerm: 3}
	n := startNodeWith(t, fakecoord.StartTLS(t), t.TempDir(), nodeSetup{wrap: func(s *embedded.Store) participant.Resource[*embedded.Tx] {
		probe.Resource = s
		return probe
	}})
	if _, err := n.pc.Abort(bg, &arbiterpb.DecisionRequest{TxId: "other", Term: 3}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { n.prepare(t, "x", "a=1;hold") })
	eventually(t, "the handler to hold x's lock", func() bool { return n.calls.Load() == 1 })
	reads := probe.termReads.Load()
	decide := func(term uint64, commit bool) {
		req := &arbiterpb.DecisionRequest{TxId: "x", Term: term}
		if commit {
			_, _ = n.pc.Commit(bg, req)
		} else {
			_, _ = n.pc.Abort(bg, req)
		}
	}
	wg.Go(func() { decide(3, false) })
	softWait(func() bool { return probe.termReads.Load() > reads })
	wg.Go(func() { decide(5, true) })
	softWait(func() bool { term, _ := n.store.Term(bg); return term == 5 })
	close(n.hold)
	wg.Wait()
	if late := probe.lateAborts.Load(); late != 0 {
		t.Fatalf("the term-3 ABORT was applied after term 5 was recorded (state %v)", n.state(t, "x"))
	}
}

// softWait polls cond for a short while; unlike eventually, it does not
// fail: the awaited step may rightly never happen.
func softWait(cond func() bool) {
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end) && !cond(); time.Sleep(5 * time.Millisecond) {
	}
}
