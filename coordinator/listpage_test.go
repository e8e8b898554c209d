package coordinator_test

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// listPages reads a whole listing with pages of limit, calling between
// after each page but the last; it fails the test past 100 pages.
func listPages(ctx context.Context, t *testing.T, cli arbiterpb.CoordinatorClient, limit int32, between func(page int)) []*arbiterpb.TxInfo {
	t.Helper()
	var out []*arbiterpb.TxInfo
	token := ""
	for page := 1; ; page++ {
		resp, err := cli.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: limit, PageToken: token})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if len(resp.GetTxs()) > int(limit) || (resp.GetNextPageToken() != "" && len(resp.GetTxs()) != int(limit)) {
			t.Fatalf("page %d: %d transactions with next_page_token %q, limit %d", page, len(resp.GetTxs()), resp.GetNextPageToken(), limit)
		}
		out = append(out, resp.GetTxs()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
		if page > 100 {
			t.Fatal("more than 100 pages: the listing does not end")
		}
		between(page)
	}
}

// Paging with a limit of 3 lists every open transaction exactly once, in
// begin order, while transactions begin and finish between pages; one that
// finishes is the last of a page, so the next page starts from a
// transaction the table no longer holds.
func TestListTransactionsPages(t *testing.T) {
	c := newTestCluster(t)
	leader := c.waitLeader()
	ctx := ctxT(t, 60*time.Second)
	sdk := c.client()
	var begun []string
	begin := func() {
		tx, err := sdk.Begin(ctx, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		begun = append(begun, tx)
	}
	for range 10 {
		begin()
	}
	adm := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleAdmin, "ops"))
	gone := ""
	txs := listPages(ctx, t, adm, 3, func(page int) {
		if page != 1 {
			return
		}
		begin()
		begin()
		gone = begun[2] // the last of page 1
		if _, err := sdk.Abort(ctx, gone); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the aborted transaction leaves the table", func() bool {
			return mustGet(t, leader, gone).GetFinished()
		})
	})
	if !slices.Equal(txIDs(txs), begun) { // the aborted one was listed on page 1, before it went
		t.Fatalf("listing %v, want %v", txIDs(txs), begun)
	}
}

// A page token from one node continues the listing on another; a token
// that is not one a node issued, or a negative limit, is refused with
// InvalidArgument and says how to recover.
func TestListTransactionsTokens(t *testing.T) {
	c := newTestCluster(t)
	leader, follower := c.waitLeader(), c.follower()
	ctx := ctxT(t, 30*time.Second)
	sdk := c.client()
	var begun []string
	for range 4 {
		tx, err := sdk.Begin(ctx, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		begun = append(begun, tx)
	}
	waitFor(t, 10*time.Second, "the follower applies every Begin", func() bool {
		_, ok := follower.node.FSM().Get(begun[3])
		return ok
	})
	onLeader := arbiterpb.NewCoordinatorClient(c.dial(c.members[leader.id], security.RoleAdmin, "ops"))
	onFollower := arbiterpb.NewCoordinatorClient(c.dial(c.members[follower.id], security.RoleAdmin, "ops"))
	first, err := onLeader.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: 2})
	if err != nil || !slices.Equal(txIDs(first.GetTxs()), begun[:2]) || first.GetNextPageToken() == "" {
		t.Fatalf("first page %v (next %q), %v; want %v", txIDs(first.GetTxs()), first.GetNextPageToken(), err, begun[:2])
	}
	second, err := onFollower.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: 2, PageToken: first.GetNextPageToken()})
	if err != nil || !slices.Equal(txIDs(second.GetTxs()), begun[2:]) || second.GetNextPageToken() != "" {
		t.Fatalf("second page on a follower %v (next %q), %v; want %v and the end", txIDs(second.GetTxs()), second.GetNextPageToken(), err, begun[2:])
	}
	for _, tok := range []string{
		"not base64!",
		base64.RawURLEncoding.EncodeToString([]byte("garbage")),
		base64.RawURLEncoding.EncodeToString([]byte("2:5:tx")),  // a later format
		base64.RawURLEncoding.EncodeToString([]byte("1:-5:tx")), // not an index
		base64.RawURLEncoding.EncodeToString([]byte("1:5:")),    // no ID
		first.GetNextPageToken() + "=",
	} {
		for _, cli := range []arbiterpb.CoordinatorClient{onLeader, onFollower} {
			_, err := cli.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{PageToken: tok})
			wantCode(t, "page_token "+tok, err, codes.InvalidArgument, "restart the listing without a page_token")
		}
	}
	_, err = onLeader.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: -1})
	wantCode(t, "limit -1", err, codes.InvalidArgument, "pass 0 for the default page size")
	all, err := onLeader.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: 1 << 30}) // capped, not refused
	if err != nil || !slices.Equal(txIDs(all.GetTxs()), begun) || all.GetNextPageToken() != "" {
		t.Fatalf("limit 2^30: %v (next %q), %v", txIDs(all.GetTxs()), all.GetNextPageToken(), err)
	}
}

func txIDs(txs []*arbiterpb.TxInfo) []string {
	var out []string
	for _, tx := range txs {
		out = append(out, tx.GetTxId())
	}
	return out
}
