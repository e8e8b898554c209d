package participant

import (
	"context"
	"fmt"
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
// and changes nothing; each item checks the term again under its lock. A
// tx_id named twice is refused in every item that names it (duplicates).
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
	dups := duplicates(req.GetItems(), (*arbiterpb.DecisionItem).GetTxId)
	var wg sync.WaitGroup
	for i, item := range req.GetItems() {
		if n := dups[item.GetTxId()]; n > 1 {
			resp.Results[i] = &arbiterpb.DecisionResult{TxId: item.GetTxId(), Code: int32(codes.InvalidArgument), Message: duplicateMessage(item.GetTxId(), n)}
			continue
		}
		wg.Go(func() { resp.Results[i] = s.a.decideItem(ctx, req.GetTerm(), item) })
	}
	wg.Wait()
	return resp, nil
}

// PrepareBatch handles many Prepare requests after one authorization
// check. Items run concurrently (each under its transaction's lock), so
// their durable writes can share fsyncs; each gets its own result. A tx_id
// named twice is refused in every item that names it (duplicates).
func (s *service[T]) PrepareBatch(ctx context.Context, req *arbiterpb.PrepareBatchRequest) (*arbiterpb.PrepareBatchResponse, error) {
	if err := s.a.authorize(ctx, "PrepareBatch", security.RoleCoordinator); err != nil {
		return nil, err
	}
	if n := len(req.GetItems()); n == 0 || n > maxBatchItems {
		return nil, status.Errorf(codes.InvalidArgument, "a batch needs 1 to %d items, got %d", maxBatchItems, n)
	}
	resp := &arbiterpb.PrepareBatchResponse{Results: make([]*arbiterpb.PrepareResult, len(req.GetItems()))}
	dups := duplicates(req.GetItems(), (*arbiterpb.PrepareRequest).GetTxId)
	var wg sync.WaitGroup
	for i, item := range req.GetItems() {
		if n := dups[item.GetTxId()]; n > 1 {
			resp.Results[i] = &arbiterpb.PrepareResult{Code: int32(codes.InvalidArgument), Message: duplicateMessage(item.GetTxId(), n)}
			continue
		}
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
	switch verr := validTxID(item.GetTxId()); {
	case verr != nil:
		err = verr
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

// duplicates counts the items of each tx_id named more than once. Such an
// item is refused with INVALID_ARGUMENT and nothing is done for its ID: a
// second Prepare would vote without running its payload, and COMMIT x
// with ABORT x would both "apply" in some order. The other items run.
func duplicates[I any](items []I, id func(I) string) map[string]int {
	seen := make(map[string]int, len(items))
	for _, item := range items {
		seen[id(item)]++
	}
	for k, n := range seen {
		if n < 2 {
			delete(seen, k)
		}
	}
	return seen
}

func duplicateMessage(txID string, n int) string {
	return fmt.Sprintf("tx_id %q appears %d times in this batch: a batch names each transaction once; nothing was done for it", txID, n)
}
