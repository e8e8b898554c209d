package raftlog

import (
	"errors"
	"slices"
	"testing"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func (h *testFSM) stage(id string, ps ...string) Result {
	return h.apply(pb.CommandType_COMMAND_TYPE_STAGE, &pb.StageCommand{TxId: id, Participants: ps, DeadlineUnixNanos: 50, ClientId: "one-shot"})
}

func TestStageCreatesOrMovesToStaging(t *testing.T) {
	h := newTestFSM(t)
	// No BEGIN (a one-shot commit): STAGE creates the record.
	r := h.stage("new", "b", "a")
	mustState(t, r, pb.TxState_TX_STATE_STAGING)
	if r.Tx.GetClientId() != "one-shot" || r.Tx.GetDeadlineUnixNanos() != 50 || !slices.Equal(r.Tx.GetParticipants(), []string{"a", "b"}) {
		t.Fatalf("created record %v", r.Tx)
	}
	// After BEGIN: ACTIVE becomes STAGING with the run's set, which must
	// cover every enlisted participant; BEGIN's deadline and client kept.
	h.begin("begun")
	h.enlist("begun", "c")
	mustErr(t, h.stage("begun", "a"), ErrUnvoted)
	r = h.stage("begun", "a", "c")
	mustState(t, r, pb.TxState_TX_STATE_STAGING)
	if r.Tx.GetClientId() != "cli" || !slices.Equal(r.Tx.GetParticipants(), []string{"a", "c"}) {
		t.Fatalf("staged record %v", r.Tx)
	}
	// A retried STAGE with the same set changes nothing; another set is
	// refused, and the staged set is closed to ENLIST.
	if r2 := h.stage("begun", "c", "a"); !slices.Equal(r2.Tx.GetParticipants(), []string{"a", "c"}) || r2.Err != nil {
		t.Fatalf("retried stage %v %v", r2.Tx, r2.Err)
	}
	mustErr(t, h.stage("begun", "a", "c", "z"), ErrParticipantsDiffer)
	mustErr(t, h.enlist("begun", "z"), ErrCommitting)
	if rec, _ := h.f.Get("begun"); !slices.Equal(rec.GetParticipants(), []string{"a", "c"}) {
		t.Fatalf("refused stage or enlist changed the record: %v", rec)
	}
	if active, unfinished := h.f.Counts(); active != 2 || unfinished != 0 {
		t.Fatalf("Counts = %d active, %d unfinished; want 2, 0", active, unfinished)
	}
	// A decided transaction is not staged again.
	h.decide("begun", commit, "a", "c")
	if r := h.stage("begun", "a"); !r.AlreadyDecided || r.Tx.GetState() != pb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("stage after decide: %+v", r)
	}
}

func TestPresumedAbortRefusedForStaging(t *testing.T) {
	h := newTestFSM(t)
	h.stage("tx", "a", "b")
	r := h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "tx", Outcome: abort, Presumed: true})
	if !errors.Is(r.Err, ErrStaging) || r.Tx.GetState() != pb.TxState_TX_STATE_STAGING {
		t.Fatalf("presumed abort of a staging record: %+v", r)
	}
	// An abort after a refusal (not presumed) is accepted; so is a commit.
	r = h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "tx", Outcome: abort, Reason: "b refused"})
	mustState(t, r, pb.TxState_TX_STATE_ABORTED)
	h.stage("tx2", "a")
	mustErr(t, h.decide("tx2", commit), ErrUnvoted)
	mustState(t, h.decide("tx2", commit, "a"), pb.TxState_TX_STATE_COMMITTED)
	// A presumed abort of an ACTIVE record is fine.
	h.begin("tx3")
	r = h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "tx3", Outcome: abort, Presumed: true})
	mustState(t, r, pb.TxState_TX_STATE_ABORTED)
}

func TestDecideCreatesRecordOnlyWhenAsked(t *testing.T) {
	h := newTestFSM(t)
	if r := h.decide("ghost", abort); !errors.Is(r.Err, ErrUnknownTx) {
		t.Fatalf("decide of an unknown ID without create: %+v", r)
	}
	r := h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "ghost", Outcome: abort, Presumed: true,
		Participants: []string{"p"}, CreateDeadlineUnixNanos: 7, CreateClientId: "c"})
	mustState(t, r, pb.TxState_TX_STATE_ABORTED)
	if r.Tx.GetBeginIndex() != h.index || r.Tx.GetDecidedIndex() != h.index || r.Tx.GetClientId() != "c" {
		t.Fatalf("created record %v at index %d", r.Tx, h.index)
	}
	// The record is write-once like any other: a later COMMIT loses.
	if r := h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "ghost", Outcome: commit, CreateDeadlineUnixNanos: 7}); !r.AlreadyDecided || r.Tx.GetState() != pb.TxState_TX_STATE_ABORTED {
		t.Fatalf("second decide: %+v", r)
	}
	if active, unfinished := h.f.Counts(); active != 0 || unfinished != 1 {
		t.Fatalf("Counts = %d active, %d unfinished; want 0, 1", active, unfinished)
	}
	h.finish("ghost")
	if active, unfinished := h.f.Counts(); active != 0 || unfinished != 0 {
		t.Fatalf("after finish Counts = %d, %d", active, unfinished)
	}
}

func TestFinishRecordsImplicitCommits(t *testing.T) {
	h := newTestFSM(t)
	h.stage("p1", "a", "b")
	h.stage("p2", "a")
	h.begin("active")
	h.stage("decided", "a")
	h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: "decided", Outcome: abort, Reason: "a refused"})
	// An implicit commit only applies to a STAGING record: ACTIVE stays,
	// a decided one keeps its decision (and is finished).
	h.apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{ImplicitCommitTxIds: []string{"p1", "active", "decided", "ghost"}})
	rec, ok := h.f.Get("p1")
	if !ok || rec.GetState() != pb.TxState_TX_STATE_COMMITTED || !rec.GetFinished() || rec.GetDecidedIndex() != h.index {
		t.Fatalf("p1 after implicit finish: %v", rec)
	}
	if rec, _ := h.f.Get("decided"); rec.GetState() != pb.TxState_TX_STATE_ABORTED || !rec.GetFinished() {
		t.Fatalf("decided after implicit finish: %v", rec)
	}
	if rec, _ := h.f.Get("active"); rec.GetState() != pb.TxState_TX_STATE_ACTIVE || rec.GetFinished() {
		t.Fatalf("active after implicit finish: %v", rec)
	}
	if _, ok := h.f.Get("ghost"); ok {
		t.Fatal("an unknown ID was created by FINISH")
	}
	if active, unfinished := h.f.Counts(); active != 2 || unfinished != 0 {
		t.Fatalf("Counts = %d active, %d unfinished; want 2 (p2, active), 0", active, unfinished)
	}
}
