//go:build !failpoints

package main

import (
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/coordinator"
)

// withFailpoints does nothing in production builds: crash points and broken
// modes exist only in binaries built with -tags failpoints.
func withFailpoints(*coordinator.Config, *zap.Logger) error { return nil }
