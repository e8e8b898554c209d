package raftlog

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cases := []struct {
		t arbiterpb.CommandType
		m proto.Message
	}{
		{arbiterpb.CommandType_COMMAND_TYPE_BEGIN, &arbiterpb.BeginCommand{TxId: "t1", DeadlineUnixNanos: 42, ClientId: "c"}},
		{arbiterpb.CommandType_COMMAND_TYPE_ENLIST, &arbiterpb.EnlistCommand{TxId: "t1", ParticipantId: "p"}},
		{arbiterpb.CommandType_COMMAND_TYPE_DECIDE, &arbiterpb.DecideCommand{TxId: "t1", Outcome: arbiterpb.Outcome_OUTCOME_ABORT, Participants: []string{"a"}}},
		{arbiterpb.CommandType_COMMAND_TYPE_FINISH, &arbiterpb.FinishCommand{TxIds: []string{"t1", "t2"}}},
		{arbiterpb.CommandType_COMMAND_TYPE_REGISTER, &arbiterpb.RegisterCommand{ParticipantId: "p", Address: "h:1"}},
		{arbiterpb.CommandType_COMMAND_TYPE_STAGE, &arbiterpb.StageCommand{TxId: "t3", Participants: []string{"a", "b"}, DeadlineUnixNanos: 9, ClientId: "c"}},
		{arbiterpb.CommandType_COMMAND_TYPE_FINISH, &arbiterpb.FinishCommand{}},
	}
	for _, c := range cases {
		t.Run(c.t.String(), func(t *testing.T) {
			b, err := Encode(c.t, c.m)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != byte(c.t) {
				t.Fatalf("type byte %d, want %d", b[0], c.t)
			}
			gt, gm, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if gt != c.t || !proto.Equal(gm, c.m) {
				t.Fatalf("got %v %v, want %v %v", gt, gm, c.t, c.m)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := map[string]struct {
		t arbiterpb.CommandType
		m proto.Message
	}{
		"unknown type":  {arbiterpb.CommandType_COMMAND_TYPE_UNKNOWN, &arbiterpb.BeginCommand{}},
		"out of range":  {arbiterpb.CommandType(99), &arbiterpb.BeginCommand{}},
		"wrong message": {arbiterpb.CommandType_COMMAND_TYPE_BEGIN, &arbiterpb.EnlistCommand{}},
		"nil message":   {arbiterpb.CommandType_COMMAND_TYPE_BEGIN, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Encode(c.t, c.m); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string][]byte{
		"empty":        nil,
		"unknown zero": {0},
		"unknown high": {200, 0x0a, 0x01, 'x'},
		"bad proto":    {byte(arbiterpb.CommandType_COMMAND_TYPE_BEGIN), 0x0a, 0x05, 'x'},
		"bad wiretype": {byte(arbiterpb.CommandType_COMMAND_TYPE_DECIDE), 0x0f},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Decode(b); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{
		nil, {0}, {1}, {3, 0x0a, 0x02, 't', '1', 0x10, 0x01},
		{4, 0x0a, 0x01, 'a', 0x0a, 0x01, 'b'}, {5, 0xff},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, m, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(ct, m)
		if err != nil {
			t.Fatalf("re-encode %v: %v", ct, err)
		}
		ct2, m2, err := Decode(again)
		if err != nil || ct2 != ct || !proto.Equal(m, m2) {
			t.Fatalf("round trip changed %v %v -> %v %v (%v)", ct, m, ct2, m2, err)
		}
	})
}
