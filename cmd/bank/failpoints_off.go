//go:build !failpoints

package main

import (
	"go.uber.org/zap"

	"github.com/arbiter-tx/arbiter/participant"
)

// withFailpoints does nothing in production builds.
func withFailpoints(*participant.Config, *zap.Logger) error { return nil }
