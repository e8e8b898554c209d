package fakecoord

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Register answers with the uniqueness window set by SetWindow.
func (f *Coordinator) Register(ctx context.Context, _ *arbiterpb.RegisterRequest) (*arbiterpb.RegisterResponse, error) {
	if err := f.record(ctx, "Register", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &arbiterpb.RegisterResponse{UniquenessWindowMillis: f.window.Milliseconds()}, nil
}

// Enlist fails with the error set by SetEnlistErr, else records the ID and
// answers a deadline a minute away.
func (f *Coordinator) Enlist(ctx context.Context, req *arbiterpb.EnlistRequest) (*arbiterpb.EnlistResponse, error) {
	if err := f.record(ctx, "Enlist", req.GetTxId()); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enlistErr != nil {
		return nil, f.enlistErr
	}
	f.enlisted = append(f.enlisted, req.GetTxId())
	return &arbiterpb.EnlistResponse{DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()}, nil
}

// Resolve answers the outcome and term set by SetResolve; until one is
// set, UNAVAILABLE ("no leader").
func (f *Coordinator) Resolve(ctx context.Context, req *arbiterpb.ResolveRequest) (*arbiterpb.ResolveResponse, error) {
	if err := f.record(ctx, "Resolve", req.GetTxId()); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outcome == arbiterpb.Outcome_OUTCOME_UNKNOWN && f.term == 0 {
		return nil, status.Error(codes.Unavailable, "no leader")
	}
	return &arbiterpb.ResolveResponse{Outcome: f.outcome, Term: f.term}, nil
}

// Begin answers the ID "tx-from-" and the fake's name.
func (f *Coordinator) Begin(ctx context.Context, _ *arbiterpb.BeginRequest) (*arbiterpb.BeginResponse, error) {
	if err := f.record(ctx, "Begin", ""); err != nil {
		return nil, err
	}
	return &arbiterpb.BeginResponse{TxId: "tx-from-" + f.name}, nil
}

// Commit answers COMMIT.
func (f *Coordinator) Commit(ctx context.Context, req *arbiterpb.CommitRequest) (*arbiterpb.CommitResponse, error) {
	if err := f.record(ctx, "Commit", req.GetTxId()); err != nil {
		return nil, err
	}
	return &arbiterpb.CommitResponse{Outcome: arbiterpb.Outcome_OUTCOME_COMMIT}, nil
}

// Status answers a record that holds only the ID.
func (f *Coordinator) Status(ctx context.Context, req *arbiterpb.StatusRequest) (*arbiterpb.StatusResponse, error) {
	if err := f.record(ctx, "Status", req.GetTxId()); err != nil {
		return nil, err
	}
	return &arbiterpb.StatusResponse{Tx: &arbiterpb.TxInfo{TxId: req.GetTxId()}}, nil
}

// record notes the call and asks the Answer, outside the lock (an answer
// may call on, even to this fake).
func (f *Coordinator) record(ctx context.Context, method, txID string) error {
	ctxID, _ := client.TxIDFromContext(ctx)
	f.mu.Lock()
	f.calls = append(f.calls, Call{Method: method, TxID: txID, CtxID: ctxID})
	n, answer := len(f.calls), f.answer
	f.mu.Unlock()
	if answer == nil {
		return nil
	}
	return answer(ctx, n)
}
