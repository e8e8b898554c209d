package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// fakePages serves n transactions in pages of size, with tokens "p1",
// "p2", ...; every third transaction includes participant bank2.
func fakePages(t *testing.T, n, size int) (fetchPage, *[]string) {
	var tokens []string
	return func(_ context.Context, token string) (txPage, error) {
		tokens = append(tokens, token)
		start := 0
		if token != "" {
			if _, err := fmt.Sscanf(token, "p%d", &start); err != nil {
				t.Fatalf("bad token %q", token)
			}
		}
		var page txPage
		for i := start; i < min(start+size, n); i++ {
			parts := []string{"bank1"}
			if i%3 == 0 {
				parts = append(parts, "bank2")
			}
			page.txs = append(page.txs, &arbiterpb.TxInfo{TxId: fmt.Sprint("tx", i), Participants: parts})
		}
		if start+size < n {
			page.next = fmt.Sprint("p", start+size)
		}
		return page, nil
	}, &tokens
}

func bank2(txs []*arbiterpb.TxInfo) []*arbiterpb.TxInfo {
	return txFilter{participant: "bank2"}.apply(txs, txNow)
}

// Every page is read in order with the previous page's token, the filter
// applies to each, and --progress reports a line per page.
func TestListAllPagesWithProgress(t *testing.T) {
	fetch, tokens := fakePages(t, 25, 10)
	var prog, warn bytes.Buffer
	txs, err := listAll(context.Background(), fetch, 25, bank2, &progress{w: &prog, always: true}, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 9 || txs[0].GetTxId() != "tx0" || txs[8].GetTxId() != "tx24" {
		t.Errorf("kept %d: %s", len(txs), ids(txs))
	}
	if got := strings.Join(*tokens, ","); got != ",p10,p20" {
		t.Errorf("tokens %q", got)
	}
	want := "listed 10/25 transactions…\nlisted 20/25 transactions…\nlisted 25/25 transactions…, done\n"
	if prog.String() != want || warn.Len() != 0 {
		t.Errorf("progress %q, warnings %q", prog.String(), warn.String())
	}
}

// On a terminal one line is rewritten in place and erased at the end; a
// one-page listing shows nothing.
func TestListAllProgressOnTerminal(t *testing.T) {
	fetch, _ := fakePages(t, 15, 10)
	var prog bytes.Buffer
	if _, err := listAll(context.Background(), fetch, 0, bank2, &progress{w: &prog, tty: true}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if want := "\rlisted 10 transactions…\033[K\r\033[K"; prog.String() != want {
		t.Errorf("progress %q, want %q", prog.String(), want)
	}
	prog.Reset()
	fetch, _ = fakePages(t, 5, 10)
	if _, err := listAll(context.Background(), fetch, 5, bank2, &progress{w: &prog, tty: true}, &bytes.Buffer{}); err != nil || prog.Len() != 0 {
		t.Errorf("one page on a terminal: %q %v", prog.String(), err)
	}
}

// A server that returns one full page of a larger table: the listing says
// what it left out.
func TestListAllWarnsWhenTruncated(t *testing.T) {
	fetch, _ := fakePages(t, listPageSize, listPageSize)
	var warn bytes.Buffer
	txs, err := listAll(context.Background(), fetch, 150000, bank2, &progress{w: &bytes.Buffer{}}, &warn)
	if err != nil || len(txs) != (listPageSize+2)/3 {
		t.Fatalf("%d kept, %v", len(txs), err)
	}
	if !strings.Contains(warn.String(), "listed the first 10000 of about 150000 open transactions") {
		t.Errorf("warning %q", warn.String())
	}
}

func TestListAllStopsOnError(t *testing.T) {
	fetch, _ := fakePages(t, 30, 10)
	boom := errors.New("unavailable")
	calls := 0
	failing := func(ctx context.Context, token string) (txPage, error) {
		if calls++; calls == 2 {
			return txPage{}, boom
		}
		return fetch(ctx, token)
	}
	if _, err := listAll(context.Background(), failing, 30, bank2, &progress{w: &bytes.Buffer{}}, &bytes.Buffer{}); !errors.Is(err, boom) {
		t.Fatalf("err %v, want %v", err, boom)
	}
}

// fakeLister is a Coordinator that serves ListTransactions from fakePages
// and records each request.
type fakeLister struct {
	arbiterpb.CoordinatorClient // nil: any other call panics
	fetch                       fetchPage
	reqs                        []*arbiterpb.ListTransactionsRequest
}

func (f *fakeLister) ListTransactions(ctx context.Context, req *arbiterpb.ListTransactionsRequest, _ ...grpc.CallOption) (*arbiterpb.ListTransactionsResponse, error) {
	f.reqs = append(f.reqs, req)
	page, err := f.fetch(ctx, req.GetPageToken())
	return &arbiterpb.ListTransactionsResponse{Txs: page.txs, NextPageToken: page.next}, err
}

// rpcPages sends the server's page size limit and each next_page_token,
// and the listing ends on the first empty one.
func TestRPCPagesFollowsTokens(t *testing.T) {
	fetch, _ := fakePages(t, 25, 10)
	srv := &fakeLister{fetch: fetch}
	txs, err := listAll(context.Background(), rpcPages(srv), 25, bank2, &progress{w: &bytes.Buffer{}}, &bytes.Buffer{})
	if err != nil || len(txs) != 9 {
		t.Fatalf("kept %d, %v", len(txs), err)
	}
	var tokens []string
	for _, r := range srv.reqs {
		if r.GetLimit() != listPageSize {
			t.Errorf("limit %d, want %d", r.GetLimit(), listPageSize)
		}
		tokens = append(tokens, r.GetPageToken())
	}
	if got := strings.Join(tokens, ","); got != ",p10,p20" {
		t.Errorf("page tokens sent %q", got)
	}
}

// A paged listing that ends short of the table size it started with
// (transactions finished meanwhile) is no truncation: no warning.
func TestListAllPagedShortOfTotalDoesNotWarn(t *testing.T) {
	fetch, _ := fakePages(t, 2*listPageSize+5, listPageSize)
	var warn bytes.Buffer
	txs, err := listAll(context.Background(), fetch, 3*listPageSize, bank2, &progress{w: &bytes.Buffer{}}, &warn)
	if err != nil || len(txs) != (2*listPageSize+5+2)/3 {
		t.Fatalf("%d kept, %v", len(txs), err)
	}
	if warn.Len() != 0 {
		t.Errorf("warning %q", warn.String())
	}
}
