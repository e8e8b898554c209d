package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap/zapcore"
)

// zapWarn keeps the in-process coordinator's test logs to warnings.
const zapWarn = zapcore.WarnLevel

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
