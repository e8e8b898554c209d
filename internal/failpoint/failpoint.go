package failpoint

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"

	"go.uber.org/zap"
)

// EnvVar holds the crash points to arm.
const EnvVar = "ARBITER_FAILPOINTS"

// LogKey is the zap field naming the crash point a process reached, in
// the last line it logs before it kills itself.
const LogKey = "failpoint"

// Armed are armed crash points with their probabilities.
type Armed struct {
	prob map[Point]float64
	log  *zap.Logger
}

// Parse reads "after-decide=0.05,phase2-mid=0.01".
func Parse(spec string) (map[Point]float64, error) {
	out := make(map[Point]float64)
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, p, ok := strings.Cut(item, "=")
		f, err := strconv.ParseFloat(p, 64)
		if !ok || err != nil || f < 0 || f > 1 || name == "" {
			return nil, fmt.Errorf("%s entry %q: want NAME=PROBABILITY with 0 <= PROBABILITY <= 1", EnvVar, item)
		}
		out[Point(name)] = f
	}
	return out, nil
}

// FromEnv returns the armed points, or nil when none are.
func FromEnv(log *zap.Logger) (*Armed, error) {
	prob, err := Parse(os.Getenv(EnvVar))
	if err != nil || len(prob) == 0 {
		return nil, err
	}
	log.Warn("crash points armed", zap.String("failpoints", os.Getenv(EnvVar)))
	return &Armed{prob: prob, log: log}, nil
}

// Hit kills the process if p is armed and the coin says so.
func (a *Armed) Hit(p Point) {
	if a == nil {
		return
	}
	if prob, ok := a.prob[p]; ok && rand.Float64() < prob {
		a.log.Warn("crash point reached: killing this process", zap.String(LogKey, string(p)))
		_ = a.log.Sync()
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; never return
	}
}
