//go:build failpoints

package main

import (
	"os"

	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/coordinator"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
)

// withFailpoints arms the named crash points listed in ARBITER_FAILPOINTS
// and the broken mode in ARBITER_BROKEN (coordinator.BrokenEnvVar). Only in binaries built with
// -tags failpoints (the fault suite builds them so).
func withFailpoints(cfg *coordinator.Config, log *zap.Logger) error {
	fp, err := failpoint.FromEnv(log)
	if err != nil {
		return err
	}
	if fp != nil {
		cfg.Failpoint = func(p failpoint.Point, _ string) { fp.Hit(p) }
	}
	cfg.Broken = coordinator.BrokenMode(os.Getenv(coordinator.BrokenEnvVar))
	if cfg.Broken != "" {
		log.Warn("running a deliberately broken coordinator", zap.String("broken", string(cfg.Broken)))
	}
	return nil
}
