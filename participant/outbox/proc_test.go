package outbox_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/broker"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Transfers with a third branch publishing transfer.completed run against
// three coordinators, two banks and the outbox as real processes while the
// outbox process is killed (SIGKILL) and restarted, twice, and the broker
// is really stopped and restarted in between. Afterwards the stream holds
// exactly one event per committed transfer naming the outbox (from the
// coordinators' Watch), none of an aborted one, and no message ID twice.
func TestOutboxProcessKilledAndBrokerRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := localcluster.Build(ctx, filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(filepath.Join(dir, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	c, err := localcluster.New(localcluster.Options{Dir: dir, BinDir: filepath.Join(dir, "bin"), Banks: 2, Accounts: 4,
		Opening: 1000, LogLevel: "warn", OutboxNATS: b.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	cli := newSDK(t, c, security.RoleClient, "loader")
	var commits, aborts atomic.Int64
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; lctx.Err() == nil; i++ {
				out := transfer(ctx, cli, c, g, i)
				switch out {
				case arbiterpb.Outcome_OUTCOME_COMMIT:
					commits.Add(1)
				case arbiterpb.Outcome_OUTCOME_ABORT:
					aborts.Add(1)
				}
			}
		}()
	}
	pause := func(d time.Duration) { time.Sleep(d) }
	pause(2 * time.Second)
	t.Logf("killing the outbox process (SIGKILL) after %d commits", commits.Load())
	must(t, c.Outbox.Kill())
	pause(time.Second)
	must(t, c.Outbox.Restart())
	pause(2 * time.Second)
	t.Logf("stopping the broker after %d commits", commits.Load())
	b.Stop()
	pause(2 * time.Second)
	t.Logf("killing the outbox process while the broker is down, after %d commits", commits.Load())
	must(t, c.Outbox.Kill())
	pause(500 * time.Millisecond)
	must(t, c.Outbox.Restart())
	pause(time.Second)
	must(t, b.Restart())
	t.Logf("broker restarted after %d commits", commits.Load())
	pause(2 * time.Second)
	stopLoad()
	wg.Wait()

	committed, aborted := decisionsNaming(t, ctx, c, localcluster.OutboxID)
	var msgs []broker.Message
	deadline := time.Now().Add(60 * time.Second)
	for {
		msgs, err = broker.ReadStream(ctx, b.URL(), "EVENTS")
		if err == nil && len(msgs) >= len(committed) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late duplicate would show now
	if msgs, err = broker.ReadStream(ctx, b.URL(), "EVENTS"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.MsgID]++
		var e bank.TransferCompleted
		if err := json.Unmarshal(m.Data, &e); err != nil || bank.EventMsgID(e.TxID, localcluster.OutboxID) != m.MsgID {
			t.Fatalf("message %d (%s): data %q does not name its transaction", m.Seq, m.MsgID, m.Data)
		}
	}
	var missing, dups, fromAborted int
	for id := range committed {
		if seen[bank.EventMsgID(id, localcluster.OutboxID)] == 0 {
			missing++
		}
	}
	for id, n := range seen {
		if n > 1 {
			dups++
		}
		if _, ok := committed[txOf(id)]; !ok {
			fromAborted++
		}
	}
	t.Logf("events: %d committed transfers, %d aborted naming the outbox, %d messages in the stream, %d missing, %d duplicated, %d not from a commit",
		len(committed), len(aborted), len(msgs), missing, dups, fromAborted)
	if missing > 0 || dups > 0 || fromAborted > 0 || len(msgs) != len(committed) {
		t.Fatal("the stream does not hold exactly one event per committed transfer")
	}
	if len(committed) < 10 || len(aborted) == 0 {
		t.Fatalf("too little happened to check: %d committed, %d aborted", len(committed), len(aborted))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func txOf(msgID string) string {
	for i := len(msgID) - 1; i >= 0; i-- {
		if msgID[i] == '/' {
			msgID = msgID[:i]
			break
		}
	}
	for i := len(msgID) - 1; i >= 0; i-- {
		if msgID[i] == '/' {
			return msgID[:i]
		}
	}
	return msgID
}

func newSDK(t *testing.T, c *localcluster.Cluster, role security.Role, id string) *client.Client {
	t.Helper()
	src, err := c.Source(role, id)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := client.New(client.Config{Addresses: c.DialCoordAddrs(), ClientID: id, DialOptions: client.TLSDialOptions(src)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cli.Close)
	return cli
}

// transfer moves money between the two banks with the event as a third
// branch; every fifth overdraws, so its bank votes no and it aborts with
// the event prepared at the outbox.
func transfer(ctx context.Context, cli *client.Client, c *localcluster.Cluster, g, i int) arbiterpb.Outcome {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	from, to := c.Banks[g%2].Name, c.Banks[(g+1)%2].Name
	amt := int64(1 + i%3)
	if i%5 == 4 {
		amt = 1 << 40
	}
	id, err := cli.Begin(ctx, 5*time.Second)
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN
	}
	out, err := cli.Commit(ctx, id,
		&arbiterpb.Branch{ParticipantId: from, Payload: bank.EncodePayload([]*bankpb.Op{{Account: from + "-0", Delta: -amt}}, nil)},
		&arbiterpb.Branch{ParticipantId: to, Payload: bank.EncodePayload([]*bankpb.Op{{Account: to + "-1", Delta: amt}}, nil)},
		bank.EventBranch(localcluster.OutboxID, bank.TransferCompleted{TxID: id, From: from, To: to, Amount: amt}))
	if err != nil {
		return arbiterpb.Outcome_OUTCOME_UNKNOWN
	}
	return out
}

// decisionsNaming waits until nothing is in doubt, then reads every
// decision naming participant from the coordinators' Watch.
func decisionsNaming(t *testing.T, ctx context.Context, c *localcluster.Cluster, participant string) (committed, aborted map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		prepared, open, err := c.InDoubt(ctx)
		if err == nil && prepared == 0 && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still in doubt after 60 s: %d prepared, %d open (%v)", prepared, open, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	admin := newSDK(t, c, security.RoleAdmin, "checker")
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	w := admin.Watch(wctx, client.Cursor{}, &client.Filter{ParticipantId: participant})
	defer w.Close()
	committed, aborted = map[string]bool{}, map[string]bool{}
	for {
		e, err := w.Next()
		if err != nil {
			return committed, aborted
		}
		if e.GetOutcome() == arbiterpb.Outcome_OUTCOME_COMMIT {
			committed[e.GetTxId()] = true
		} else {
			aborted[e.GetTxId()] = true
		}
	}
}
