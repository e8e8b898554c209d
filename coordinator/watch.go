package coordinator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"github.com/arbiter-tx/arbiter/raftlog"
)

// Watch streams the decisions this node has applied (raftlog's retained
// history, then each new one as it is applied), in log order, from the
// request's cursor. It never forwards: every node serves its own applied
// state, so watchers spread over followers. See watchStream for the
// buffering and the cut-off of a slow watcher.
func (c *Coordinator) Watch(req *arbiterpb.WatchRequest, stream grpc.ServerStreamingServer[arbiterpb.WatchResponse]) error {
	ctx := stream.Context()
	select {
	case <-c.watchEnd:
		return watchStatus(errWatchEnded)
	default:
	}
	filter, err := c.watchFilter(ctx, req.GetFilter())
	if err != nil {
		return err
	}
	from := raftlog.Cursor{Index: req.GetFromIndex(), Position: req.GetFromPosition()}
	if _, _, _, err := c.node.FSM().DecisionsFrom(from, 1); err != nil {
		return watchStatus(err)
	}
	c.cfg.Metrics.watcherStarted()
	defer c.cfg.Metrics.watcherEnded()
	w := &watchStream{fsm: c.node.FSM(), filter: filter, batch: c.cfg.WatchBatch,
		out: make(chan *arbiterpb.WatchResponse, c.cfg.WatchBuffer), ended: c.watchEnd, stall: c.cfg.WatchStall,
		onSlow: func(slow *slowWatcher) {
			c.cfg.Metrics.watcherDropped("slow")
			c.log.Info("slow watcher cut off", zap.Uint64("next-index", slow.next.Index), zap.Int("buffer", c.cfg.WatchBuffer))
		}}
	return watchStatus(w.run(ctx, from, stream.Send))
}

// EndWatches ends every Watch stream (UNAVAILABLE: watchers resume on
// another node) and refuses new ones. Call it before grpc's GracefulStop,
// which otherwise waits for the streams, which never end by themselves;
// Close calls it too.
func (c *Coordinator) EndWatches() {
	c.endWatches.Do(func() { close(c.watchEnd) })
}

// watchFilter validates the filter and applies the caller's rights to it:
// a client watches only the transactions it began and a participant only
// those that name it (the filter is narrowed to them, and a filter naming
// another is refused); admins and member coordinators watch everything.
// Without TLS (--insecure) there is no identity and nothing is narrowed.
func (c *Coordinator) watchFilter(ctx context.Context, f *arbiterpb.WatchFilter) (*arbiterpb.WatchFilter, error) {
	f = cloneFilter(f)
	if err := validateFilter(f); err != nil {
		return nil, toStatus(err)
	}
	caller, ok := security.CallerFrom(ctx)
	if !ok || caller.Is(security.RoleAdmin, security.RoleCoordinator) {
		return f, nil
	}
	narrow := func(field *string, own, what string) error {
		if *field != "" && *field != own {
			return status.Errorf(codes.PermissionDenied, "%s may watch only decisions %s %q, not %q: leave the %s filter empty or name yourself",
				caller, what, own, *field, what)
		}
		*field = own
		return nil
	}
	switch caller.Role {
	case security.RoleClient:
		return f, narrow(&f.ClientId, caller.ID, "of client")
	case security.RoleParticipant:
		return f, narrow(&f.ParticipantId, caller.ID, "naming participant")
	}
	return nil, status.Errorf(codes.PermissionDenied, "%s may not watch decisions (allowed roles: client, participant, admin)", caller)
}

func cloneFilter(f *arbiterpb.WatchFilter) *arbiterpb.WatchFilter {
	if f == nil {
		return &arbiterpb.WatchFilter{}
	}
	return &arbiterpb.WatchFilter{ParticipantId: f.GetParticipantId(), ClientId: f.GetClientId(), Outcome: f.GetOutcome()}
}

func validateFilter(f *arbiterpb.WatchFilter) error {
	switch f.GetOutcome() {
	case arbiterpb.Outcome_OUTCOME_UNKNOWN, arbiterpb.Outcome_OUTCOME_COMMIT, arbiterpb.Outcome_OUTCOME_ABORT:
	default:
		return fmt.Errorf("%w: filter.outcome %d: use OUTCOME_COMMIT, OUTCOME_ABORT, or OUTCOME_UNKNOWN for both", ErrInvalid, f.GetOutcome())
	}
	if len(f.GetParticipantId()) > maxIDLen || len(f.GetClientId()) > maxIDLen {
		return fmt.Errorf("%w: filter IDs are at most %d bytes", ErrInvalid, maxIDLen)
	}
	return nil
}

// matches reports whether e passes the filter.
func matches(f *arbiterpb.WatchFilter, e *arbiterpb.DecisionEvent) bool {
	if f.GetOutcome() != arbiterpb.Outcome_OUTCOME_UNKNOWN && e.GetOutcome() != f.GetOutcome() {
		return false
	}
	if f.GetClientId() != "" && e.GetClientId() != f.GetClientId() {
		return false
	}
	p := f.GetParticipantId()
	return p == "" || slices.Contains(e.GetParticipants(), p) || slices.Contains(e.GetReadOnly(), p)
}

// watchStatus maps a watch's end to its status: a compacted start names
// the oldest cursor available (reason DECISIONS_COMPACTED), a slow
// watcher where to resume (reason WATCHER_TOO_SLOW).
func watchStatus(err error) error {
	var ce *raftlog.CompactedError
	var slow *slowWatcher
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return withInfo(status.New(codes.FailedPrecondition, err.Error()), "DECISIONS_COMPACTED", ce.Oldest)
	case errors.As(err, &slow):
		return withInfo(status.New(codes.ResourceExhausted, err.Error()), "WATCHER_TOO_SLOW", slow.next)
	case errors.Is(err, errWatchEnded):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return toStatus(err)
}

func withInfo(st *status.Status, reason string, c raftlog.Cursor) error {
	key := "next"
	if reason == "DECISIONS_COMPACTED" {
		key = "oldest"
	}
	info := &errdetails.ErrorInfo{Reason: reason, Domain: "arbiter", Metadata: map[string]string{
		key + "-index": strconv.FormatUint(c.Index, 10), key + "-position": strconv.FormatUint(uint64(c.Position), 10)}}
	if d, err := st.WithDetails(info); err == nil {
		return d.Err()
	}
	return st.Err()
}
