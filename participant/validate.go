package participant

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTxIDLen is the longest transaction ID, the coordinator's limit.
const maxTxIDLen = 128

// validTxID checks a transaction ID where it enters the agent (Prepare,
// Commit, Abort, Refuse, the batches' items, Do): 1 to 128 bytes of valid
// UTF-8 without control characters, the coordinator's rule. Anything else
// is ErrInvalidTxID (INVALID_ARGUMENT) before any state is read: a store
// may refuse it (PostgreSQL refuses NUL) with an error that would look
// transient and be retried forever.
func validTxID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: tx_id is required", ErrInvalidTxID)
	case len(id) > maxTxIDLen:
		return fmt.Errorf("%w: tx_id is %d bytes, more than %d", ErrInvalidTxID, len(id), maxTxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: tx_id %q is not valid UTF-8", ErrInvalidTxID, id)
	}
	if i := strings.IndexFunc(id, unicode.IsControl); i >= 0 {
		return fmt.Errorf("%w: tx_id %q has a control character (%U) at byte %d: use printable characters",
			ErrInvalidTxID, id, []rune(id[i:])[0], i)
	}
	return nil
}
