package mysql_test

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
)

// onePhase is what the adapter's one-phase commit sends (a text query).
var onePhase = []byte(" ONE PHASE")

// cutProxy forwards TCP connections to a MariaDB server. With
// armedRequest, it cuts the first connection on which the client sends
// XA COMMIT ... ONE PHASE before the server gets it: nothing commits. With
// armedAnswer, it passes that request on and cuts the connection instead
// of passing on the server's answer: the server has committed, the client
// sees a broken connection. Each arm cuts once.
type cutProxy struct {
	lis                       net.Listener
	target                    string
	armedRequest, armedAnswer atomic.Bool
	cuts                      atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// startCutProxy proxies to the server of dsn and returns the proxy and a
// DSN that connects through it.
func startCutProxy(t *testing.T, dsn string) (*cutProxy, string) {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	must(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &cutProxy{lis: lis, target: cfg.Addr}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	cfg.Addr = lis.Addr().String()
	return p, cfg.FormatDSN()
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
		var answerDue atomic.Bool // this pair carried the armed request
		p.wg.Go(func() { p.forward(s, c, &answerDue, false) })
		p.wg.Go(func() { p.forward(c, s, &answerDue, true) })
	}
}

func (p *cutProxy) track(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, conns...)
}

// forward copies from src to dst, cutting both ends where armed.
func (p *cutProxy) forward(dst, src net.Conn, answerDue *atomic.Bool, fromServer bool) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.cut(buf[:n], answerDue, fromServer) {
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

// cut reports whether b is the traffic an armed proxy cuts here.
func (p *cutProxy) cut(b []byte, answerDue *atomic.Bool, fromServer bool) bool {
	if fromServer {
		return answerDue.Load()
	}
	if !bytes.Contains(b, onePhase) {
		return false
	}
	if p.armedAnswer.CompareAndSwap(true, false) {
		answerDue.Store(true)
		return false
	}
	return p.armedRequest.CompareAndSwap(true, false)
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
