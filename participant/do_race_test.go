package participant_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/client"
	"github.com/arbiter-tx/arbiter/internal/fakecoord"
	"github.com/arbiter-tx/arbiter/participant"
	"github.com/arbiter-tx/arbiter/participant/embedded"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// brokenPrepare is a Resource whose Prepare makes the work durable and then
// fails, as the PostgreSQL adapter's does when the connection breaks during
// PREPARE TRANSACTION. It signals durable, then holds the failure until
// release is closed. With failAborts set, Abort fails too.
type brokenPrepare struct {
	participant.Resource[*embedded.Tx]
	durable, release chan struct{}
	failAborts       atomic.Bool
}

func newBrokenPrepare() *brokenPrepare {
	return &brokenPrepare{durable: make(chan struct{}), release: make(chan struct{})}
}

func (b *brokenPrepare) wrap(s *embedded.Store) participant.Resource[*embedded.Tx] {
	b.Resource = s
	return b
}

func (b *brokenPrepare) Prepare(ctx context.Context, txID string, tx *embedded.Tx, deadline time.Time) error {
	if err := b.Resource.Prepare(ctx, txID, tx, deadline); err != nil {
		return err
	}
	close(b.durable)
	<-b.release
	return errors.New("connection broken after PREPARE TRANSACTION")
}

func (b *brokenPrepare) Abort(ctx context.Context, txID string) error {
	if b.failAborts.Load() {
		return errors.New("disk unavailable")
	}
	return b.Resource.Abort(ctx, txID)
}

func putA(ctx context.Context, tx *embedded.Tx) error { return tx.Put(ctx, "a", []byte("1")) }

// Do's local Prepare makes the work durable and then fails. A coordinator
// Prepare and a Refuse that arrive meanwhile wait on the transaction's lock;
// whatever order they get it in, none may answer yes/PREPARED for work that
// Do then aborts: the prepare outcome, the tombstone and the answers are
// decided under one hold of the lock.
func TestDoFailedPrepareNeverVotesYes(t *testing.T) {
	b := newBrokenPrepare()
	n := startNodeWith(t, fakecoord.StartTLS(t), t.TempDir(), nodeSetup{wrap: b.wrap})
	doErr := make(chan error, 1)
	go func() { doErr <- n.agent.Do(client.WithTxID(bg, "svc"), putA) }()
	select {
	case <-b.durable:
	case <-time.After(5 * time.Second):
		t.Fatal("Do never reached its local prepare")
	}
	var wg sync.WaitGroup
	var vote *arbiterpb.PrepareResponse
	var refused *arbiterpb.RefuseResponse
	var perr, rerr error
	wg.Go(func() {
		vote, perr = n.pc.Prepare(bg, &arbiterpb.PrepareRequest{TxId: "svc", Term: 1,
			DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()})
	})
	wg.Go(func() { refused, rerr = n.pc.Refuse(bg, &arbiterpb.RefuseRequest{TxId: "svc", Term: 1}) })
	eventually(t, "Prepare and Refuse queued on the transaction's lock", func() bool {
		return participant.TxLockRefs(n.agent, "svc") == 3
	})
	close(b.release)
	wg.Wait()
	if err := <-doErr; err == nil {
		t.Fatal("Do succeeded although its prepare failed")
	}
	final := n.state(t, "svc")
	if perr != nil || rerr != nil {
		t.Fatalf("Prepare error %v, Refuse error %v", perr, rerr)
	}
	if vote.GetVote() == arbiterpb.Vote_VOTE_YES && final == participant.StateAborted {
		t.Errorf("coordinator Prepare voted yes, then Do aborted the work (final state %v)", final)
	}
	if refused.GetState() == arbiterpb.LocalState_LOCAL_STATE_PREPARED && final == participant.StateAborted {
		t.Errorf("Refuse answered PREPARED, then Do aborted the work (final state %v)", final)
	}
	if vote.GetVote() != arbiterpb.Vote_VOTE_NO || refused.GetState() != arbiterpb.LocalState_LOCAL_STATE_REFUSED || final != participant.StateAborted {
		t.Errorf("vote %v, Refuse %v, final state %v; want no, REFUSED, aborted", vote.GetVote(), refused.GetState(), final)
	}
}

// Do's local Prepare makes the work durable and fails, and the abort
// tombstone cannot be written either. Do must say so, and the agent must
// never vote yes on that work: it keeps retrying the abort and votes no
// once it is recorded.
func TestDoUnrecordedAbortNeverVotesYes(t *testing.T) {
	b := newBrokenPrepare()
	close(b.release)
	b.failAborts.Store(true)
	n := startNodeWith(t, fakecoord.StartTLS(t), t.TempDir(), nodeSetup{wrap: b.wrap})
	err := n.agent.Do(client.WithTxID(bg, "svc"), putA)
	if status.Code(err) != codes.Unknown || !strings.Contains(err.Error(), "abort is not recorded") {
		t.Fatalf("Do = %v, want codes.Unknown saying the abort is not recorded", err)
	}
	req := &arbiterpb.PrepareRequest{TxId: "svc", Term: 1, DeadlineUnixNanos: time.Now().Add(time.Minute).UnixNano()}
	if r, perr := n.pc.Prepare(bg, req); r.GetVote() == arbiterpb.Vote_VOTE_YES {
		t.Fatalf("coordinator Prepare voted yes (err %v) on work whose Do failed (%v)", perr, err)
	}
	b.failAborts.Store(false)
	eventually(t, "the abort to be recorded", func() bool { return n.state(t, "svc") == participant.StateAborted })
	if r := n.prepare(t, "svc", ""); r.GetVote() != arbiterpb.Vote_VOTE_NO {
		t.Fatalf("vote after the abort was recorded = %v", r.GetVote())
	}
}
