package raftlog

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// newCommand returns an empty message for a command type, or nil when the
// type is unknown. It is the one table of command types.
func newCommand(t arbiterpb.CommandType) proto.Message {
	switch t {
	case arbiterpb.CommandType_COMMAND_TYPE_BEGIN:
		return &arbiterpb.BeginCommand{}
	case arbiterpb.CommandType_COMMAND_TYPE_ENLIST:
		return &arbiterpb.EnlistCommand{}
	case arbiterpb.CommandType_COMMAND_TYPE_DECIDE:
		return &arbiterpb.DecideCommand{}
	case arbiterpb.CommandType_COMMAND_TYPE_FINISH:
		return &arbiterpb.FinishCommand{}
	case arbiterpb.CommandType_COMMAND_TYPE_REGISTER:
		return &arbiterpb.RegisterCommand{}
	case arbiterpb.CommandType_COMMAND_TYPE_STAGE:
		return &arbiterpb.StageCommand{}
	default:
		return nil
	}
}

// Encode returns the log entry for a command: one type byte followed by the
// protobuf encoding of m. m's type must match t.
func Encode(t arbiterpb.CommandType, m proto.Message) ([]byte, error) {
	want := newCommand(t)
	if want == nil {
		return nil, fmt.Errorf("raftlog: encode: unknown command type %v", t)
	}
	if m == nil || m.ProtoReflect().Descriptor() != want.ProtoReflect().Descriptor() {
		return nil, fmt.Errorf("raftlog: encode: %v needs %T, got %T", t, want, m)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend([]byte{byte(t)}, m)
	if err != nil {
		return nil, fmt.Errorf("raftlog: encode %v: %w", t, err)
	}
	return b, nil
}

// Decode parses a log entry written by Encode. It fails on empty input, an
// unknown type byte and a payload that is not valid protobuf.
func Decode(b []byte) (arbiterpb.CommandType, proto.Message, error) {
	if len(b) == 0 {
		return 0, nil, errors.New("raftlog: decode: empty entry")
	}
	t := arbiterpb.CommandType(b[0])
	m := newCommand(t)
	if m == nil {
		return 0, nil, fmt.Errorf("raftlog: decode: unknown command type %d", b[0])
	}
	if err := proto.Unmarshal(b[1:], m); err != nil {
		return 0, nil, fmt.Errorf("raftlog: decode %v: %w", t, err)
	}
	return t, m, nil
}
