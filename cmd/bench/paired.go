package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// pairedResult compares two flows at concurrency 1 on one system with the
// transactions interleaved (each pair runs both flows, in random order), so
// that drifting background load hits both alike: on a shared 2-core machine
// separate steps at concurrency 1 differ by more than the effect measured.
type pairedResult struct {
	System      string  `json:"system"`
	Pairs       int     `json:"pairs"`
	StandardP50 float64 `json:"standard_p50_ms"`
	ParallelP50 float64 `json:"parallel_p50_ms"`
	StandardP99 float64 `json:"standard_p99_ms"`
	ParallelP99 float64 `json:"parallel_p99_ms"`
	// Ratio is ParallelP50 / StandardP50 (below 1: parallel is faster).
	Ratio  float64 `json:"ratio"`
	Errors int     `json:"errors"`
}

// measurePaired runs pairs of transactions, one in the standard flow and
// one in parallel commit, for d.
func measurePaired(ctx context.Context, s *system, d time.Duration) (pairedResult, error) {
	progress("%s: standard and parallel commit interleaved at concurrency 1 for %v", s.name, d)
	cli, err := newClient(s.clientAddrs(ctx))
	if err != nil {
		return pairedResult{}, err
	}
	defer cli.Close()
	drv := &driver{cli: cli, parts: s.partIDs(), branches: 2, tag: fmt.Sprintf("%s-paired-%d", s.name, time.Now().UnixNano())}
	lat := map[flow][]time.Duration{}
	res := pairedResult{System: s.name}
	end := time.Now().Add(d)
	for seq := 0; time.Now().Before(end) && ctx.Err() == nil; seq++ {
		order := []flow{flowStandard, flowParallel}
		if rand.IntN(2) == 0 {
			order[0], order[1] = order[1], order[0]
		}
		for i, f := range order {
			drv.flow = f
			start := time.Now()
			out, err := drv.transaction(ctx, i, seq)
			if err != nil || out != arbiterpb.Outcome_OUTCOME_COMMIT {
				res.Errors++
				continue
			}
			lat[f] = append(lat[f], time.Since(start))
		}
		res.Pairs++
	}
	std, par := sortedCopy(lat[flowStandard]), sortedCopy(lat[flowParallel])
	res.StandardP50, res.ParallelP50 = millis(percentile(std, 50)), millis(percentile(par, 50))
	res.StandardP99, res.ParallelP99 = millis(percentile(std, 99)), millis(percentile(par, 99))
	if res.StandardP50 > 0 {
		res.Ratio = res.ParallelP50 / res.StandardP50
	}
	progress("%s: paired p50 standard %.2f ms, parallel %.2f ms (%.2fx), %d pairs, %d errors",
		s.name, res.StandardP50, res.ParallelP50, res.Ratio, res.Pairs, res.Errors)
	return res, ctx.Err()
}
