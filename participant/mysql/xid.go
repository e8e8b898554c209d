package mysql

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// XID limits. An XA XID is a format ID and two byte strings, gtrid and
// bqual, each at most 64 bytes (MySQL and MariaDB alike). The gtrid is
// the transaction ID and the bqual the participant ID, byte for byte, so
// an XID maps back to both with nothing to parse; the format ID marks
// Arbiter's XIDs apart from foreign ones.
const (
	xidFormat         = 0x41524231 // "ARB1"
	maxParticipantLen = 64
	maxTxIDLen        = 64  // gtrid; the coordinator allows 128, see validTxID
	maxRecordIDLen    = 128 // arbiter_outcomes.tx_id: a tombstone for any ID the agent accepts
)

// xid is one XA transaction identifier.
type xid struct {
	format       int64
	gtrid, bqual string
}

// xidOf is txID's XID at this participant.
func (s *Store) xidOf(txID string) xid { return xid{format: xidFormat, gtrid: txID, bqual: s.id} }

// sql is the XID as XA statements take it: hex literals, so any byte is
// safe, and the format ID.
func (x xid) sql() string {
	return fmt.Sprintf("X'%s',X'%s',%d", hex.EncodeToString([]byte(x.gtrid)), hex.EncodeToString([]byte(x.bqual)), x.format)
}

// String is the XID for logs.
func (x xid) String() string { return fmt.Sprintf("%d:%q:%q", x.format, x.gtrid, x.bqual) }

// parseRecovered rebuilds an XID from an XA RECOVER row: data holds gtrid
// then bqual.
func parseRecovered(format int64, gtridLen, bqualLen int, data []byte) (xid, bool) {
	if gtridLen < 0 || bqualLen < 0 || gtridLen+bqualLen != len(data) {
		return xid{}, false
	}
	return xid{format: format, gtrid: string(data[:gtridLen]), bqual: string(data[gtridLen:])}, true
}

// ours reports whether x is one of this participant's branches, and its
// transaction ID.
func (s *Store) ours(x xid) (string, bool) {
	if x.format != xidFormat || x.bqual != s.id || validTxID(x.gtrid) != nil {
		return "", false
	}
	return x.gtrid, true
}

// validParticipantID checks an ID that becomes every XID's bqual.
func validParticipantID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: participant ID is empty", ErrInvalidID)
	case len(id) > maxParticipantLen:
		return fmt.Errorf("%w: participant ID %q is longer than %d bytes (an XA bqual holds at most 64)", ErrInvalidID, id, maxParticipantLen)
	}
	return validText("participant ID", id)
}

// validTxID checks an ID that becomes an XID's gtrid. The coordinator
// allows 128 bytes; an XA gtrid holds 64, so a longer ID cannot have work
// here (Begin refuses it: a no vote). Transaction IDs from client.NewTxID
// and Begin are 32 hex digits.
func validTxID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: transaction ID is empty", ErrInvalidID)
	case len(id) > maxTxIDLen:
		return fmt.Errorf("%w: transaction ID %q is longer than %d bytes, which MySQL's XA gtrid cannot hold: use shorter IDs (client.NewTxID makes 32-character UUIDs)", ErrInvalidID, id, maxTxIDLen)
	}
	return validText("transaction ID", id)
}

// validRecordID checks an ID that only gets an outcome record (Abort of an
// ID too long for an XID writes its tombstone all the same).
func validRecordID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: transaction ID is empty", ErrInvalidID)
	case len(id) > maxRecordIDLen:
		return fmt.Errorf("%w: transaction ID is longer than %d bytes", ErrInvalidID, maxRecordIDLen)
	}
	return validText("transaction ID", id)
}

func validText(kind, id string) error {
	if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return fmt.Errorf("%w: %s %q must be valid UTF-8 without NUL", ErrInvalidID, kind, id)
	}
	return nil
}
