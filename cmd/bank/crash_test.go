package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap/zaptest"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/examples/bank/bankpb"
	"github.com/arbiter-tx/arbiter/internal/coordtest"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// storeUnderTest is how one bank process keeps its accounts.
type storeUnderTest struct {
	name string
	// args are the bank's storage flags.
	args func(t *testing.T, dir string) []string
	// prepared lists the bank's prepared tx IDs while it is down.
	prepared func(t *testing.T, dir string) []string
}

func storesUnderTest() []storeUnderTest {
	var dsn string
	return []storeUnderTest{{
		name: "postgres",
		args: func(t *testing.T, _ string) []string {
			dsn = pgtest.Start(t).DSN
			return []string{"--postgres", dsn}
		},
		prepared: func(t *testing.T, _ string) []string { return pgPrepared(t, dsn, "bank1") },
	}, {
		name: "mysql",
		args: func(t *testing.T, _ string) []string {
			dsn = mysqlBankDSN(t)
			return []string{"--mysql", dsn}
		},
		prepared: func(t *testing.T, _ string) []string { return myPrepared(t, dsn, "bank1") },
	}, {
		name: "embedded",
		args: func(_ *testing.T, dir string) []string { return []string{"--data-dir", filepath.Join(dir, "data")} },
		prepared: func(t *testing.T, dir string) []string {
			st, err := embedded.Open(filepath.Join(dir, "data", "bank.db"), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			list, err := st.Prepared(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range list {
				ids = append(ids, p.TxID)
			}
			return ids
		},
	}}
}

// pgPrepared lists the tx IDs of participant pid's gids in pg_prepared_xacts.
func pgPrepared(t *testing.T, dsn, pid string) []string {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, err := pool.Query(ctx, `SELECT split_part(gid, ':', 3) FROM pg_prepared_xacts WHERE starts_with(gid, $1)`, "arbiter:"+pid+":")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// The bank process SIGKILLs itself right after its PREPARE is durable
// (failpoint prepare-after-durable, in a service-driven Apply that enlisted
// with a real coordinator). The prepared work must survive the process: it
// is listed while the bank is down, and once the bank is restarted (no
// failpoints) the coordinator's Commit finds it prepared, decides COMMIT
// and phase 2 applies it, leaving nothing prepared.
func TestBankKilledAfterPrepareCommitsAfterRestart(t *testing.T) {
	for _, st := range storesUnderTest() {
		t.Run(st.name, func(t *testing.T) {
			dir := t.TempDir()
			coord := coordtest.Start(t, zaptest.NewLogger(t, zaptest.Level(zapWarn)), nil)
			addr := freeAddr(t)
			args := append([]string{"--id", "bank1", "--listen", addr, "--coordinators", coord.Addr,
				"--insecure", "--accounts", "2", "--opening-balance", "100"}, st.args(t, dir)...)
			p := startBank(t, dir, []string{failpoint.EnvVar + "=" + failpoint.PrepareAfterDurable.Arm(1)}, args...)
			p.waitLog(t, "registered with coordinators", 60*time.Second)
			bc, pc := bankClient(t, addr)

			ctx := ctxFor(t, 2*time.Minute)
			txID, err := coord.Client.Begin(ctx, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			_, err = bc.Apply(client.WithTxID(ctx, txID), &bankpb.ApplyRequest{Ops: []*bankpb.Op{
				{Account: "bank1-0", Delta: -30}, {Account: "bank1-1", Delta: 30}}})
			if err == nil {
				t.Fatal("Apply succeeded: the prepare-after-durable failpoint did not kill the bank")
			}
			if !p.exited(10*time.Second) || !p.killedBySIGKILL() {
				t.Fatalf("bank not killed by SIGKILL at the failpoint (exit: %v):\n%s", p.err, p.log())
			}
			if ids := st.prepared(t, dir); !slices.Contains(ids, txID) {
				t.Fatalf("prepared while the bank is down: %v, want %s", ids, txID)
			}

			p = startBank(t, dir, nil, args...)
			p.waitLog(t, "registered with coordinators", 60*time.Second)
			out, err := coord.Client.Commit(ctx, txID)
			if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
				t.Fatalf("Commit = %v, %v; want COMMIT", out, err)
			}
			eventually(t, 15*time.Second, "the restarted bank to apply the commit", func() bool {
				b, err := bc.Balances(ctx, &bankpb.BalancesRequest{})
				return err == nil && b.GetBalances()["bank1-0"] == 70 && b.GetBalances()["bank1-1"] == 130
			})
			// MariaDB makes an XA COMMIT's rows visible a moment before
			// it drops the XID from XA RECOVER: poll.
			eventually(t, 5*time.Second, "Inspect to list nothing prepared after the commit", func() bool {
				info, err := pc.Inspect(ctx, &arbiterpb.InspectRequest{})
				return err == nil && len(info.GetPrepared()) == 0
			})
			p.kill(t)
			if ids := st.prepared(t, dir); len(ids) != 0 {
				t.Fatalf("still prepared after commit: %v", ids)
			}
		})
	}
}
