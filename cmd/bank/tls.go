package main

import (
	"errors"
	"flag"
	"os"
	"strconv"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/security"
)

// tlsFlags are the mutual-TLS flags; each defaults to its ARBITER_* variable.
type tlsFlags struct {
	cert, key, ca   string
	insecure        bool
	maxMessageBytes int
}

func (t *tlsFlags) register() {
	insecure, _ := strconv.ParseBool(os.Getenv("ARBITER_INSECURE"))
	flag.StringVar(&t.cert, "tls-cert", os.Getenv("ARBITER_TLS_CERT"), "PEM certificate naming arbiter://participant/<id> (env ARBITER_TLS_CERT); reloaded on SIGHUP")
	flag.StringVar(&t.key, "tls-key", os.Getenv("ARBITER_TLS_KEY"), "PEM key of --tls-cert (env ARBITER_TLS_KEY); reloaded on SIGHUP")
	flag.StringVar(&t.ca, "tls-ca", os.Getenv("ARBITER_TLS_CA"), "PEM CA certificate peers must chain to (env ARBITER_TLS_CA); reloaded on SIGHUP")
	flag.BoolVar(&t.insecure, "insecure", insecure, "plaintext gRPC, no authentication (development only; env ARBITER_INSECURE)")
	flag.IntVar(&t.maxMessageBytes, "max-message-bytes", 8<<20, "largest gRPC request accepted")
}

// load returns the certificate source, or nil with --insecure.
func (t *tlsFlags) load(log *zap.Logger) (*security.Source, error) {
	if !t.insecure {
		return security.Load(t.cert, t.key, t.ca)
	}
	if t.cert != "" || t.key != "" || t.ca != "" {
		return nil, errors.New("--insecure and --tls-cert/--tls-key/--tls-ca are mutually exclusive")
	}
	log.Warn("running WITHOUT TLS (--insecure): traffic is plaintext and no caller is authenticated or authorized")
	return nil, nil
}
