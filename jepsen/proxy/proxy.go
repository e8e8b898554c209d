package proxy

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// LossStall is how long SetLoss holds a "lost" chunk.
const LossStall = 200 * time.Millisecond

// dialTimeout bounds how long a new connection waits for the target.
const dialTimeout = 5 * time.Second

// Proxy forwards TCP connections from its listen address to a target.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	conns  atomic.Int64
	bytes  atomic.Int64

	mu       sync.Mutex
	latency  time.Duration
	jitter   time.Duration
	loss     float64
	unblock  chan struct{} // closed while not blocked
	links    map[*link]struct{}
	closed   bool
	shutdown chan struct{} // closed by Close
}

// New listens on listen (e.g. "127.0.0.1:0") and forwards to target.
func New(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, target: target, unblock: open,
		links: map[*link]struct{}{}, shutdown: make(chan struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk forwarded from now on by d±jitter.
func (p *Proxy) SetLatency(d, jitter time.Duration) {
	p.mu.Lock()
	p.latency, p.jitter = d, jitter
	p.mu.Unlock()
}

// SetLoss stalls each chunk with probability prob for LossStall (see the
// package documentation). 0 turns loss off.
func (p *Proxy) SetLoss(prob float64) {
	p.mu.Lock()
	p.loss = prob
	p.mu.Unlock()
}

// Block holds all traffic (on) or lets it flow again (off).
func (p *Proxy) Block(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	blocked := !isClosed(p.unblock)
	switch {
	case on && !blocked:
		p.unblock = make(chan struct{})
	case !on && blocked:
		close(p.unblock)
	}
}

// Reset closes every current connection.
func (p *Proxy) Reset() {
	for _, l := range p.takeLinks() {
		l.close()
	}
}

// Close stops listening, closes every connection and waits for every
// goroutine of the proxy to end. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	first := !p.closed
	if first {
		p.closed = true
		close(p.shutdown)
	}
	p.mu.Unlock()
	var err error
	if first {
		err = p.ln.Close()
	}
	p.Reset()
	p.wg.Wait()
	return err
}

// Stats returns the number of connections accepted and of bytes forwarded
// (both directions) since New.
func (p *Proxy) Stats() (conns, bytes int64) {
	return p.conns.Load(), p.bytes.Load()
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l := newLink(p, c)
		if !p.addLink(l) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go l.run()
	}
}

func (p *Proxy) addLink(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.links[l] = struct{}{}
	p.conns.Add(1)
	return true
}

func (p *Proxy) removeLink(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func (p *Proxy) takeLinks() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*link, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	p.links = map[*link]struct{}{}
	return out
}

// gate returns a channel that is closed once traffic may flow.
func (p *Proxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unblock
}

// delay returns how long a chunk read now must wait before release.
func (p *Proxy) delay() time.Duration {
	p.mu.Lock()
	lat, jit, loss := p.latency, p.jitter, p.loss
	p.mu.Unlock()
	d := lat
	if jit > 0 {
		d += time.Duration(rand.Int64N(int64(2*jit)+1)) - jit
	}
	if loss > 0 && rand.Float64() < loss {
		d += LossStall
	}
	return max(d, 0)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
