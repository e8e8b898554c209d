package raftlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// readSnapshot parses and validates a whole snapshot into fresh state.
func readSnapshot(r io.Reader) (*state, error) {
	br := bufio.NewReader(r)
	hdr, applied, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	s := newState()
	s.applied = applied
	if err := readLive(br, s, hdr.GetTxCount()); err != nil {
		return nil, err
	}
	s.order = orderOf(s.live)
	if err := readParticipants(br, s, hdr.GetParticipantCount()); err != nil {
		return nil, err
	}
	if err := readFinished(br, s, hdr.GetFinishedCount()); err != nil {
		return nil, err
	}
	if err := readDecisions(br, s, hdr); err != nil {
		return nil, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after %d decisions", errCorrupt, hdr.GetDecisionCount())
	}
	return s, nil
}

// readDecisions reads the retained decisions, which must be in strictly
// increasing (index, position) order after the evicted cursor, with seqs
// ending at decisions_seq. An older snapshot without them restores with
// none retained and its applied index as the eviction point.
func readDecisions(br *bufio.Reader, s *state, hdr *arbiterpb.SnapshotHeader) error {
	d := s.decisions
	d.seq = hdr.GetDecisionsSeq()
	d.evicted = Cursor{Index: hdr.GetEvictedIndex(), Position: hdr.GetEvictedPosition()}
	n := hdr.GetDecisionCount()
	if n == 0 && d.seq == 0 && s.applied > 0 {
		d.evicted = Cursor{Index: s.applied, Position: math.MaxUint32}
	}
	prev, seq := d.evicted, d.seq-min(d.seq, n)
	for i := uint64(0); i < n; i++ {
		e := &arbiterpb.DecisionEvent{}
		if err := readMsg(br, e); err != nil {
			return fmt.Errorf("%w: decision %d of %d: %w", errCorrupt, i+1, n, err)
		}
		seq++
		if e.GetTxId() == "" || e.GetSeq() != seq || (prev != Cursor{} && CursorOf(e).Compare(prev) <= 0) {
			return fmt.Errorf("%w: decision %d of %d (tx %q, seq %d) out of order", errCorrupt, i+1, n, e.GetTxId(), e.GetSeq())
		}
		prev = CursorOf(e)
		d.buf = append(d.buf, e)
	}
	return nil
}

func readHeader(br *bufio.Reader) (*arbiterpb.SnapshotHeader, uint64, error) {
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return nil, 0, fmt.Errorf("%w: bad magic (not an Arbiter snapshot)", errCorrupt)
	}
	hdr := &arbiterpb.SnapshotHeader{}
	if err := readMsg(br, hdr); err != nil {
		return nil, 0, fmt.Errorf("%w: header: %w", errCorrupt, err)
	}
	if hdr.GetVersion() != snapshotVersion {
		return nil, 0, fmt.Errorf("%w: version %d, this build reads %d", errCorrupt, hdr.GetVersion(), snapshotVersion)
	}
	applied, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: applied index: %w", errCorrupt, noEOF(err))
	}
	return hdr, applied, nil
}

func readLive(br *bufio.Reader, s *state, n uint64) error {
	for i := uint64(0); i < n; i++ {
		rec, err := readTx(br, "live", i, n)
		if err != nil {
			return err
		}
		if _, dup := s.live[rec.TxId]; dup || rec.Finished {
			return fmt.Errorf("%w: live record %q duplicated or finished", errCorrupt, rec.TxId)
		}
		s.live[rec.TxId] = rec
		if decided(rec) {
			s.decidedLive++
		}
	}
	return nil
}

func readParticipants(br *bufio.Reader, s *state, n uint64) error {
	for i := uint64(0); i < n; i++ {
		p := &arbiterpb.ParticipantRecord{}
		if err := readMsg(br, p); err != nil {
			return fmt.Errorf("%w: participant %d of %d: %w", errCorrupt, i+1, n, err)
		}
		if _, dup := s.participants[p.ParticipantId]; dup {
			return fmt.Errorf("%w: participant %q duplicated", errCorrupt, p.ParticipantId)
		}
		s.participants[p.ParticipantId] = p.Address
	}
	return nil
}

func readFinished(br *bufio.Reader, s *state, n uint64) error {
	for i := uint64(0); i < n; i++ {
		rec, err := readTx(br, "finished", i, n)
		if err != nil {
			return err
		}
		_, inLive := s.live[rec.TxId]
		_, dup := s.finished.get(rec.TxId)
		if inLive || dup || !rec.Finished || !decided(rec) {
			return fmt.Errorf("%w: finished record %q duplicated or not finished", errCorrupt, rec.TxId)
		}
		s.finished.push(rec)
	}
	return nil
}

func readTx(br *bufio.Reader, kind string, i, n uint64) (*arbiterpb.TxRecord, error) {
	rec := &arbiterpb.TxRecord{}
	if err := readMsg(br, rec); err != nil {
		return nil, fmt.Errorf("%w: %s record %d of %d: %w", errCorrupt, kind, i+1, n, err)
	}
	if rec.TxId == "" || rec.State == arbiterpb.TxState_TX_STATE_UNKNOWN {
		return nil, fmt.Errorf("%w: %s record %d of %d: missing ID or state", errCorrupt, kind, i+1, n)
	}
	return rec, nil
}

func readMsg(br *bufio.Reader, m proto.Message) error {
	size, err := binary.ReadUvarint(br)
	if err != nil {
		return noEOF(err)
	}
	if size > maxRecordSize {
		return fmt.Errorf("record of %d bytes exceeds %d", size, maxRecordSize)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(br, b); err != nil {
		return noEOF(err)
	}
	return proto.Unmarshal(b, m)
}

// noEOF reports a clean EOF in the middle of a snapshot as truncation.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
