package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// --insecure warns: a server in its log, a CLI command on stderr. With TLS
// files nothing warns.
func TestInsecureWarns(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	var stderr bytes.Buffer
	f := tlsFlags{insecure: true, stderr: &stderr}
	if src, err := f.load(zap.New(core)); src != nil || err != nil {
		t.Fatalf("load(--insecure) = %v, %v", src, err)
	}
	if logs.FilterMessageSnippet("WITHOUT TLS (--insecure)").Len() != 1 || stderr.Len() != 0 {
		t.Fatalf("serve: want one log warning and nothing on stderr; logged %v, stderr %q", logs.All(), stderr.String())
	}
	if src, err := f.load(nil); src != nil || err != nil {
		t.Fatalf("load(--insecure) = %v, %v", src, err)
	}
	if !strings.Contains(stderr.String(), "warning: --insecure") {
		t.Fatalf("CLI: stderr %q, want the --insecure warning", stderr.String())
	}
	stderr.Reset()
	bad := tlsFlags{insecure: true, cert: "x.crt", stderr: &stderr}
	if _, err := bad.load(nil); err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Fatalf("--insecure with --tls-cert: %v", err)
	}
	if stderr.Len() != 0 {
		t.Fatalf("a refused flag combination warned: %q", stderr.String())
	}
}
