package raftlog

import (
	"errors"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// testFSM applies commands at increasing log indexes.
type testFSM struct {
	t     *testing.T
	f     *FSM
	index uint64
}

func newTestFSM(t *testing.T) *testFSM {
	return &testFSM{t: t, f: NewFSM()}
}

func (h *testFSM) apply(ct pb.CommandType, m proto.Message) Result {
	h.t.Helper()
	b, err := Encode(ct, m)
	if err != nil {
		h.t.Fatal(err)
	}
	h.index++
	res, ok := h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: b}).(Result)
	if !ok {
		h.t.Fatal("Apply did not return a Result")
	}
	return res
}

func (h *testFSM) begin(id string) Result {
	return h.apply(pb.CommandType_COMMAND_TYPE_BEGIN, &pb.BeginCommand{TxId: id, DeadlineUnixNanos: 100, ClientId: "cli"})
}

func (h *testFSM) enlist(id, p string) Result {
	return h.apply(pb.CommandType_COMMAND_TYPE_ENLIST, &pb.EnlistCommand{TxId: id, ParticipantId: p})
}

func (h *testFSM) decide(id string, o pb.Outcome, ps ...string) Result {
	return h.apply(pb.CommandType_COMMAND_TYPE_DECIDE, &pb.DecideCommand{TxId: id, Outcome: o, Participants: ps, Reason: o.String()})
}

func (h *testFSM) finish(ids ...string) Result {
	return h.apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{TxIds: ids})
}

const (
	commit = pb.Outcome_OUTCOME_COMMIT
	abort  = pb.Outcome_OUTCOME_ABORT
)

func mustState(t *testing.T, r Result, want pb.TxState) {
	t.Helper()
	if r.Err != nil || r.Tx == nil || r.Tx.State != want {
		t.Fatalf("got %+v, want state %v and no error", r, want)
	}
}

func mustErr(t *testing.T, r Result, want error) {
	t.Helper()
	if !errors.Is(r.Err, want) {
		t.Fatalf("got err %v, want %v", r.Err, want)
	}
}

func TestBegin(t *testing.T) {
	h := newTestFSM(t)
	r := h.begin("t1")
	mustState(t, r, pb.TxState_TX_STATE_ACTIVE)
	if r.Tx.BeginIndex != 1 || r.Tx.DeadlineUnixNanos != 100 || r.Tx.ClientId != "cli" {
		t.Fatalf("record %v", r.Tx)
	}
	r = h.begin("t1")
	mustErr(t, r, ErrTxExists)
	if r.Tx.GetBeginIndex() != 1 {
		t.Fatalf("existing record not returned: %v", r.Tx)
	}
	h.decide("t1", commit)
	h.finish("t1")
	mustErr(t, h.begin("t1"), ErrTxExists) // finished records still block reuse
}

func TestEnlist(t *testing.T) {
	h := newTestFSM(t)
	mustErr(t, h.enlist("nope", "p"), ErrUnknownTx)
	h.begin("t1")
	h.enlist("t1", "b")
	h.enlist("t1", "a")
	r := h.enlist("t1", "b")
	mustState(t, r, pb.TxState_TX_STATE_ACTIVE)
	if !slices.Equal(r.Tx.Participants, []string{"a", "b"}) {
		t.Fatalf("participants %v", r.Tx.Participants)
	}
	h.decide("t1", abort)
	r = h.enlist("t1", "c")
	mustErr(t, r, ErrNotActive)
	if r.Tx.GetState() != pb.TxState_TX_STATE_ABORTED || len(r.Tx.Participants) != 2 {
		t.Fatalf("enlist after decide changed or hid the record: %v", r.Tx)
	}
	h.finish("t1")
	mustErr(t, h.enlist("t1", "c"), ErrNotActive)
}

func TestDecide(t *testing.T) {
	h := newTestFSM(t)
	mustErr(t, h.decide("nope", commit), ErrUnknownTx)
	h.begin("t1")
	h.enlist("t1", "b")
	r := h.decide("t1", commit, "c", "a", "b")
	mustState(t, r, pb.TxState_TX_STATE_COMMITTED)
	if r.AlreadyDecided || r.Tx.DecidedIndex != 4 || r.Tx.Reason != "OUTCOME_COMMIT" ||
		!slices.Equal(r.Tx.Participants, []string{"a", "b", "c"}) {
		t.Fatalf("decide result %+v", r)
	}
	for _, inv := range []pb.Outcome{pb.Outcome_OUTCOME_UNKNOWN, pb.Outcome(9)} {
		h.begin("bad")
		if r := h.decide("bad", inv); r.Err == nil || r.Tx != nil {
			t.Fatalf("invalid outcome %v accepted: %+v", inv, r)
		}
		if rec, _ := h.f.Get("bad"); rec.State != pb.TxState_TX_STATE_ACTIVE {
			t.Fatalf("invalid outcome changed the record: %v", rec)
		}
	}
}

