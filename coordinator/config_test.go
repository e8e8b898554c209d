package coordinator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/coordinator"
)

// One row per rule of Config.Validate: the setting alone is refused with
// one error that names its field and says what would work; the edge rows
// are accepted.
func TestConfigValidate(t *testing.T) {
	if err := coordinator.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		mut  func(*coordinator.Config)
		want string // "" means accepted
	}{
		{"MinTimeout zero", func(c *coordinator.Config) { c.MinTimeout = 0 }, "MinTimeout 0s must be positive"},
		{"DefaultTimeout under MinTimeout", func(c *coordinator.Config) { c.DefaultTimeout = 10 * time.Millisecond }, "DefaultTimeout 10ms must be at least MinTimeout 50ms"},
		{"MaxTimeout under DefaultTimeout", func(c *coordinator.Config) { c.MaxTimeout = time.Second }, "MaxTimeout 1s must be at least DefaultTimeout 5s"},
		{"UniquenessWindow equal to MaxTimeout", func(c *coordinator.Config) { c.UniquenessWindow = c.MaxTimeout }, "UniquenessWindow (10m0s) must exceed MaxTimeout (10m0s)"},
		{"RPCTimeout zero", func(c *coordinator.Config) { c.RPCTimeout = 0 }, "RPCTimeout 0s must be positive"},
		{"RetryMin zero", func(c *coordinator.Config) { c.RetryMin = 0 }, "RetryMin 0s must be positive"},
		{"RetryMax under RetryMin", func(c *coordinator.Config) { c.RetryMax = 10 * time.Millisecond }, "RetryMax 10ms must be at least RetryMin 20ms"},
		{"ScanInterval zero", func(c *coordinator.Config) { c.ScanInterval = 0 }, "ScanInterval 0s must be positive"},
		{"CatchUpTimeout zero", func(c *coordinator.Config) { c.CatchUpTimeout = 0 }, "CatchUpTimeout 0s must be positive"},
		{"ProbeTimeout zero", func(c *coordinator.Config) { c.ProbeTimeout = 0 }, "ProbeInterval 250ms and ProbeTimeout 0s must be positive"},
		{"ProbeFailures zero", func(c *coordinator.Config) { c.ProbeFailures = 0 }, "ProbeFailures 0 must be at least 1"},
		{"TransferRounds negative", func(c *coordinator.Config) { c.TransferRounds = -1 }, "TransferRounds -1 and TransferCooldown 10s must not be negative"},
		{"FinishDelay negative", func(c *coordinator.Config) { c.FinishDelay = -time.Millisecond }, "FinishDelay -1ms must not be negative"},
		{"MaxPayloadBytes zero", func(c *coordinator.Config) { c.MaxPayloadBytes = 0 }, "MaxPayloadBytes 0 must be positive"},
		{"MaxBranches zero", func(c *coordinator.Config) { c.MaxBranches = 0 }, "MaxBranches 0 must be positive"},
		{"MaxInFlight negative", func(c *coordinator.Config) { c.MaxInFlight = -1 }, "MaxInFlight -1 must not be negative (0: no limit)"},
		{"MaxMessageBytes zero", func(c *coordinator.Config) { c.MaxMessageBytes = 0 }, "MaxMessageBytes 0 must be positive"},
		{"FinishBatch zero", func(c *coordinator.Config) { c.FinishBatch = 0 }, "FinishBatch 0 must be positive"},
		{"WatchBatch zero", func(c *coordinator.Config) { c.WatchBatch = 0 }, "WatchBuffer 64, WatchBatch 0 and WatchStall 5s must be positive"},
		{"HistoryCapacity negative", func(c *coordinator.Config) { c.HistoryCapacity = -1 }, "HistoryCapacity -1 must not be negative (0: no history)"},
		{"Broken unknown", func(c *coordinator.Config) { c.Broken = "sometimes" }, `Broken "sometimes" is not a broken mode`},

		{"edge: one timeout for all", func(c *coordinator.Config) {
			c.MinTimeout, c.DefaultTimeout, c.MaxTimeout = time.Second, time.Second, time.Second
		}, ""},
		{"edge: UniquenessWindow just over MaxTimeout", func(c *coordinator.Config) { c.UniquenessWindow = c.MaxTimeout + time.Nanosecond }, ""},
		{"edge: RetryMax equal to RetryMin", func(c *coordinator.Config) { c.RetryMax = c.RetryMin }, ""},
		{"edge: TransferRounds zero (never transfer)", func(c *coordinator.Config) { c.TransferRounds = 0 }, ""},
		{"edge: FinishDelay zero", func(c *coordinator.Config) { c.FinishDelay = 0 }, ""},
		{"edge: MaxInFlight zero (no limit)", func(c *coordinator.Config) { c.MaxInFlight = 0 }, ""},
		{"edge: HistoryCapacity zero (off)", func(c *coordinator.Config) { c.HistoryCapacity = 0 }, ""},
		{"edge: a broken mode", func(c *coordinator.Config) { c.Broken = coordinator.BrokenEnlistIntoCommit }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := coordinator.DefaultConfig()
			tc.mut(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if n := len(joined(err)); n != 1 {
				t.Fatalf("%d errors for one bad setting: %v", n, err)
			}
		})
	}
}

// Every bad setting is reported at once, each on its own.
func TestConfigValidateReportsEveryField(t *testing.T) {
	err := coordinator.Config{}.Validate()
	want := []string{"MinTimeout", "UniquenessWindow", "RPCTimeout", "RetryMin", "ScanInterval",
		"CatchUpTimeout", "ProbeInterval", "ProbeFailures", "MaxPayloadBytes", "MaxBranches", "MaxMessageBytes", "FinishBatch", "WatchBuffer"}
	errs := joined(err)
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d (%v): %v", len(errs), len(want), want, err)
	}
	for i, field := range want {
		if !strings.HasPrefix(errs[i].Error(), field+" ") {
			t.Errorf("error %d is %q, want one about %s", i, errs[i], field)
		}
	}
	if !strings.HasPrefix(err.Error(), "coordinator: invalid config: ") {
		t.Errorf("error %q does not say where it comes from", err)
	}
}

// joined returns the errors Validate joined.
func joined(err error) []error {
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) {
		return nil
	}
	return j.Unwrap()
}
