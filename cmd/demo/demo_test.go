package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant/mysql/mysqltest"
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
	s, err := run(ctx, options{duration: 9 * time.Second, concurrency: 4, accounts: 10, dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !s.ok() {
		t.Fatalf("demo reported FAIL: %q (see its summary above)", s.failures())
	}
	checkSummary(t, s)
}

// checkSummary checks the fields ok() rests on, so that a verdict that
// forgot one of them would not go unnoticed.
func checkSummary(t *testing.T, s *summary) {
	t.Helper()
	if s.FaultsPlanned != 2 || s.FaultsInjected != 2 || len(s.FaultErrors) != 0 {
		t.Errorf("crashes: %d of %d carried out, errors %q; want both", s.FaultsInjected, s.FaultsPlanned, s.FaultErrors)
	}
	if s.LeaderChanges < 1 {
		t.Errorf("leader_changes = %d after killing the leader, want >= 1", s.LeaderChanges)
	}
	if s.Processes != 6 || s.ProcessesUp != 6 {
		t.Errorf("processes up at the end: %d of %d (down %q), want 6 of 6", s.ProcessesUp, s.Processes, s.Down)
	}
	if s.InDoubtReadError != "" || s.InDoubtAtEnd != 0 {
		t.Errorf("in doubt at the end: %d (read error %q), want 0 read", s.InDoubtAtEnd, s.InDoubtReadError)
	}
	for _, w := range []string{coordinatorDriven, serviceDriven} {
		if c := s.Ways[w]; c == nil || c.Committed == 0 {
			t.Errorf("%s transfers: %+v, want some committed", w, c)
		}
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(s); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"ways":{"coordinator_driven":{"committed":`, `"service_driven":{"committed":`,
		`"faults_injected":2`, `"processes_up":6`, `"failures":[]`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("summary JSON lacks %s: %s", key, b.String())
		}
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
	s, err := run(ctx, options{duration: 6 * time.Second, concurrency: 4, accounts: 10, dir: t.TempDir(), postgres: true})
	if errors.Is(err, errNoPostgres) {
		pgtest.Unavailable(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !s.ok() {
		t.Fatalf("demo on PostgreSQL reported FAIL: %q (see its summary above)", s.failures())
	}
}

// The same demo with every bank on a MariaDB server of its own (XA),
// started and removed by the demo.
func TestDemoOnMySQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six processes and three MariaDB servers; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := run(ctx, options{duration: 6 * time.Second, concurrency: 4, accounts: 10, dir: t.TempDir(), mysql: true})
	if errors.Is(err, errNoMySQL) {
		mysqltest.Unavailable(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !s.ok() {
		t.Fatalf("demo on MariaDB reported FAIL: %q (see its summary above)", s.failures())
	}
}

// With --events, a consumer receives exactly one transfer.completed per
// committed transfer through an outbox SIGKILL and a broker restart.
func TestDemoEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven processes and a NATS server; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := run(ctx, options{duration: 14 * time.Second, concurrency: 4, accounts: 10, dir: t.TempDir(), events: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.ok() {
		t.Fatalf("demo --events reported FAIL: %q (see its summary above)", s.failures())
	}
	if s.FaultsInjected != 4 || s.EventsExpected == 0 || s.EventsPublished != s.EventsExpected || s.EventsDuplicated != 0 || s.EventsUnexpected != 0 {
		t.Fatalf("events: %d faults; %d expected, %d received, %d duplicated, %d unexpected",
			s.FaultsInjected, s.EventsExpected, s.EventsPublished, s.EventsDuplicated, s.EventsUnexpected)
	}
	t.Logf("events: %d committed transfers, %d received once each", s.EventsExpected, s.EventsPublished)
}
