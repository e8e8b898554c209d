package proxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dialTimeout bounds how long a new connection waits for the target.
const dialTimeout = 5 * time.Second

// Proxy forwards TCP connections from its listen address to a target. Its
// embedded Faults act on every connection whose source has no Faults of its
// own (see From and SetClassifier).
type Proxy struct {
	*Faults
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	conns  atomic.Int64
	bytes  atomic.Int64

	mu       sync.Mutex
	classify func(net.Addr) string
	sources  map[string]*Faults
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
	p := &Proxy{Faults: newFaults(), ln: ln, target: target, sources: map[string]*Faults{},
		links: map[*link]struct{}{}, shutdown: make(chan struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// SetClassifier names the source of each connection accepted from now on
// (from its remote address); a connection whose source has Faults (From)
// obeys those instead of the proxy's own. "" means unknown.
func (p *Proxy) SetClassifier(classify func(remote net.Addr) string) {
	p.mu.Lock()
	p.classify = classify
	p.mu.Unlock()
}

// From returns the Faults of the traffic from source (created on first
// use): the link source -> this proxy's target.
func (p *Proxy) From(source string) *Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.sources[source]
	if !ok {
		f = newFaults()
		p.sources[source] = f
	}
	return f
}

// faultsFor classifies a new connection and returns its source's Faults.
func (p *Proxy) faultsFor(remote net.Addr) *Faults {
	p.mu.Lock()
	classify := p.classify
	p.mu.Unlock()
	if classify == nil {
		return p.Faults
	}
	src := classify(remote)
	if src == "" {
		return p.Faults
	}
	return p.From(src)
}

// ResetFrom closes every current connection whose Faults are f.
func (p *Proxy) ResetFrom(f *Faults) {
	p.mu.Lock()
	var victims []*link
	for l := range p.links {
		if l.f == f {
			victims = append(victims, l)
		}
	}
	p.mu.Unlock()
	for _, l := range victims {
		l.close()
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
		l := newLink(p, c, p.faultsFor(c.RemoteAddr()))
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

// allFaults returns the proxy's own Faults and every source's.
func (p *Proxy) allFaults() []*Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []*Faults{p.Faults}
	for _, f := range p.sources {
		out = append(out, f)
	}
	return out
}
