package mysql_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Concurrent transfers through a real coordinator between two MariaDB
// participants, half of them locking the accounts in the opposite order
// (x then y, y then x; at both participants): deadlocks and lock waits
// become no votes and are retried. Within the time bound every transfer
// commits, the total is conserved at each participant and nothing is left
// in XA RECOVER, and each account moved by exactly the committed amounts.
func TestConcurrentOppositeOrderTransfers(t *testing.T) {
	const workers, perWorker, bound = 6, 8, 90 * time.Second
	srv := sharedServer(t)
	coord := coordtest.Start(t, zaptest.NewLogger(t, zaptest.Level(zapcore.ErrorLevel)), nil)
	a, b := newEnv(t, srv), newEnv(t, srv)
	for _, e := range []*env{a, b} {
		_, err := e.db.Exec("INSERT INTO accounts VALUES ('x', 1000), ('y', 1000)")
		must(t, err)
		e.lockTimeout = 300 * time.Millisecond
		startNode(t, coord.Addr, e)
	}
	var committed, noVotes atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := int64(w*perWorker + i + 1)
				fwd, back := fmt.Sprintf("x=+-%d;y=+%d", k, k), fmt.Sprintf("y=+%d;x=+-%d", k, k)
				pa, pb := fwd, back
				if (w+i)%2 == 1 {
					pa, pb = back, fwd
				}
				txID := client.NewTxID()
				for time.Since(start) < bound {
					_, out, err := coord.Client.Run(bg, client.RunOptions{Timeout: 10 * time.Second, TxID: txID},
						&arbiterpb.Branch{ParticipantId: a.id, Payload: []byte(pa)},
						&arbiterpb.Branch{ParticipantId: b.id, Payload: []byte(pb)})
					if err != nil {
						continue // outcome unknown: ask again under the same ID
					}
					if out == arbiterpb.Outcome_OUTCOME_COMMIT {
						committed.Add(1)
						break
					}
					noVotes.Add(1)
					txID = client.NewTxID() // aborted: a new transaction
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d transfers committed in %v, %d attempts aborted (deadlocks, lock waits)", committed.Load(), elapsed, noVotes.Load())
	if committed.Load() != workers*perWorker || elapsed > bound {
		t.Fatalf("%d of %d transfers committed in %v (bound %v)", committed.Load(), workers*perWorker, elapsed, bound)
	}
	for _, e := range []*env{a, b} {
		eventually(t, "phase 2 at "+e.id, func() bool { return len(e.branches(t)) == 0 })
		// Every transfer k = 1..48 moved k from x to y exactly once.
		moved := int64(workers * perWorker * (workers*perWorker + 1) / 2)
		if x, y := e.value(t, "x"), e.value(t, "y"); x+y != 2000 || x != 1000-moved {
			t.Fatalf("%s: x, y = %d, %d; want %d, %d (total conserved, each transfer applied once)", e.id, x, y, 1000-moved, 1000+moved)
		}
	}
}
