package proxy

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Faults is the fault state of one link (a proxy's default, or one source's
// traffic through it, see Proxy.From): latency, loss and a block.
type Faults struct {
	mu      sync.Mutex
	latency time.Duration
	jitter  time.Duration
	loss    float64
	unblock chan struct{} // closed while not blocked

	lost atomic.Int64 // chunks discarded by loss
	held atomic.Int64 // connections that waited at least once behind a block
}

func newFaults() *Faults {
	open := make(chan struct{})
	close(open)
	return &Faults{unblock: open}
}

// SetLatency delays every chunk read from now on by d±jitter.
func (f *Faults) SetLatency(d, jitter time.Duration) {
	f.mu.Lock()
	f.latency, f.jitter = d, jitter
	f.mu.Unlock()
}

// SetLoss makes each chunk read from now on lost with probability prob: the
// chunk is discarded and its connection reset (see the package
// documentation). 0 turns loss off.
func (f *Faults) SetLoss(prob float64) {
	f.mu.Lock()
	f.loss = prob
	f.mu.Unlock()
}

// Block holds all traffic (on) or lets it flow again (off).
func (f *Faults) Block(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	blocked := !isClosed(f.unblock)
	switch {
	case on && !blocked:
		f.unblock = make(chan struct{})
	case !on && blocked:
		close(f.unblock)
	}
}

// Blocked reports whether traffic is held.
func (f *Faults) Blocked() bool { return !isClosed(f.gate()) }

// Lost is the number of chunks discarded by SetLoss so far.
func (f *Faults) Lost() int64 { return f.lost.Load() }

// Held is the number of times a connection found this link blocked and
// waited (a cut that took effect on real traffic).
func (f *Faults) Held() int64 { return f.held.Load() }

// gate returns a channel that is closed once traffic may flow.
func (f *Faults) gate() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unblock
}

// next returns how long a chunk read now must wait before release, and
// whether it is lost.
func (f *Faults) next() (time.Duration, bool) {
	f.mu.Lock()
	lat, jit, loss := f.latency, f.jitter, f.loss
	f.mu.Unlock()
	d := lat
	if jit > 0 {
		d += time.Duration(rand.Int64N(int64(2*jit)+1)) - jit
	}
	lost := loss > 0 && rand.Float64() < loss
	if lost {
		f.lost.Add(1)
	}
	return max(d, 0), lost
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
