package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// queueLen bounds the chunks buffered per direction (each up to bufSize).
const (
	queueLen = 16
	bufSize  = 32 << 10
)

// link is one proxied connection: client is the accepted side, server the
// dialed one.
type link struct {
	p      *Proxy
	f      *Faults // the faults of this connection's source
	client net.Conn
	server net.Conn
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex // guards server against close during dial
}

type chunk struct {
	data    []byte
	release time.Time
}

func newLink(p *Proxy, c net.Conn, f *Faults) *link {
	return &link{p: p, f: f, client: c, done: make(chan struct{})}
}

// close closes both sides; every goroutine of the link then ends.
func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.client.Close()
		l.mu.Lock()
		if l.server != nil {
			l.server.Close()
		}
		l.mu.Unlock()
	})
}

// run waits while the proxy is blocked, dials the target and forwards both
// directions until they end or the link is closed.
func (l *link) run() {
	defer l.p.wg.Done()
	defer l.p.removeLink(l)
	defer l.close()
	if !l.wait(time.Time{}) {
		return
	}
	server, err := net.DialTimeout("tcp", l.p.target, dialTimeout)
	if err != nil || !l.setServer(server) {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { l.pipe(l.client, server) })
	wg.Go(func() { l.pipe(server, l.client) })
	wg.Wait()
}

func (l *link) setServer(s net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		s.Close()
		return false
	default:
		l.server = s
		return true
	}
}

// wait sleeps until release and then until the proxy is unblocked; false if
// the link was closed meanwhile.
func (l *link) wait(release time.Time) bool {
	if d := time.Until(release); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-l.done:
			return false
		}
	}
	for counted := false; ; counted = true {
		g := l.f.gate()
		if isClosed(g) {
			return true
		}
		if !counted {
			l.f.held.Add(1)
		}
		select {
		case <-g: // re-check: Block may have been turned on again
		case <-l.done:
			return false
		}
	}
}

// pipe forwards src to dst: a reader stamps chunks with their release time
// and a writer releases them in order.
func (l *link) pipe(src, dst net.Conn) {
	q := make(chan chunk, queueLen)
	go l.read(src, q)
	for c := range q {
		if !l.wait(c.release) {
			drain(q)
			return
		}
		if _, err := dst.Write(c.data); err != nil {
			l.close()
			drain(q)
			return
		}
		l.p.bytes.Add(int64(len(c.data)))
	}
	// src reached EOF: pass the half-close on.
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// read fills q from src until EOF or error, then closes q. A lost chunk
// is discarded and resets the link.
func (l *link) read(src net.Conn, q chan<- chunk) {
	defer close(q)
	var last time.Time
	for {
		buf := make([]byte, bufSize)
		n, err := src.Read(buf)
		if n > 0 {
			d, lost := l.f.next()
			if lost {
				l.reset()
				return
			}
			last = later(last, time.Now().Add(d))
			select {
			case q <- chunk{data: buf[:n], release: last}:
			case <-l.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.close() // a reset or closed side ends the whole link
			}
			return
		}
	}
}

// reset closes both sides abortively (RST rather than FIN where the
// platform allows), so each end sees a broken stream, not a clean end.
func (l *link) reset() {
	for _, c := range []net.Conn{l.client, l.serverConn()} {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	l.close()
}

func (l *link) serverConn() net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.server
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func drain(q <-chan chunk) {
	for range q {
	}
}
