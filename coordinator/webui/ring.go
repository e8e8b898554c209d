package webui

import (
	"sync"
	"time"
)

const (
	// ringSize is how many samples the sparkline shows (a minute at 1/s).
	ringSize = 61
	// SampleEvery is the least time between two throughput samples; polls
	// arriving sooner (several open pages) reuse the last sample.
	SampleEvery = 900 * time.Millisecond
)

// sample is the applied index seen at one time.
type sample struct {
	at      time.Time
	applied uint64
}

// rate is the applied-entries-per-second between two consecutive samples,
// stamped with the later one.
type rate struct {
	UnixMs        int64   `json:"unix_ms"`
	AppliedPerSec float64 `json:"applied_per_sec"`
}

// ring keeps the last samples, oldest first.
type ring struct {
	mu   sync.Mutex
	size int
	buf  []sample
}

func newRing(size int) *ring { return &ring{size: size} }

// add records (at, applied) unless the last sample is younger than
// SampleEvery. An index that went backwards (the node restarted with a
// fresh log) clears the history.
func (r *ring) add(at time.Time, applied uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.buf); n > 0 {
		last := r.buf[n-1]
		if at.Sub(last.at) < SampleEvery {
			return
		}
		if applied < last.applied {
			r.buf = r.buf[:0]
		}
	}
	r.buf = append(r.buf, sample{at, applied})
	if len(r.buf) > r.size {
		r.buf = append(r.buf[:0], r.buf[len(r.buf)-r.size:]...)
	}
}

// rates returns one rate per pair of consecutive samples, oldest first.
func (r *ring) rates() []rate {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]rate, 0, len(r.buf))
	for i := 1; i < len(r.buf); i++ {
		a, b := r.buf[i-1], r.buf[i]
		secs := b.at.Sub(a.at).Seconds()
		out = append(out, rate{b.at.UnixMilli(), float64(b.applied-a.applied) / secs})
	}
	return out
}
