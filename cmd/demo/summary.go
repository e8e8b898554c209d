package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/localcluster"
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
	InDoubtReadError string   `json:"in_doubt_read_error,omitempty"` // the final count could not be read
	LeaderChanges    int      `json:"leader_changes"`
	SettleSeconds    float64  `json:"settle_seconds"`
	Events           []string `json:"events"`
	// Ways counts the transfers by way of joining: "coordinator_driven"
	// and "service_driven" (see worker).
	Ways map[string]*wayCounts `json:"ways"`
	// FaultsPlanned and FaultsInjected count the crashes of the schedule
	// (a participant, then the leader) planned and carried out: killed and
	// restarted without error. FaultErrors says what went wrong.
	FaultsPlanned  int      `json:"faults_planned"`
	FaultsInjected int      `json:"faults_injected"`
	FaultErrors    []string `json:"fault_errors"`
	// Processes and ProcessesUp count the six processes and those running
	// and answering at the end; Down names the others.
	Processes   int      `json:"processes"`
	ProcessesUp int      `json:"processes_up"`
	Down        []string `json:"processes_down"`
	// With --events (make demo-events): EventsExpected is the committed
	// transfers naming the outbox (read back with Watch), EventsPublished
	// how many of them the consumer received, EventsDuplicated the
	// deliveries of an event beyond its first, EventsUnexpected the events
	// of no committed transfer (an aborted one), EventsInStream the
	// messages the stream holds.
	EventsMode       bool `json:"events_mode"`
	EventsPublished  int  `json:"events_published"`
	EventsExpected   int  `json:"events_expected"`
	EventsDuplicated int  `json:"events_duplicated"`
	EventsUnexpected int  `json:"events_unexpected"`
	EventsInStream   int  `json:"events_in_stream"`
	// Failures are the reasons for FAIL; empty means PASS.
	Failures []string `json:"failures"`

	mu         sync.Mutex
	start      time.Time
	unknowns   []string
	rejections []string
}

// The ways of joining a transaction the workers alternate.
const (
	coordinatorDriven = "coordinator_driven"
	serviceDriven     = "service_driven"
)

// wayCounts is what became of the transfers made one way.
type wayCounts struct {
	Committed   int `json:"committed"`
	Aborted     int `json:"aborted"`
	Unknown     int `json:"unknown"`
	Rejected    int `json:"rejected"`
	BeginFailed int `json:"begin_failed"`
}

func newSummary(before int64, processes int) *summary {
	return &summary{TotalBefore: before, start: time.Now(), FaultsPlanned: 2, Processes: processes,
		Ways: map[string]*wayCounts{coordinatorDriven: {}, serviceDriven: {}}}
}

func (s *summary) record(way, txID string, out arbiterpb.Outcome, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.Ways[way]
	switch {
	case err != nil && !errors.Is(err, client.ErrOutcomeUnknown):
		s.Rejected++
		w.Rejected++
		s.rejections = append(s.rejections, err.Error())
	case err != nil:
		s.Unknown++
		w.Unknown++
		s.unknowns = append(s.unknowns, txID)
	case out == arbiterpb.Outcome_OUTCOME_COMMIT:
		s.Committed++
		w.Committed++
	default:
		s.Aborted++
		w.Aborted++
	}
}

func (s *summary) beginFailed(way string) {
	s.mu.Lock()
	s.BeginFailed++
	s.Ways[way].BeginFailed++
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

// faultFailed records (and prints) a fault that could not be carried out.
func (s *summary) faultFailed(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Println("demo: fault failed: " + msg)
	s.mu.Lock()
	s.FaultErrors = append(s.FaultErrors, msg)
	s.mu.Unlock()
}

// faultInjected counts a crash carried out as planned.
func (s *summary) faultInjected() {
	s.mu.Lock()
	s.FaultsInjected++
	s.mu.Unlock()
}

// waitTotal sums the committed balances of every bank, retrying while a
// bank is restarting.
func waitTotal(ctx context.Context, c *localcluster.Cluster) (int64, error) {
	var lastErr error
	for range 100 {
		var total int64
		lastErr = nil
		for _, b := range c.Banks {
			r, err := localcluster.Balances(ctx, b)
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", b.Name, err)
				break
			}
			total += r.GetTotal()
		}
		if lastErr == nil {
			return total, nil
		}
		if !backoff.Sleep(ctx, 200*time.Millisecond) {
			break
		}
	}
	return 0, fmt.Errorf("reading balances: %w", lastErr)
}

// print writes the summary for a person, then as one line of JSON.
func (s *summary) print() {
	s.Failures = s.failures()
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
	for _, w := range []string{coordinatorDriven, serviceDriven} {
		c := s.Ways[w]
		fmt.Printf("  %-19s committed %d, aborted %d, unknown %d, refused %d, begin failed %d\n",
			w+":", c.Committed, c.Aborted, c.Unknown, c.Rejected, c.BeginFailed)
	}
	fmt.Printf("total balance before / after:   %d / %d (%s)\n", s.TotalBefore, s.TotalAfter, verdict(s.TotalBefore == s.TotalAfter, "conserved", "NOT CONSERVED"))
	fmt.Printf("in doubt at the end:            %d (%s, settled in %.1fs)\n", s.InDoubtAtEnd, s.inDoubtWord(), s.SettleSeconds)
	fmt.Printf("coordinator leader changes:     %d\n", s.LeaderChanges)
	fmt.Printf("crashes carried out:            %d of %d\n", s.FaultsInjected, s.FaultsPlanned)
	for _, e := range s.Events {
		fmt.Printf("  fault: %s\n", e)
	}
	if s.EventsMode {
		fmt.Printf("transfer events expected:       %d (committed transfers, from Watch)\n", s.EventsExpected)
		fmt.Printf("  received by the consumer:     %d, duplicated %d, of no committed transfer %d; %d in the stream\n",
			s.EventsPublished, s.EventsDuplicated, s.EventsUnexpected, s.EventsInStream)
	}
	fmt.Printf("processes up at the end:        %d of %d\n", s.ProcessesUp, s.Processes)
	for _, f := range s.Failures {
		fmt.Printf("  FAIL: %s\n", f)
	}
	fmt.Printf("result: %s\n", verdict(len(s.Failures) == 0, "PASS", "FAIL"))
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
}

func (s *summary) inDoubtWord() string {
	switch {
	case s.InDoubtReadError != "":
		return "UNKNOWN: " + s.InDoubtReadError
	case s.InDoubtAtEnd != 0:
		return "STUCK"
	}
	return "none"
}

func verdict(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
