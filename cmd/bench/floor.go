package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// floorCoordinator makes the same gRPC round trips as the real coordinator
// for a coordinator-driven transaction, and nothing else: no Raft, no disk.
type floorCoordinator struct {
	arbiterpb.UnimplementedCoordinatorServer
	parts map[string]arbiterpb.ParticipantClient
	next  atomic.Uint64
}

// Begin returns a fresh ID.
func (f *floorCoordinator) Begin(context.Context, *arbiterpb.BeginRequest) (*arbiterpb.BeginResponse, error) {
	return &arbiterpb.BeginResponse{TxId: fmt.Sprintf("floor-%d", f.next.Add(1))}, nil
}

// Commit prepares every branch in parallel, then fires phase 2 without
// waiting for it (as the real coordinator does) and answers COMMIT.
func (f *floorCoordinator) Commit(ctx context.Context, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(req.GetBranches()))
	for i, b := range req.GetBranches() {
		p, ok := f.parts[b.GetParticipantId()]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "floor: unknown participant %q", b.GetParticipantId())
		}
		wg.Go(func() {
			_, errs[i] = p.Prepare(ctx, &arbiterpb.PrepareRequest{TxId: req.GetTxId(), Payload: b.GetPayload()})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return &arbiterpb.CommitResponse{Outcome: arbiterpb.Outcome_OUTCOME_ABORT, Reason: err.Error()}, nil
		}
	}
	for _, b := range req.GetBranches() {
		go func() {
			_, _ = f.parts[b.GetParticipantId()].Commit(context.Background(), &arbiterpb.DecisionRequest{TxId: req.GetTxId()})
		}()
	}
	return &arbiterpb.CommitResponse{Outcome: arbiterpb.Outcome_OUTCOME_COMMIT}, nil
}

// floorParticipant votes yes to everything and stores nothing.
type floorParticipant struct {
	arbiterpb.UnimplementedParticipantServer
}

// Prepare votes yes.
func (floorParticipant) Prepare(context.Context, *arbiterpb.PrepareRequest) (*arbiterpb.PrepareResponse, error) {
	return &arbiterpb.PrepareResponse{Vote: arbiterpb.Vote_VOTE_YES}, nil
}

// Commit acknowledges.
func (floorParticipant) Commit(context.Context, *arbiterpb.DecisionRequest) (*arbiterpb.DecisionResponse, error) {
	return &arbiterpb.DecisionResponse{}, nil
}

// Abort acknowledges.
func (floorParticipant) Abort(context.Context, *arbiterpb.DecisionRequest) (*arbiterpb.DecisionResponse, error) {
	return &arbiterpb.DecisionResponse{}, nil
}

// Inspect reports nothing prepared (used as a readiness probe).
func (floorParticipant) Inspect(context.Context, *arbiterpb.InspectRequest) (*arbiterpb.InspectResponse, error) {
	return &arbiterpb.InspectResponse{}, nil
}

// runFloorCoordinator is the "bench floor-coordinator" subcommand.
func runFloorCoordinator(args []string) error {
	fs := flag.NewFlagSet("floor-coordinator", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "host:port serving the Coordinator API")
	parts := fs.String("participants", "", "participants as ID=HOST:PORT, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f := &floorCoordinator{parts: make(map[string]arbiterpb.ParticipantClient)}
	for _, item := range strings.Split(*parts, ",") {
		id, addr, ok := strings.Cut(item, "=")
		if !ok {
			return fmt.Errorf("--participants entry %q: want ID=HOST:PORT", item)
		}
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer cc.Close()
		f.parts[id] = arbiterpb.NewParticipantClient(cc)
	}
	return serveUntilSignal(*listen, func(s *grpc.Server) { arbiterpb.RegisterCoordinatorServer(s, f) })
}

// runFloorParticipant is the "bench floor-participant" subcommand.
func runFloorParticipant(args []string) error {
	fs := flag.NewFlagSet("floor-participant", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "host:port serving the Participant API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serveUntilSignal(*listen, func(s *grpc.Server) { arbiterpb.RegisterParticipantServer(s, floorParticipant{}) })
}

// serveUntilSignal serves gRPC on addr until SIGINT or SIGTERM.
func serveUntilSignal(addr string, register func(*grpc.Server)) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	register(srv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	return srv.Serve(lis)
}
