package participant

import (
	"context"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// maxBatchItems bounds one DecideBatch request.
const maxBatchItems = 4096

// DecideBatch applies many decisions. A stale term refuses the whole batch
// and changes nothing; each item checks the term again under its lock.
// Items run concurrently, so the resource can group their durable writes
// (the embedded store shares one fsync among them); each gets its own
// result.
func (s *service[T]) DecideBatch(ctx context.Context, req *arbiterpb.DecideBatchRequest) (*arbiterpb.DecideBatchResponse, error) {
	if err := s.a.authorize(ctx, "DecideBatch", security.RoleCoordinator); err != nil {
		return nil, err
	}
	if n := len(req.GetItems()); n == 0 || n > maxBatchItems {
		return nil, status.Errorf(codes.InvalidArgument, "a batch needs 1 to %d items, got %d", maxBatchItems, n)
	}
	if err := s.a.fence(ctx, req.GetTerm()); err != nil {
		s.a.log.Warn("decision batch refused", zap.Int("items", len(req.GetItems())), zap.Error(err))
		return nil, StatusError(err)
	}
	resp := &arbiterpb.DecideBatchResponse{Results: make([]*arbiterpb.DecisionResult, len(req.GetItems()))}
	var wg sync.WaitGroup
	for i, item := range req.GetItems() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp.Results[i] = s.a.decideItem(ctx, req.GetTerm(), item)
		}()
	}
	wg.Wait()
	return resp, nil
}

// PrepareBatch handles many Prepare requests after one authorization
// check. Items run concurrently (each under its transaction's lock), so
// their durable writes can share fsyncs; each gets its own result.
func (s *service[T]) PrepareBatch(ctx context.Context, req *arbiterpb.PrepareBatchRequest) (*arbiterpb.PrepareBatchResponse, error) {
	if err := s.a.authorize(ctx, "PrepareBatch", security.RoleCoordinator); err != nil {
		return nil, err
	}
	if n := len(req.GetItems()); n == 0 || n > maxBatchItems {
		return nil, status.Errorf(codes.InvalidArgument, "a batch needs 1 to %d items, got %d", maxBatchItems, n)
	}
	resp := &arbiterpb.PrepareBatchResponse{Results: make([]*arbiterpb.PrepareResult, len(req.GetItems()))}
	var wg sync.WaitGroup
	for i, item := range req.GetItems() {
		wg.Go(func() {
			r, err := s.a.prepareOne(ctx, item)
			res := &arbiterpb.PrepareResult{Response: r}
			if err != nil {
				st := status.Convert(err)
				res.Code, res.Message = int32(st.Code()), st.Message()
			}
			resp.Results[i] = res
		})
	}
	wg.Wait()
	return resp, nil
}

// decideItem applies one decision of a batch; the batch's term is checked
// again under the item's lock (applyFenced).
func (a *Agent[T]) decideItem(ctx context.Context, term uint64, item *arbiterpb.DecisionItem) *arbiterpb.DecisionResult {
	res := &arbiterpb.DecisionResult{TxId: item.GetTxId()}
	var err error
	switch {
	case item.GetTxId() == "":
		err = status.Error(codes.InvalidArgument, "tx_id is required")
	case item.GetOutcome() == arbiterpb.Outcome_OUTCOME_COMMIT:
		err = a.applyFenced(ctx, item.GetTxId(), term, a.commitLocked)
	case item.GetOutcome() == arbiterpb.Outcome_OUTCOME_ABORT:
		err = a.applyFenced(ctx, item.GetTxId(), term, a.abortLocked)
	default:
		err = status.Errorf(codes.InvalidArgument, "outcome %v: want COMMIT or ABORT", item.GetOutcome())
	}
	if err != nil {
		st := status.Convert(StatusError(err))
		res.Code, res.Message = int32(st.Code()), st.Message()
	}
	return res
}
