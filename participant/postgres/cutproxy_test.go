package postgres_test

import (
	"bytes"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy forwards TCP connections to a PostgreSQL server. Once armed, it
// cuts the first connection on which the server answers a plain COMMIT
// (CommandComplete "COMMIT") before that answer reaches the client: the
// server has committed, the client sees a broken connection. With
// armedRequest, it cuts the first connection on which the client sends
// pgx's "commit" before the server gets it: nothing commits.
type cutProxy struct {
	lis          net.Listener
	target       string
	armed        atomic.Bool
	armedRequest atomic.Bool
	cuts         atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// startCutProxy proxies to the server of dsn and returns the proxy and a
// DSN that connects through it.
func startCutProxy(t *testing.T, dsn string) (*cutProxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	must(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &cutProxy{lis: lis, target: u.Host}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	u.Host = lis.Addr().String()
	return p, u.String()
}

func (p *cutProxy) accept() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(c, s)
		p.wg.Go(func() { p.forward(s, c, false) })
		p.wg.Go(func() { p.forward(c, s, true) })
	}
}

func (p *cutProxy) track(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, conns...)
}

// forward copies from src to dst; from the server (fromServer), an armed
// proxy cuts both ends instead of passing on a COMMIT's completion.
func (p *cutProxy) forward(dst, src net.Conn, fromServer bool) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.cut(buf[:n], fromServer) {
			p.cuts.Add(1)
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut reports whether b is the COMMIT traffic an armed proxy cuts.
func (p *cutProxy) cut(b []byte, fromServer bool) bool {
	if fromServer {
		return bytes.Contains(b, []byte("COMMIT\x00")) && p.armed.CompareAndSwap(true, false)
	}
	return bytes.Contains(b, []byte("commit\x00")) && p.armedRequest.CompareAndSwap(true, false)
}

func (p *cutProxy) close() {
	_ = p.lis.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
