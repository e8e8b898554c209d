package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// physicalLimit is what this machine allows at best, measured in the same
// run as the systems: an append and its fdatasync on the filesystem that
// holds the data directories, and a unary gRPC round trip on loopback.
// From them, each mode's lower bound on latency at concurrency 1:
//
//   - standard: client -> leader, prepare (participant fsync), decision on
//     a quorum (one fsync, leader and follower writing in parallel at
//     best), answer: 3 round trips + 2 fsyncs in sequence;
//   - parallel: the prepare round and the STAGE entry run side by side, so
//     one round trip and one fsync after the client's round trip: 2 round
//     trips and 1 fsync.
type physicalLimit struct {
	FdatasyncP50Millis float64 `json:"fdatasync_p50_ms"`
	FdatasyncP99Millis float64 `json:"fdatasync_p99_ms"`
	RTTP50Millis       float64 `json:"rtt_p50_ms"`
	RTTP99Millis       float64 `json:"rtt_p99_ms"`
	StandardBound      float64 `json:"standard_bound_ms"`
	ParallelBound      float64 `json:"parallel_bound_ms"`
	// StandardVsBound and ParallelVsBound are the 3-node p50 at
	// concurrency 1 (interleaved pairs when measured, else the steps) over
	// each bound.
	StandardVsBound float64 `json:"standard_p50_vs_bound,omitempty"`
	ParallelVsBound float64 `json:"parallel_p50_vs_bound,omitempty"`
}

// measurePhysical measures fdatasync in dir and the round trip to the
// floor's first participant (a no-op Inspect).
func measurePhysical(ctx context.Context, dir string, floor *system) (physicalLimit, error) {
	syncs, err := fdatasyncTimes(dir, 300)
	if err != nil {
		return physicalLimit{}, err
	}
	rtts, err := rttTimes(ctx, floor.parts[0].Addr, 1000)
	if err != nil {
		return physicalLimit{}, err
	}
	syncs, rtts = sortedCopy(syncs), sortedCopy(rtts)
	p := physicalLimit{
		FdatasyncP50Millis: millis(percentile(syncs, 50)), FdatasyncP99Millis: millis(percentile(syncs, 99)),
		RTTP50Millis: millis(percentile(rtts, 50)), RTTP99Millis: millis(percentile(rtts, 99)),
	}
	p.StandardBound = 3*p.RTTP50Millis + 2*p.FdatasyncP50Millis
	p.ParallelBound = 2*p.RTTP50Millis + p.FdatasyncP50Millis
	return p, nil
}

// fdatasyncTimes appends 4 KiB and fdatasyncs it n times, as a log does.
func fdatasyncTimes(dir string, n int) ([]time.Duration, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			return nil, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return nil, fmt.Errorf("fdatasync %s: %w", filepath.Base(f.Name()), err)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// rttTimes times n unary calls to addr's no-op Inspect, one at a time.
func rttTimes(ctx context.Context, addr string, n int) ([]time.Duration, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	pc := arbiterpb.NewParticipantClient(conn)
	out := make([]time.Duration, 0, n)
	for i := range n + 50 { // the first 50 warm the connection up
		start := time.Now()
		if _, err := pc.Inspect(ctx, &arbiterpb.InspectRequest{}); err != nil {
			return nil, fmt.Errorf("round trip to %s: %w", addr, err)
		}
		if i >= 50 {
			out = append(out, time.Since(start))
		}
	}
	return out, nil
}

// fill sets the multiples of the bounds from the report's 3-node p50s.
func (p *physicalLimit) fill(r *report) {
	std, par := 0.0, 0.0
	for _, s := range r.Steps {
		if s.Concurrency == 1 && s.System == "3-node" {
			std = s.P50Millis
		}
		if s.Concurrency == 1 && s.System == "3-node parallel" {
			par = s.P50Millis
		}
	}
	if r.Paired != nil && r.Paired.Pairs > 0 {
		std, par = r.Paired.StandardP50, r.Paired.ParallelP50
	}
	if p.StandardBound > 0 {
		p.StandardVsBound = std / p.StandardBound
	}
	if p.ParallelBound > 0 {
		p.ParallelVsBound = par / p.ParallelBound
	}
}

func printPhysical(w io.Writer, p *physicalLimit) {
	if p == nil {
		return
	}
	fmt.Fprintf(w, "\nPhysical limit (same run): append+fdatasync p50 %.3f ms (p99 %.3f) on the data directory's filesystem; loopback gRPC round trip p50 %.3f ms (p99 %.3f).\n",
		p.FdatasyncP50Millis, p.FdatasyncP99Millis, p.RTTP50Millis, p.RTTP99Millis)
	fmt.Fprintf(w, "Lower bounds at concurrency 1: standard 3 RTT + 2 fsync = %.2f ms (3-node p50 = %.2fx); parallel 2 RTT + 1 fsync = %.2f ms (3-node parallel p50 = %.2fx).\n",
		p.StandardBound, p.StandardVsBound, p.ParallelBound, p.ParallelVsBound)
}
