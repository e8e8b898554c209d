package coordinator

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Page sizes of ListTransactions.
const (
	// DefaultListLimit is the page size of a request whose limit is 0.
	DefaultListLimit = 1000
	// MaxListLimit caps a request's limit: a larger one gets this many.
	MaxListLimit = 10000
)

// listLimit is the page size a request asks for.
func listLimit(limit int32) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: limit %d is negative: pass 0 for the default page size (%d) or up to %d", ErrInvalid, limit, DefaultListLimit, MaxListLimit)
	case limit == 0:
		return DefaultListLimit, nil
	}
	return min(int(limit), MaxListLimit), nil
}

// pageTokenVersion starts every page token, so a later format can tell
// its tokens from these.
const pageTokenVersion = "1"

// A page token names the last transaction of a page by its place in the
// listing order, (begin index, tx ID): base64url of "1:<index>:<id>". The
// place is the same on every replica and does not move while the
// transaction is live, so a token is valid on any node, and a listing that
// resumes after it skips nothing that stayed in the table.
func encodePageToken(last *arbiterpb.TxRecord) string {
	s := pageTokenVersion + ":" + strconv.FormatUint(last.GetBeginIndex(), 10) + ":" + last.GetTxId()
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodePageToken returns the place a token names; "" is the start.
func decodePageToken(tok string) (beginIndex uint64, txID string, err error) {
	if tok == "" {
		return 0, "", nil
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: page_token is not one ListTransactions returned (%s); restart the listing without a page_token", ErrInvalid, why)
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", bad("not base64url")
	}
	version, rest, ok1 := strings.Cut(string(b), ":")
	index, id, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || version != pageTokenVersion {
		return 0, "", bad("unknown format")
	}
	beginIndex, err = strconv.ParseUint(index, 10, 64)
	if err != nil || beginIndex == 0 || validID("tx_id", id) != nil {
		return 0, "", bad("no transaction position")
	}
	return beginIndex, id, nil
}
