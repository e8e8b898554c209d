package bank_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Concurrent two-row transfers in both directions through a real
// coordinator and the agent (coordinator-driven, bank.PGHandler): half the
// workers move money x -> y (locking x then y), half y -> x (y then x), on
// the same two rows, so prepared transactions hold the locks others wait
// on and opposite lock orders deadlock (PostgreSQL's detector or
// lock_timeout turns that into a no vote; the worker retries under a new
// transaction). At the end the total is conserved, each row equals its
// opening balance plus the deltas of the committed transfers, nothing is
// left in pg_prepared_xacts, and it all finished within the bound.
func TestPGConcurrentTransfersBothDirections(t *testing.T) {
	const (
		workers   = 8
		perWorker = 5
		opening   = 100
		bound     = 60 * time.Second
		maxTries  = 200
	)
	srv := pgtest.Start(t, "deadlock_timeout=100ms") // detect opposite-order deadlocks quickly
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	coord := coordtest.Start(t, zaptest.NewLogger(t, zaptest.Level(zapcore.ErrorLevel)), nil)
	b := startPGBank(t, ctx, srv.DSN, coord.Addr, "bank1", "x", "y")

	var deltaX, deltaY, commits, aborts atomic.Int64
	transfer := func(from, to string, amount int64) (arbiterpb.Outcome, error) {
		txID, err := coord.Client.Begin(ctx, 20*time.Second)
		if err != nil {
			return 0, err
		}
		payload := bank.EncodePayload([]*bankpb.Op{{Account: from, Delta: -amount}, {Account: to, Delta: amount}}, nil)
		return coord.Client.Commit(ctx, txID, &arbiterpb.Branch{ParticipantId: b.id, Payload: payload})
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		from, to := "x", "y"
		if w%2 == 1 {
			from, to = "y", "x"
		}
		wg.Go(func() {
			for done, tries := 0, 0; done < perWorker; tries++ {
				if tries == maxTries || ctx.Err() != nil {
					t.Errorf("worker %d (%s->%s): %d transfers after %d tries", w, from, to, done, tries)
					return
				}
				amount := rand.Int64N(5) + 1
				out, err := transfer(from, to, amount)
				switch {
				case err != nil:
					t.Errorf("worker %d: transfer: %v", w, err)
					return
				case out == arbiterpb.Outcome_OUTCOME_COMMIT:
					sign := int64(1)
					if from == "x" {
						sign = -1
					}
					deltaX.Add(sign * amount)
					deltaY.Add(-sign * amount)
					commits.Add(1)
					done++
				default:
					aborts.Add(1)
					time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d commits, %d aborts (lock conflicts, deadlocks) in %v", commits.Load(), aborts.Load(), elapsed)
	if elapsed > bound {
		t.Errorf("took %v, bound %v", elapsed, bound)
	}
	if commits.Load() != workers*perWorker {
		t.Fatalf("%d commits, want %d", commits.Load(), workers*perWorker)
	}
	pollUntil(t, 10*time.Second, "phase 2 to finish (nothing prepared)", func() bool {
		var n int
		err := b.pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_xacts`).Scan(&n)
		return err == nil && n == 0
	})
	bal := b.balances(t, ctx)
	if bal["x"]+bal["y"] != 2*opening {
		t.Fatalf("total %d, want %d (x=%d y=%d)", bal["x"]+bal["y"], 2*opening, bal["x"], bal["y"])
	}
	if bal["x"] != opening+deltaX.Load() || bal["y"] != opening+deltaY.Load() {
		t.Fatalf("x=%d y=%d, want %d and %d (opening + committed deltas)", bal["x"], bal["y"],
			opening+deltaX.Load(), opening+deltaY.Load())
	}
}
