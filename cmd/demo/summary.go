package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/jepsen/cluster"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// summary is what the demo reports; the JSON field names are stable.
type summary struct {
	Committed        int      `json:"committed"`
	Aborted          int      `json:"aborted"`
	Unknown          int      `json:"unknown"`
	UnknownCommitted int      `json:"unknown_later_committed"`
	BeginFailed      int      `json:"begin_failed"`
	Rejected         int      `json:"rejected"`
	TotalBefore      int64    `json:"total_before"`
	TotalAfter       int64    `json:"total_after"`
	InDoubtAtEnd     int      `json:"in_doubt_at_end"`
	LeaderChanges    int      `json:"leader_changes"`
	SettleSeconds    float64  `json:"settle_seconds"`
	Events           []string `json:"events"`

	mu         sync.Mutex
	start      time.Time
	unknowns   []string
	rejections []string
}

func (s *summary) record(txID string, out arbiterpb.Outcome, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil && !errors.Is(err, client.ErrOutcomeUnknown):
		s.Rejected++
		s.rejections = append(s.rejections, err.Error())
	case err != nil:
		s.Unknown++
		s.unknowns = append(s.unknowns, txID)
	case out == arbiterpb.Outcome_OUTCOME_COMMIT:
		s.Committed++
	default:
		s.Aborted++
	}
}

func (s *summary) beginFailed() {
	s.mu.Lock()
	s.BeginFailed++
	s.mu.Unlock()
}

func (s *summary) counts() (int, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Committed, s.Aborted, s.Unknown
}

func (s *summary) event(format string, args ...any) {
	msg := fmt.Sprintf("%5.1fs ", time.Since(s.start).Seconds()) + fmt.Sprintf(format, args...)
	fmt.Println("demo: " + msg)
	s.mu.Lock()
	s.Events = append(s.Events, msg)
	s.mu.Unlock()
}

func (s *summary) ok() bool {
	return s.TotalAfter == s.TotalBefore && s.InDoubtAtEnd == 0 && s.Committed > 0
}

// settle waits for every prepared transaction to be resolved and every open
// one to be finished, then reads the final total and asks the cluster what
// became of the transactions whose outcome the client did not learn.
func settle(ctx context.Context, c *cluster.Cluster, cli *client.Client, s *summary) error {
	fmt.Println("demo: workload stopped; waiting for every transaction to be resolved")
	t0 := time.Now()
	deadline := t0.Add(30 * time.Second)
	for {
		prepared, open, err := c.InDoubt(ctx)
		s.InDoubtAtEnd = prepared + max(open, 0)
		if err == nil && s.InDoubtAtEnd == 0 {
			break
		}
		if time.Now().After(deadline) {
			fmt.Printf("demo: still in doubt after 30s: prepared %d, open %d (%v)\n", prepared, open, err)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.SettleSeconds = time.Since(t0).Seconds()
	after, err := waitTotal(ctx, c)
	if err != nil {
		return err
	}
	s.TotalAfter = after
	for _, id := range s.unknowns {
		if tx, err := cli.Status(ctx, id); err == nil && tx.GetState() == arbiterpb.TxState_TX_STATE_COMMITTED {
			s.UnknownCommitted++
		}
	}
	return nil
}

// waitTotal sums the committed balances of every bank, retrying while a
// bank is restarting.
func waitTotal(ctx context.Context, c *cluster.Cluster) (int64, error) {
	var lastErr error
	for range 100 {
		var total int64
		lastErr = nil
		for _, b := range c.Banks {
			r, err := cluster.Balances(ctx, b)
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", b.Name, err)
				break
			}
			total += r.GetTotal()
		}
		if lastErr == nil {
			return total, nil
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			break
		}
	}
	return 0, fmt.Errorf("reading balances: %w", lastErr)
}

func (s *summary) print() {
	fmt.Println()
	fmt.Println("=== Arbiter demo summary ===")
	fmt.Printf("transactions committed:         %d\n", s.Committed)
	fmt.Printf("transactions aborted:           %d\n", s.Aborted)
	fmt.Printf("outcome unknown to the client:  %d (of which the cluster later reports %d committed)\n", s.Unknown, s.UnknownCommitted)
	fmt.Printf("requests refused by the cluster: %d\n", s.Rejected)
	for i, r := range s.rejections {
		if i == 3 {
			break
		}
		fmt.Printf("  refused: %s\n", r)
	}
	fmt.Printf("total balance before / after:   %d / %d (%s)\n", s.TotalBefore, s.TotalAfter, verdict(s.TotalBefore == s.TotalAfter, "conserved", "NOT CONSERVED"))
	fmt.Printf("in doubt at the end:            %d (%s, settled in %.1fs)\n", s.InDoubtAtEnd, verdict(s.InDoubtAtEnd == 0, "none", "STUCK"), s.SettleSeconds)
	fmt.Printf("coordinator leader changes:     %d\n", s.LeaderChanges)
	for _, e := range s.Events {
		fmt.Printf("  fault: %s\n", e)
	}
	fmt.Printf("result: %s\n", verdict(s.ok(), "PASS", "FAIL"))
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
}

func verdict(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
