package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant/postgres/pgtest"
)

// The demo end to end on real processes, shortened: three coordinators and
// three banks, a participant and the leader SIGKILLed and restarted; money
// must be conserved and nothing left in doubt.
func TestDemoConservesMoneyThroughCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six processes; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ok, err := run(ctx, options{duration: 9 * time.Second, concurrency: 4, accounts: 10, dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("demo reported FAIL (see its summary above)")
	}
}

// The same demo with every bank on a PostgreSQL server of its own, started
// and removed by the demo.
func TestDemoOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six processes and three PostgreSQL servers; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ok, err := run(ctx, options{duration: 6 * time.Second, concurrency: 4, accounts: 10, dir: t.TempDir(), postgres: true})
	if errors.Is(err, errNoPostgres) {
		pgtest.Unavailable(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("demo on PostgreSQL reported FAIL (see its summary above)")
	}
}
