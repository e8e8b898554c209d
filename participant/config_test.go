package participant_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/internal/security"
	"github.com/arbiter-tx/arbiter/internal/security/sectest"
	"github.com/arbiter-tx/arbiter/participant"
)

// validConfig is DefaultConfig with the required fields filled in, over
// mutual TLS.
func validConfig(t *testing.T) participant.Config {
	c := participant.DefaultConfig()
	c.ID, c.Address, c.Coordinators = "p1", "127.0.0.1:1", []string{"127.0.0.1:2"}
	c.TLS = sectest.New(t).Source(security.RoleParticipant, "p1")
	return c
}

// One row per rule (want names the field and the error's hint), then edge
// rows that pass (want empty).
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*participant.Config)
		want string
	}{
		{"no ID", func(c *participant.Config) { c.ID = "" }, "ID is required"},
		{"no Address", func(c *participant.Config) { c.Address = "" }, "Address is required"},
		{"no Coordinators", func(c *participant.Config) { c.Coordinators = nil }, "Coordinators: at least one"},
		{"an empty coordinator", func(c *participant.Config) { c.Coordinators = append(c.Coordinators, "") }, "Coordinators[1] is empty"},
		{"ResolveInterval 0", func(c *participant.Config) { c.ResolveInterval = 0 }, "ResolveInterval 0s must be positive"},
		{"RPCTimeout negative", func(c *participant.Config) { c.RPCTimeout = -time.Second }, "RPCTimeout -1s must be positive"},
		{"ProbeInterval 0", func(c *participant.Config) { c.ProbeInterval = 0 }, "ProbeInterval 0s and ProbeTimeout 200ms must be positive"},
		{"ProbeTimeout negative", func(c *participant.Config) { c.ProbeTimeout = -1 }, "ProbeTimeout -1ns must be positive"},
		{"ProbeFailures 0", func(c *participant.Config) { c.ProbeFailures = 0 }, "ProbeFailures 0 must be at least 1"},
		{"FallbackDeadline 0", func(c *participant.Config) { c.FallbackDeadline = 0 }, "FallbackDeadline 0s must be positive"},
		{"MaxMessageBytes 0", func(c *participant.Config) { c.MaxMessageBytes = 0 }, "MaxMessageBytes 0 must be positive"},
		{"OutcomeRetention negative", func(c *participant.Config) { c.OutcomeRetention = -time.Minute }, "OutcomeRetention -1m0s must not be negative"},
		{"OutcomePruneInterval negative", func(c *participant.Config) { c.OutcomePruneInterval = -1 }, "OutcomePruneInterval -1ns must not be negative"},
		{"neither TLS nor Insecure", func(c *participant.Config) { c.TLS = nil }, "TLS is nil"},
		{"both TLS and Insecure", func(c *participant.Config) { c.Insecure = true }, "mutually exclusive"},

		{"defaults with TLS", func(*participant.Config) {}, ""},
		{"Insecure without TLS", func(c *participant.Config) { c.TLS, c.Insecure = nil, true }, ""},
		{"smallest positive values", func(c *participant.Config) {
			c.ResolveInterval, c.RPCTimeout, c.FallbackDeadline, c.MaxMessageBytes = 1, 1, 1, 1
			c.ProbeInterval, c.ProbeTimeout, c.ProbeFailures = 1, 1, 1
		}, ""},
		{"retention and pruning 0", func(c *participant.Config) { c.OutcomeRetention, c.OutcomePruneInterval = 0, 0 }, ""},
		{"several coordinators", func(c *participant.Config) { c.Coordinators = []string{"a:1", "b:2", "c:3"} }, ""},
	} {
		c := validConfig(t)
		tc.mut(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// Every field is checked: one error per bad setting, joined.
func TestConfigValidateReportsEveryField(t *testing.T) {
	var c participant.Config // zero: no defaults, nothing required set
	c.OutcomeRetention = -1
	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate() = %v, want joined per-field errors", err)
	}
	if n := len(joined.Unwrap()); n != 11 {
		t.Fatalf("Validate() reported %d errors, want 11 (ID, Address, Coordinators, ResolveInterval, RPCTimeout, ProbeInterval/ProbeTimeout, ProbeFailures, FallbackDeadline, OutcomeRetention, TLS, MaxMessageBytes): %v", n, err)
	}
	if !strings.HasPrefix(err.Error(), "participant: invalid config: ") {
		t.Fatalf("Validate() = %q, want the package prefix", err)
	}
}
