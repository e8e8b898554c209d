package coordinator

import (
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// FuzzValidateBegin: validation never panics, and an accepted timeout is
// within (0, MaxTimeout].
func FuzzValidateBegin(f *testing.F) {
	for _, ms := range []int64{0, 1, -1, 5000, 600000, 600001, -1 << 63, 1<<63 - 1} {
		f.Add(ms)
	}
	c := &Coordinator{cfg: DefaultConfig()}
	f.Fuzz(func(t *testing.T, ms int64) {
		d, err := c.validateBegin(&arbiterpb.BeginRequest{TimeoutMillis: ms})
		if err != nil {
			return
		}
		if d <= 0 || d > c.cfg.MaxTimeout || (ms != 0 && d != time.Duration(ms)*time.Millisecond) {
			t.Fatalf("timeout_millis %d accepted as %v", ms, d)
		}
	})
}

// FuzzValidateCommit decodes arbitrary bytes as a CommitRequest; whatever
// validation accepts respects every limit.
func FuzzValidateCommit(f *testing.F) {
	for _, req := range []*arbiterpb.CommitRequest{
		{},
		{TxId: "t1"},
		{TxId: "t1", Branches: []*arbiterpb.Branch{{ParticipantId: "a", Payload: []byte("x")}}},
		{TxId: "t1", Branches: []*arbiterpb.Branch{{ParticipantId: "a"}, {ParticipantId: "a"}}},
		{TxId: "t1", Branches: []*arbiterpb.Branch{{ParticipantId: ""}}},
	} {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0x02, 0xff, 0xfe}) // tx_id that is not UTF-8
	cfg := DefaultConfig()
	cfg.MaxBranches, cfg.MaxPayloadBytes = 4, 16
	c := &Coordinator{cfg: cfg}
	f.Fuzz(func(t *testing.T, b []byte) {
		req := &arbiterpb.CommitRequest{}
		if proto.Unmarshal(b, req) != nil {
			return
		}
		timeout, err := c.validateCommit(req)
		if err != nil {
			return
		}
		checkAccepted(t, cfg, req)
		if oneShot := req.GetTxId() == "" || req.GetOneShot(); oneShot != (timeout > 0) {
			t.Fatalf("one-shot %v accepted with a lifetime of %v", oneShot, timeout)
		}
	})
}

func checkAccepted(t *testing.T, cfg Config, req *arbiterpb.CommitRequest) {
	okID := func(id string) bool { return id != "" && len(id) <= maxIDLen && utf8.ValidString(id) }
	oneShot := req.GetTxId() == "" || req.GetOneShot()
	switch {
	case oneShot && len(req.GetBranches()) == 0, req.GetTxId() != "" && !okID(req.GetTxId()), len(req.GetBranches()) > cfg.MaxBranches:
		t.Fatalf("accepted tx %q with %d branches", req.GetTxId(), len(req.GetBranches()))
	case arbiterpb.CommitMode_name[int32(req.GetMode())] == "":
		t.Fatalf("accepted mode %d", req.GetMode())
	case oneShot && (req.GetTimeoutMillis() < 0 || req.GetTimeoutMillis() > cfg.MaxTimeout.Milliseconds()):
		t.Fatalf("accepted a one-shot timeout of %d ms", req.GetTimeoutMillis())
	}
	seen := map[string]bool{}
	for _, br := range req.GetBranches() {
		if !okID(br.GetParticipantId()) || seen[br.GetParticipantId()] || len(br.GetPayload()) > cfg.MaxPayloadBytes {
			t.Fatalf("accepted bad branch %q (%d bytes)", br.GetParticipantId(), len(br.GetPayload()))
		}
		seen[br.GetParticipantId()] = true
	}
}