func TestDecideWriteOnce(t *testing.T) {
	for _, order := range [][2]pb.Outcome{{commit, abort}, {abort, commit}, {abort, abort}} {
		t.Run(order[0].String()+"_then_"+order[1].String(), func(t *testing.T) {
			h := newTestFSM(t)
			h.begin("t1")
			first := h.decide("t1", order[0], "p1")
			second := h.decide("t1", order[1], "p2")
			if !second.AlreadyDecided || second.Err != nil || !proto.Equal(first.Tx, second.Tx) {
				t.Fatalf("second DECIDE: %+v, want the first %v", second, first.Tx)
			}
			h.finish("t1")
			third := h.decide("t1", order[1], "p3")
			if !third.AlreadyDecided || third.Tx.State != first.Tx.State || !third.Tx.Finished {
				t.Fatalf("DECIDE after finish: %+v", third)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	h := newTestFSM(t)
	h.begin("active")
	h.begin("done")
	h.decide("done", commit)
	if r := h.finish("active", "done", "unknown"); r != (Result{}) {
		t.Fatalf("finish result %+v", r)
	}
	if a, u := h.f.Counts(); a != 1 || u != 0 {
		t.Fatalf("counts %d %d", a, u)
	}
	rec, ok := h.f.Get("done")
	if !ok || !rec.Finished || rec.State != pb.TxState_TX_STATE_COMMITTED {
		t.Fatalf("finished record %v %v", rec, ok)
	}
	if rec, _ := h.f.Get("active"); rec.Finished {
		t.Fatal("undecided record finished")
	}
	if p := h.f.Pending(); len(p) != 1 || p[0].TxId != "active" {
		t.Fatalf("pending %v", p)
	}
	h.finish("done") // again: no-op
}

// Finished records are forgotten by the uniqueness window's cut that a
// FINISH carries (the leader's clock minus the window), never by count: a
// record stays until a cut passes its finish time, however many finish
// after it.
func TestFinishedStoreForgetsByTheWindowCut(t *testing.T) {
	h := newTestFSM(t)
	for i, id := range []string{"a", "b", "c", "d"} {
		h.begin(id)
		h.decide(id, abort)
		h.apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{TxIds: []string{id}, NowUnixNanos: int64(100 * (i + 1))})
	}
	if rec, ok := h.f.Get("a"); !ok || rec.FinishedUnixNanos != 100 {
		t.Fatalf("a: %v %v, want kept with its finish time", rec, ok)
	}
	h.apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{NowUnixNanos: 500, ForgetBeforeUnixNanos: 201})
	for id, kept := range map[string]bool{"a": false, "b": false, "c": true, "d": true} {
		if _, ok := h.f.Get(id); ok != kept {
			t.Fatalf("%s kept=%v, want %v (cut at 201)", id, ok, kept)
		}
	}
	mustErr(t, h.decide("a", commit), ErrUnknownTx)
	h.apply(pb.CommandType_COMMAND_TYPE_FINISH, &pb.FinishCommand{})
	if _, ok := h.f.Get("c"); !ok {
		t.Fatal("a FINISH without a cut forgot a record")
	}
}

func TestRegisterAndReads(t *testing.T) {
	h := newTestFSM(t)
	h.apply(pb.CommandType_COMMAND_TYPE_REGISTER, &pb.RegisterCommand{ParticipantId: "p", Address: "a:1"})
	h.apply(pb.CommandType_COMMAND_TYPE_REGISTER, &pb.RegisterCommand{ParticipantId: "p", Address: "a:2"})
	if a, ok := h.f.Participant("p"); !ok || a != "a:2" {
		t.Fatalf("participant %q %v", a, ok)
	}
	h.f.Participants()["p"] = "mutated"
	if a, _ := h.f.Participant("p"); a != "a:2" {
		t.Fatal("Participants leaked internal map")
	}
	h.begin("t2")
	h.begin("t1")
	h.decide("t2", commit)
	p := h.f.Pending()
	if len(p) != 2 || p[0].TxId != "t2" || p[1].TxId != "t1" {
		t.Fatalf("pending not sorted by begin index: %v", p)
	}
	p[0].State = pb.TxState_TX_STATE_ABORTED
	if rec, _ := h.f.Get("t2"); rec.State != pb.TxState_TX_STATE_COMMITTED {
		t.Fatal("Pending leaked an internal record")
	}
	if a, u := h.f.Counts(); a != 1 || u != 1 || h.f.AppliedIndex() != 5 {
		t.Fatalf("counts %d %d applied %d", a, u, h.f.AppliedIndex())
	}
}

func TestApplyPanicsOnBadEntry(t *testing.T) {
	for name, data := range map[string][]byte{"empty": nil, "unknown type": {42}, "bad proto": {1, 0x0a, 0x09}} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			NewFSM().Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
		})
	}
}

func TestApplyIgnoresNonCommands(t *testing.T) {
	f := NewFSM()
	if r := f.Apply(&raft.Log{Index: 7, Type: raft.LogNoop}); r != nil {
		t.Fatalf("got %v", r)
	}
	if f.AppliedIndex() != 7 {
		t.Fatal("applied index not advanced")
	}
}
