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

// Points are armed crash points with their probabilities.
type Points struct {
	prob map[string]float64
	log  *zap.Logger
}

// Parse reads "after-decide=0.05,phase2-mid=0.01".
func Parse(spec string) (map[string]float64, error) {
	out := make(map[string]float64)
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
		out[name] = f
	}
	return out, nil
}

// FromEnv returns the armed points, or nil when none are.
func FromEnv(log *zap.Logger) (*Points, error) {
	prob, err := Parse(os.Getenv(EnvVar))
	if err != nil || len(prob) == 0 {
		return nil, err
	}
	log.Warn("crash points armed", zap.String("failpoints", os.Getenv(EnvVar)))
	return &Points{prob: prob, log: log}, nil
}

// Hit kills the process if name is armed and the coin says so.
func (p *Points) Hit(name string) {
	if p == nil {
		return
	}
	if prob, ok := p.prob[name]; ok && rand.Float64() < prob {
		p.log.Warn("crash point reached: killing this process", zap.String("failpoint", name))
		_ = p.log.Sync()
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; never return
	}
}
