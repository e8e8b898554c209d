package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// listPageSize is the page `tx list` asks for: the server's maximum.
const listPageSize = 10000

// txPage is one page of a listing; next is empty on the last page.
type txPage struct {
	txs  []*arbiterpb.TxInfo
	next string
}

// fetchPage reads the page that starts at token ("" for the first).
type fetchPage func(ctx context.Context, token string) (txPage, error)

// rpcPages reads pages with ListTransactions: each request carries the
// previous page's next_page_token, and an empty one ends the listing.
func rpcPages(cli arbiterpb.CoordinatorClient) fetchPage {
	return func(ctx context.Context, token string) (txPage, error) {
		r, err := cli.ListTransactions(ctx, &arbiterpb.ListTransactionsRequest{Limit: listPageSize, PageToken: token})
		if err != nil {
			return txPage{}, err
		}
		return txPage{txs: r.GetTxs(), next: r.GetNextPageToken()}, nil
	}
}

// tableSize is the node's open transactions (undecided plus unfinished),
// the total a listing of it reaches; 0 when unknown.
func tableSize(ctx context.Context, cli arbiterpb.CoordinatorClient) int {
	r, err := cli.Cluster(ctx, &arbiterpb.ClusterRequest{})
	if err != nil {
		return 0
	}
	return int(r.GetActive() + r.GetUnfinished())
}

// listAll reads every page, keeps what filter returns of each, and reports
// progress after each page. total (0: unknown) is the expected number of
// transactions. A listing of one full page short of it comes from a server
// that does not page (older than next_page_token), and says so on warn; a
// paged listing may end short of it because transactions finished meanwhile.
func listAll(ctx context.Context, fetch fetchPage, total int, filter func([]*arbiterpb.TxInfo) []*arbiterpb.TxInfo,
	prog *progress, warn io.Writer) ([]*arbiterpb.TxInfo, error) {
	out := []*arbiterpb.TxInfo{}
	listed, pages := 0, 0
	for token := ""; ; {
		page, err := fetch(ctx, token)
		if err != nil {
			return nil, err
		}
		listed, pages = listed+len(page.txs), pages+1
		out = append(out, filter(page.txs)...)
		if page.next == "" {
			prog.done(listed, total)
			break
		}
		prog.update(listed, total)
		token = page.next
	}
	if pages == 1 && listed >= listPageSize && total > listed { // a full page and no token: a server without paging
		fmt.Fprintf(warn, "warning: listed the first %d of about %d open transactions: this server returns one page "+
			"and does not page further (upgrade it); filters apply to the listed ones only\n", listed, total)
	}
	return out, nil
}

// progress reports a long listing on stderr: always with --progress (a line
// per page), and on a terminal (one line rewritten in place, erased at the
// end) once the listing takes more than one page.
type progress struct {
	w      io.Writer
	always bool // --progress
	tty    bool // w is a terminal
	shown  bool
}

func newProgress(w *os.File, always bool) *progress {
	return &progress{w: w, always: always, tty: isTerminal(w)}
}

// update reports listed of total after a page that is not the last.
func (p *progress) update(listed, total int) {
	switch {
	case p.always && !p.tty:
		fmt.Fprintln(p.w, progressText(listed, total))
	case p.always || p.tty:
		fmt.Fprintf(p.w, "\r%s\033[K", progressText(listed, total))
		p.shown = true
	}
}

// done reports the end: a final line with --progress, else it erases the
// line a terminal showed.
func (p *progress) done(listed, total int) {
	switch {
	case p.always && !p.tty:
		fmt.Fprintln(p.w, progressText(listed, total)+", done")
	case p.always:
		fmt.Fprintf(p.w, "\r%s, done\033[K\n", progressText(listed, total))
	case p.shown:
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func progressText(listed, total int) string {
	if total > 0 {
		return fmt.Sprintf("listed %d/%d transactions…", listed, max(total, listed)) // the table may grow meanwhile
	}
	return fmt.Sprintf("listed %d transactions…", listed)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// listTimeout bounds a whole `tx list`, all pages included.
const listTimeout = 2 * time.Minute
