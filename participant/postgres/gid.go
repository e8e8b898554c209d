package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ID limits. PostgreSQL truncates nothing: a gid longer than 199 bytes is
// refused, so the parts are bounded such that the longest gid fits:
// len("arbiter:") + 40 + 1 + 128 + 1 + 19 digits = 197.
const (
	gidPrefix         = "arbiter:"
	maxParticipantLen = 40
	maxTxIDLen        = 128 // the coordinator's limit (coordinator/validate.go)
)

// validParticipantID checks an ID that becomes part of every gid.
func validParticipantID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: participant ID is empty", ErrInvalidID)
	case len(id) > maxParticipantLen:
		return fmt.Errorf("%w: participant ID %q is longer than %d bytes", ErrInvalidID, id, maxParticipantLen)
	case strings.Contains(id, ":"):
		return fmt.Errorf("%w: participant ID %q contains ':' (the gid separator)", ErrInvalidID, id)
	}
	return validText("participant ID", id)
}

func validTxID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: transaction ID is empty", ErrInvalidID)
	case len(id) > maxTxIDLen:
		return fmt.Errorf("%w: transaction ID is longer than %d bytes", ErrInvalidID, maxTxIDLen)
	}
	return validText("transaction ID", id)
}

func validText(kind, id string) error {
	if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return fmt.Errorf("%w: %s %q must be valid UTF-8 without NUL", ErrInvalidID, kind, id)
	}
	return nil
}

// gidOf returns the PREPARE TRANSACTION identifier of txID:
// "arbiter:<participant>:<txID>:<deadline unix ms>". The deadline rides in
// the gid because the marker row is invisible while the transaction is
// prepared; the gid is the one thing pg_prepared_xacts shows.
func (s *Store) gidOf(txID string, deadline time.Time) string {
	return s.txPrefix(txID) + strconv.FormatInt(max(deadline.UnixMilli(), 0), 10)
}

// participantPrefix starts every gid of this participant.
func (s *Store) participantPrefix() string { return gidPrefix + s.id + ":" }

// txPrefix starts txID's gid; the rest is the deadline, all digits.
func (s *Store) txPrefix(txID string) string { return s.participantPrefix() + txID + ":" }

// parseGID splits a gid of this participant into its transaction ID and
// deadline. The transaction ID may contain ':'; the deadline never does.
func (s *Store) parseGID(gid string) (string, time.Time, bool) {
	rest, ok := strings.CutPrefix(gid, s.participantPrefix())
	i := strings.LastIndexByte(rest, ':')
	if !ok || i <= 0 {
		return "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || ms < 0 {
		return "", time.Time{}, false
	}
	return rest[:i], time.UnixMilli(ms), true
}

// quoteLiteral quotes s as an escape-string literal, correct whatever
// standard_conforming_strings says. PREPARE TRANSACTION, COMMIT PREPARED
// and ROLLBACK PREPARED take a literal, not a parameter.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", "''") + "'"
}
