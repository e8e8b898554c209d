package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// tlsFlags are the mutual-TLS flags every subcommand that talks gRPC takes.
type tlsFlags struct {
	cert, key, ca string
	insecure      bool
	stderr        io.Writer // where a CLI command (no logger) warns; nil: os.Stderr
}

func (t *tlsFlags) register(fs *pflag.FlagSet, identity string) {
	fs.StringVar(&t.cert, "tls-cert", "", "PEM certificate whose URI SAN names this process ("+identity+"); reloaded on SIGHUP")
	fs.StringVar(&t.key, "tls-key", "", "PEM private key of --tls-cert; reloaded on SIGHUP")
	fs.StringVar(&t.ca, "tls-ca", "", "PEM CA certificate every peer's certificate must chain to; reloaded on SIGHUP")
	fs.BoolVar(&t.insecure, "insecure", false, "use plaintext gRPC and Raft with no authentication (development only; logs a warning)")
}

// load returns the certificate source, or nil with --insecure, which it
// warns about: in log for a server, on stderr for a CLI command (log nil).
func (t *tlsFlags) load(log *zap.Logger) (*security.Source, error) {
	if !t.insecure {
		return security.Load(t.cert, t.key, t.ca)
	}
	if t.cert != "" || t.key != "" || t.ca != "" {
		return nil, errors.New("--insecure and --tls-cert/--tls-key/--tls-ca are mutually exclusive")
	}
	t.warnInsecure(log)
	return nil, nil
}

func (t *tlsFlags) warnInsecure(log *zap.Logger) {
	if log != nil {
		log.Warn("running WITHOUT TLS (--insecure): traffic is plaintext and no caller is authenticated or authorized")
		return
	}
	w := t.stderr
	if w == nil {
		w = os.Stderr
	}
	_, _ = fmt.Fprintln(w, "arbiter: warning: --insecure: plaintext gRPC; the coordinators are not authenticated and nothing sent is protected (development only)")
}

// watch reloads src on SIGHUP until ctx ends (nothing with --insecure).
func watch(ctx context.Context, src *security.Source, log *zap.Logger) {
	if src != nil {
		src.WatchSIGHUP(ctx, log)
	}
}
