package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// watchFlags are tx watch's own flags.
type watchFlags struct {
	from        uint64
	position    uint32
	participant string
	clientID    string
	outcome     string
	count       int
}

func txWatchCmd() *cobra.Command {
	var f cliFlags
	var wf watchFlags
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Stream decisions as the cluster applies them (resumes on another node if one fails)",
		Long: `Stream the cluster's decisions in log order: each transaction's ID,
outcome, participants, client, and the Raft index and time of its decision.
Any node serves the stream from its applied state; when the node fails, the
watch resumes on another --addr from the decision after the last one shown,
so none is skipped or shown twice. --from N starts at log index N (default:
the oldest decision the node retains, the newest 16384); a start older than
that fails with the oldest index still available. A client identity sees
only its own transactions, a participant only those naming it, an admin all.
With --output json, one JSON object per line.`,
		Example: `  arbiter tx watch
  arbiter tx watch --from 1200 --participant bank1 --output json
  arbiter tx watch --outcome abort --count 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prepare(cmd, &f, wf.validate); err != nil {
				return err
			}
			return runWatch(cmd.Context(), f, wf, os.Stdout)
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64Var(&wf.from, "from", 0, "first log index to show (0: the oldest retained)")
	cmd.Flags().Uint32Var(&wf.position, "from-position", 0, "with --from, the first decision of that entry to show (an entry can record several)")
	cmd.Flags().StringVar(&wf.participant, "participant", "", "only decisions naming this participant ID")
	cmd.Flags().StringVar(&wf.clientID, "client", "", "only transactions of this client ID")
	cmd.Flags().StringVar(&wf.outcome, "outcome", "", "only this outcome: commit or abort")
	cmd.Flags().IntVar(&wf.count, "count", 0, "exit after this many decisions (0: run until interrupted)")
	return cmd
}

func (w *watchFlags) validate() error {
	if w.outcome != "" && w.outcome != "commit" && w.outcome != "abort" {
		return fmt.Errorf("--outcome %q: use commit or abort (or leave it out for both)", w.outcome)
	}
	if w.count < 0 {
		return fmt.Errorf("--count %d must not be negative", w.count)
	}
	return nil
}

func (w *watchFlags) filter() *client.Filter {
	f := &client.Filter{ParticipantId: w.participant, ClientId: w.clientID}
	switch w.outcome {
	case "commit":
		f.Outcome = arbiterpb.Outcome_OUTCOME_COMMIT
	case "abort":
		f.Outcome = arbiterpb.Outcome_OUTCOME_ABORT
	}
	return f
}

func runWatch(ctx context.Context, f cliFlags, wf watchFlags, out io.Writer) error {
	src, err := f.tls.load(nil)
	if err != nil {
		return err
	}
	cfg := client.Config{Addresses: strings.Split(f.addrs, ","), Insecure: src == nil}
	if src != nil {
		cfg.DialOptions = client.TLSDialOptions(src)
	}
	cli, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	w := cli.Watch(ctx, client.Cursor{Index: wf.from, Position: wf.position}, wf.filter())
	defer w.Close()
	if f.output == "table" {
		fmt.Fprintf(out, "%-8s %-3s %-8s %-30s %-7s %-34s %-10s %s\n", "INDEX", "POS", "SEQ", "DECIDED", "OUTCOME", "TX", "CLIENT", "PARTICIPANTS")
	}
	for n := 0; wf.count == 0 || n < wf.count; n++ {
		e, err := w.Next()
		if err != nil {
			return fmt.Errorf("watch: %w (resume with --from %d --from-position %d)", err, w.Cursor().Index, w.Cursor().Position)
		}
		if err := writeEvent(out, f.output, e); err != nil {
			return err
		}
	}
	return nil
}

// eventJSON is one decision as tx watch --output json prints it.
type eventJSON struct {
	Index        uint64   `json:"index"`
	Position     uint32   `json:"position"`
	Seq          uint64   `json:"seq"`
	TxID         string   `json:"tx_id"`
	Outcome      string   `json:"outcome"`
	Participants []string `json:"participants"`
	ReadOnly     []string `json:"read_only,omitempty"`
	ClientID     string   `json:"client_id"`
	DecidedAt    string   `json:"decided_at"`
	Reason       string   `json:"reason,omitempty"`
}

func outcomeWord(o arbiterpb.Outcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "OUTCOME_"))
}

func writeEvent(out io.Writer, format string, e *client.Event) error {
	at := time.Unix(0, e.GetDecidedUnixNanos()).UTC().Format(time.RFC3339Nano)
	if format == "json" {
		parts := e.GetParticipants()
		if parts == nil {
			parts = []string{}
		}
		b, err := json.Marshal(eventJSON{Index: e.GetIndex(), Position: e.GetPosition(), Seq: e.GetSeq(), TxID: e.GetTxId(),
			Outcome: outcomeWord(e.GetOutcome()), Participants: parts, ReadOnly: e.GetReadOnly(), ClientID: e.GetClientId(),
			DecidedAt: at, Reason: e.GetReason()})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(out, "%-8d %-3d %-8d %-30s %-7s %-34s %-10s %s\n", e.GetIndex(), e.GetPosition(), e.GetSeq(), at,
		outcomeWord(e.GetOutcome()), e.GetTxId(), e.GetClientId(), strings.Join(e.GetParticipants(), ","))
	return err
}
