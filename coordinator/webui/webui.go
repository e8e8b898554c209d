package webui

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// Source is what the page reads: the Coordinator's two read-only admin RPCs.
// *coordinator.Coordinator satisfies it. Both calls must be safe for
// concurrent use and must not block longer than ctx allows.
type Source interface {
	Cluster(ctx context.Context, req *arbiterpb.ClusterRequest) (*arbiterpb.ClusterResponse, error)
	ListTransactions(ctx context.Context, req *arbiterpb.ListTransactionsRequest) (*arbiterpb.ListTransactionsResponse, error)
}

// RequestTimeout bounds each call to the Source.
const RequestTimeout = 2 * time.Second

//go:embed static
var static embed.FS

// server is the handler's state: the source, the logger and the sample ring.
type server struct {
	src     Source
	log     *zap.Logger
	samples *ring
	now     func() time.Time
}

// Handler returns the status page and its JSON endpoints. Mount it at the
// root or under a prefix with http.StripPrefix: every URL in the page is
// relative. Only GET and HEAD are allowed.
func Handler(src Source, logger *zap.Logger) http.Handler {
	return newServer(src, logger, time.Now).routes()
}

func newServer(src Source, logger *zap.Logger, now func() time.Time) *server {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &server{src: src, log: logger, samples: newRing(ringSize), now: now}
}

func (s *server) routes() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(sub))
	mux.HandleFunc("/api/status", s.status)
	mux.HandleFunc("/api/transactions", s.transactions)
	return readOnly(mux)
}

// readOnly rejects every method but GET and HEAD and sets the security
// headers every response carries.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the status page is read-only: use GET", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSON sends v, or a 503 with {"error": ...} when err is set.
func (s *server) writeJSON(w http.ResponseWriter, what string, v any, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		s.log.Warn("status page: source failed", zap.String("endpoint", what), zap.Error(err))
		w.WriteHeader(http.StatusServiceUnavailable)
		v = map[string]string{"error": err.Error()}
	}
	if eerr := json.NewEncoder(w).Encode(v); eerr != nil {
		s.log.Debug("status page: write failed", zap.String("endpoint", what), zap.Error(eerr))
	}
}
