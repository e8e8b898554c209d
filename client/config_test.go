package client_test

import (
	"errors"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/client"
)

// Plaintext must be asked for: a Config without credentials (no
// DialOptions, or TLSDialOptions of no certificate) is refused unless it
// sets Insecure.
func TestNewRequiresCredentialsOrInsecure(t *testing.T) {
	addrs := []string{"127.0.0.1:1"}
	plain := grpc.WithTransportCredentials(insecure.NewCredentials())
	for _, tc := range []struct {
		name string
		cfg  client.Config
		want error
	}{
		{"nothing", client.Config{Addresses: addrs}, client.ErrNoCredentials},
		{"TLS without a certificate", client.Config{Addresses: addrs, DialOptions: client.TLSDialOptions(nil)}, client.ErrNoCredentials},
		{"no addresses", client.Config{Insecure: true}, client.ErrNoAddresses},
		{"Insecure", client.Config{Addresses: addrs, Insecure: true}, nil},
		{"Insecure with a tracing option", client.Config{Addresses: addrs, Insecure: true,
			DialOptions: []grpc.DialOption{client.TracingDialOption()}}, nil},
		{"explicit credentials", client.Config{Addresses: addrs, DialOptions: []grpc.DialOption{plain}}, nil},
	} {
		cli, err := client.New(tc.cfg)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: New err = %v, want %v", tc.name, err, tc.want)
		}
		if cli != nil {
			cli.Close()
		}
	}
}

// Options without credentials fail at New (gRPC refuses them), rather than
// dialing plaintext.
func TestNewRefusesOptionsWithoutCredentials(t *testing.T) {
	cfg := client.Config{Addresses: []string{"127.0.0.1:1"},
		DialOptions: append(client.TLSDialOptions(nil), client.TracingDialOption())}
	if cli, err := client.New(cfg); err == nil {
		cli.Close()
		t.Fatal("New accepted options that carry no transport credentials")
	}
}
