package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// `arbiter tx watch --output json --count N` prints the node's decisions,
// one JSON object a line, with the outcome each call was answered; a
// client identity sees only its own; a bad --outcome is refused clearly.
func TestTxWatchPrintsDecisions(t *testing.T) {
	n := startSingleNode(t)
	// Two transactions by client alice, one by bob, all aborted.
	var aliceTx []string
	for _, who := range []string{"alice", "bob", "alice"} {
		id := n.beginAbortAs(t, who)
		if who == "alice" {
			aliceTx = append(aliceTx, id)
		}
	}
	dir := t.TempDir()
	if err := n.ca.WriteCA(dir); err != nil {
		t.Fatal(err)
	}
	writeIdentity(t, n.ca, dir, security.Identity{Role: security.RoleClient, ID: "alice"})
	tls := []string{"--addr", n.grpc, "--tls-cert", filepath.Join(dir, "node.crt"), "--tls-key", filepath.Join(dir, "node.key"),
		"--tls-ca", filepath.Join(dir, "ca.crt")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, arbiterBinary(t), append([]string{"tx", "watch", "--output", "json", "--count", "2"}, tls...)...).Output()
	if err != nil {
		t.Fatalf("tx watch: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), out)
	}
	var prev eventJSON
	for i, l := range lines {
		var e eventJSON
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if e.TxID != aliceTx[i] || e.Outcome != "abort" || e.ClientID != "alice" || e.DecidedAt == "" || e.Index <= prev.Index {
			t.Fatalf("line %d = %+v, want alice's abort of %s after index %d", i, e, aliceTx[i], prev.Index)
		}
		prev = e
	}
	// --from right after the first: the second.
	next := fmt.Sprint(prevIndex(t, lines[0]) + 1)
	out, err = exec.CommandContext(ctx, arbiterBinary(t), append([]string{"tx", "watch", "--output", "json", "--count", "1", "--from", next}, tls...)...).Output()
	if err != nil || !strings.Contains(string(out), aliceTx[1]) {
		t.Fatalf("tx watch --from %s: %v\n%s", next, err, out)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, arbiterBinary(t), append([]string{"tx", "watch", "--outcome", "maybe"}, tls...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), `--outcome "maybe": use commit or abort`) {
		t.Fatalf("bad --outcome: %v, %q", err, stderr.String())
	}
}

func prevIndex(t *testing.T, line string) uint64 {
	t.Helper()
	var e eventJSON
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	return e.Index
}

// beginAbortAs begins and aborts a transaction as client who.
func (n *singleNode) beginAbortAs(t *testing.T, who string) string {
	t.Helper()
	dir := t.TempDir()
	if err := n.ca.WriteCA(dir); err != nil {
		t.Fatal(err)
	}
	writeIdentity(t, n.ca, dir, security.Identity{Role: security.RoleClient, ID: who})
	src, err := security.Load(filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key"), filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(n.grpc, security.DialOption(src))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli := arbiterpb.NewCoordinatorClient(cc)
	begun, err := cli.Begin(ctx, &arbiterpb.BeginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Abort(ctx, &arbiterpb.AbortRequest{TxId: begun.GetTxId()}); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "node.key"))
	return begun.GetTxId()
}
