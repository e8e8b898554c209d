package coordinator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Commit runs 2PC, or reports the decision if one exists. The request is
// validated once (validateCommit), then routed by routeCommit; the first
// case that matches takes it:
//
//  1. no tx_id: a one-shot whose ID this node chooses (oneshot.go);
//  2. a decided ID (a retry): the decision, answered by any node (below);
//  3. a follower: the call is forwarded to the leader (forward.go);
//  4. an ID the leader has no record of: a one-shot runs, or a Commit of a
//     run in progress joins it (oneshot.go);
//  5. a record this leader committed implicitly: as 2;
//  6. a STAGING record without a run: its recovery (parallel.go);
//  7. else a run over the record (run.go), which takes the path the
//     request asks for: one-phase for a one-shot with a single branch
//     (onephase.go), parallel (parallel.go) or standard (standard.go).
//
// Errors are mapped to gRPC codes here, once (toStatus, errors.go).
func (c *Coordinator) Commit(ctx context.Context, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	start := time.Now()
	timeout, err := c.validateCommit(req)
	if err != nil {
		return nil, toStatus(err)
	}
	resp, err := c.routeCommit(ctx, req, timeout)
	if err == nil {
		c.cfg.Metrics.answeredCommit(start)
	}
	return resp, toStatus(err)
}

// routeCommit is Commit's decision tree (see Commit). timeout is the
// validated lifetime of a one-shot transaction.
func (c *Coordinator) routeCommit(ctx context.Context, req *arbiterpb.CommitRequest, timeout time.Duration) (*arbiterpb.CommitResponse, error) {
	txID := req.GetTxId()
	if txID == "" {
		return c.commitNewOneShot(ctx, req, timeout)
	}
	if rec, ok := c.node.FSM().Get(txID); ok && outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return answerDecided(rec, req.GetBranches())
	}
	ls := c.leader()
	if ls == nil {
		return forward[arbiterpb.CommitRequest, arbiterpb.CommitResponse](ctx, c, arbiterpb.Coordinator_Commit_FullMethodName, req)
	}
	rec, ok := c.node.FSM().Get(txID)
	if !ok {
		return c.commitUnrecorded(ctx, ls, req, timeout)
	}
	if rec = c.settled(rec); outcomeOf(rec) != arbiterpb.Outcome_OUTCOME_UNKNOWN {
		return answerDecided(rec, req.GetBranches())
	}
	if err := branchesFit(rec, req.GetBranches()); err != nil {
		return nil, err
	}
	if rec.GetState() == arbiterpb.TxState_TX_STATE_STAGING && !c.running(txID) {
		return commitResponse(txID)(c.startRecovery(ls, rec).wait(ctx))
	}
	spec := commitSpec{branches: req.GetBranches(), mode: req.GetMode()}
	return commitResponse(txID)(c.commit(ctx, ls, rec, spec))
}

// answerDecided answers a Commit from a decided record, unless the Commit
// names a participant the decision does not cover (rule 3: a retry must
// name the branches of the first attempt; it is never merged).
func answerDecided(rec *arbiterpb.TxRecord, branches []*arbiterpb.Branch) (*arbiterpb.CommitResponse, error) {
	if err := branchesFit(rec, branches); err != nil {
		return nil, err
	}
	return &arbiterpb.CommitResponse{Outcome: outcomeOf(rec), Reason: rec.GetReason(), TxId: rec.GetTxId()}, nil
}

// branchesFit refuses branches naming a participant that a STAGING or
// COMMITTED record does not name (as a yes or read-only voter). An ACTIVE
// record takes new branches (nothing is decided), and an ABORTED one is
// answered as it is: nothing runs for it again.
func branchesFit(rec *arbiterpb.TxRecord, branches []*arbiterpb.Branch) error {
	st := rec.GetState()
	if st != arbiterpb.TxState_TX_STATE_STAGING && st != arbiterpb.TxState_TX_STATE_COMMITTED {
		return nil
	}
	named := unionSorted(rec.GetParticipants(), rec.GetReadOnly())
	for _, b := range branches {
		if !slices.Contains(named, b.GetParticipantId()) {
			return fmt.Errorf("%w: transaction %s is %s over participants %v and this Commit names %q: retry with the branches of the first attempt, or start a new transaction for the new branch",
				ErrBranchesDiffer, rec.GetTxId(), strings.TrimPrefix(st.String(), "TX_STATE_"), named, b.GetParticipantId())
		}
	}
	return nil
}

// commitResponse turns a run's answer into txID's CommitResponse.
func commitResponse(txID string) func(arbiterpb.Outcome, string, error) (*arbiterpb.CommitResponse, error) {
	return func(out arbiterpb.Outcome, why string, err error) (*arbiterpb.CommitResponse, error) {
		if err != nil {
			return nil, err
		}
		return &arbiterpb.CommitResponse{Outcome: out, Reason: why, TxId: txID}, nil
	}
}
