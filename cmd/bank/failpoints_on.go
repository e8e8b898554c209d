//go:build failpoints

package main

import (
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/participant"
)

// withFailpoints arms the crash points in ARBITER_FAILPOINTS (only in
// binaries built with -tags failpoints, as the fault suite builds them).
func withFailpoints(cfg *participant.Config, log *zap.Logger) error {
	fp, err := failpoint.FromEnv(log)
	if err != nil || fp == nil {
		return err
	}
	cfg.Failpoint = fp.Hit
	return nil
}
