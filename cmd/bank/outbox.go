package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/participant/outbox"
)

// outboxFlags turn the process into an outbox participant (no accounts):
// its branches publish messages to NATS JetStream (participant/outbox).
type outboxFlags struct {
	url, stream, subjects string
	window                time.Duration
}

func (o *outboxFlags) register() {
	flag.StringVar(&o.url, "outbox-nats", "", "run as an outbox participant publishing committed branches' messages to this NATS URL (JetStream) instead of a bank")
	flag.StringVar(&o.stream, "outbox-stream", "EVENTS", "with --outbox-nats: the JetStream stream (created if missing)")
	flag.StringVar(&o.subjects, "outbox-subjects", "transfer.>", "with --outbox-nats: the subjects the stream captures, comma-separated; branches publishing elsewhere are refused")
	flag.DurationVar(&o.window, "outbox-duplicate-window", 2*time.Minute, "with --outbox-nats: the stream's duplicate window when the outbox creates it")
}

// runOutbox serves the Participant API over the outbox's store and runs
// its publisher until ctx ends.
func runOutbox(ctx context.Context, f flags, log *zap.Logger) error {
	if err := os.MkdirAll(f.dataDir, 0o755); err != nil {
		return err
	}
	st, err := embedded.Open(filepath.Join(f.dataDir, "outbox.db"), embedded.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	cfg := outbox.DefaultConfig()
	cfg.ID, cfg.NATSURL, cfg.Stream, cfg.DuplicateWindow = f.id, f.outbox.url, f.outbox.stream, f.outbox.window
	cfg.Subjects = strings.Split(f.outbox.subjects, ",")
	ob, err := outbox.New(cfg, st, log)
	if err != nil {
		return fmt.Errorf("--outbox-*: %w", err)
	}
	published := make(chan error, 1)
	pctx, stop := context.WithCancel(ctx)
	go func() { published <- ob.Run(pctx) }()
	defer func() { stop(); <-published }()
	return serve(ctx, f, log, ob.Resource(), ob.Handler, nil)
}
