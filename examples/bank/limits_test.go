package bank_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/participant/embedded"
)

// An op on a 40,000-byte account name is refused by the handler (a no
// vote naming the limit): bbolt stores keys of at most 32768 bytes, so a
// yes vote could never commit.
func TestHugeAccountNameIsRefused(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "bank.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tx, err := st.Begin(ctx, "huge")
	if err != nil {
		t.Fatal(err)
	}
	payload := bank.EncodePayload([]*bankpb.Op{{Account: strings.Repeat("a", 40000), Delta: 5}}, nil)
	if err := bank.Handler(ctx, tx, payload); err == nil || !strings.Contains(err.Error(), "32768") {
		perr := st.Prepare(ctx, "huge", tx, time.Now().Add(time.Minute))
		t.Fatalf("Handler = %v, want a refusal naming the 32768-byte limit; Prepare = %v (a yes vote), Commit = %v",
			err, perr, st.Commit(ctx, "huge"))
	}
	if err := st.Rollback(ctx, "huge", tx); err != nil {
		t.Fatal(err)
	}
}
