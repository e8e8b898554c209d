package raftlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Snapshot format, version 1:
//
//	magic "ARBSNAP\n"
//	uvarint length + SnapshotHeader
//	uvarint applied index
//	header.tx_count         × (uvarint length + TxRecord), live table sorted by tx_id
//	header.participant_count × (uvarint length + ParticipantRecord), sorted by id
//	header.finished_count   × (uvarint length + TxRecord), finished ring oldest first
//	header.decision_count   × (uvarint length + DecisionEvent), retained decisions oldest first
//	end of stream
//
// decision_count, decisions_seq and evicted_* were added to version 1 as
// fields a reader of an older snapshot sees as 0: such a snapshot restores
// with no retained decisions and its applied index as the oldest a Watch
// may start from.
const (
	snapshotMagic   = "ARBSNAP\n"
	snapshotVersion = 1
	maxRecordSize   = 16 << 20
)

var errCorrupt = errors.New("raftlog: corrupt snapshot")

// fsmSnapshot is an immutable view of the state taken by FSM.Snapshot.
type fsmSnapshot struct{ s *state }

// Persist writes the snapshot to sink and closes it, or cancels it on error.
func (p *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriter(sink)
	err := writeSnapshot(w, p.s)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftlog: persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release is a no-op: the view holds no resources.
func (p *fsmSnapshot) Release() {}

func writeSnapshot(w io.Writer, s *state) error {
	hdr := &arbiterpb.SnapshotHeader{
		Version:          snapshotVersion,
		TxCount:          uint64(len(s.live)),
		ParticipantCount: uint64(len(s.participants)),
		FinishedCount:    uint64(s.finished.len()),
		DecisionCount:    uint64(s.decisions.len()),
		DecisionsSeq:     s.decisions.seq,
		EvictedIndex:     s.decisions.evicted.Index,
		EvictedPosition:  s.decisions.evicted.Position,
	}
	if _, err := io.WriteString(w, snapshotMagic); err != nil {
		return err
	}
	var msgs []proto.Message
	msgs = append(msgs, hdr)
	for _, id := range sortedKeys(s.live) {
		msgs = append(msgs, s.live[id])
	}
	for _, id := range sortedKeys(s.participants) {
		msgs = append(msgs, &arbiterpb.ParticipantRecord{ParticipantId: id, Address: s.participants[id]})
	}
	s.finished.each(func(r *arbiterpb.TxRecord) { msgs = append(msgs, r) })
	s.decisions.each(func(e *arbiterpb.DecisionEvent) { msgs = append(msgs, e) })
	for i, m := range msgs {
		if err := writeMsg(w, m); err != nil {
			return err
		}
		if i == 0 {
			if _, err := w.Write(binary.AppendUvarint(nil, s.applied)); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeMsg(w io.Writer, m proto.Message) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := w.Write(binary.AppendUvarint(nil, uint64(len(b)))); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
