package coordinator

import (
	"errors"
	"time"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// The standard path: Prepare to every participant (read-only votes
// allowed), then DECIDE through Raft, then phase 2 (phase2.go). The
// caller hears the decision once it is applied.

// executeStandard is phase 1 plus the decision, then hands over to phase
// 2. A COMMIT the FSM refuses because a participant enlisted while it was
// being proposed (raftlog.ErrUnvoted) is not answered: the newcomers are
// prepared, and the decision is proposed again with their votes.
func (c *Coordinator) executeStandard(ls *leaderState, r *run, payloads map[string][]byte) {
	start := time.Now()
	v := c.prepareAll(ls, r, payloads, true)
	c.cfg.Metrics.observe("prepare", start)
	c.cfg.failpoint(failpoint.BeforeDecide, r.txID)
	for {
		want := c.breakDecision(r, v.out)
		if want == arbiterpb.Outcome_OUTCOME_COMMIT && len(r.writers()) == 0 && r.oneShot {
			r.out = want // read-only everywhere and no record to settle: no Raft write
			return
		}
		err := c.decideAndFinish(ls, r, want, v.why, !v.certain)
		if !errors.Is(err, raftlog.ErrUnvoted) {
			r.err = err
			return
		}
		if v = c.prepareLate(ls, r, payloads); v.out == arbiterpb.Outcome_OUTCOME_UNKNOWN {
			r.err = err
			return
		}
	}
}
