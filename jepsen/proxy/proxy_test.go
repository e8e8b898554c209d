package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer echoes on loopback; it counts accepted connections. The
// returned stop function is idempotent and also runs at cleanup.
type echoServer struct {
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	once     sync.Once
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	e.wg.Go(e.serve)
	t.Cleanup(e.stop)
	return e
}

func (e *echoServer) serve() {
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.accepted.Add(1)
		e.mu.Lock()
		e.conns = append(e.conns, c)
		e.mu.Unlock()
		e.wg.Go(func() { io.Copy(c, c); c.Close() })
	}
}

func (e *echoServer) stop() {
	e.once.Do(func() {
		e.ln.Close()
		e.mu.Lock()
		for _, c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
}

func newProxy(t *testing.T, e *echoServer) *Proxy {
	t.Helper()
	p, err := New("127.0.0.1:0", e.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back within d, returning the time taken.
func roundTrip(c net.Conn, msg []byte, d time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetDeadline(start.Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return 0, err
	}
	if !bytes.Equal(got, msg) {
		return 0, errors.New("echo mismatch")
	}
	return time.Since(start), nil
}

func TestForwardsBytes(t *testing.T) {
	p := newProxy(t, startEcho(t))
	c := dial(t, p)
	if _, err := roundTrip(c, []byte("hello"), time.Second); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var wg sync.WaitGroup
	wg.Go(func() { c.Write(big) })
	got := make([]byte, len(big))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("1 MiB echo: %v", err)
	}
	wg.Wait()
	// The proxy counts a chunk after its Write returns, which can be just
	// after the echo reached us: wait briefly for the counter to catch up.
	want := 2 * int64(5+len(big))
	var conns, n int64
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		if conns, n = p.Stats(); n >= want || time.Now().After(end) {
			break
		}
	}
	if conns != 1 || n != want {
		t.Errorf("Stats() = %d conns, %d bytes; want 1 conn, %d bytes", conns, n, want)
	}
}

func TestHalfClose(t *testing.T) {
	p := newProxy(t, startEcho(t))
	c := dial(t, p).(*net.TCPConn)
	c.Write([]byte("bye"))
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("after half-close got %q, %v", got, err)
	}
}

func TestLatency(t *testing.T) {
	p := newProxy(t, startEcho(t))
	c := dial(t, p)
	base, err := roundTrip(c, []byte("x"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.SetLatency(100*time.Millisecond, 20*time.Millisecond)
	rt, err := roundTrip(c, []byte("x"), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round trip %v without latency, %v with 100±20ms each way", base, rt)
	if rt < 160*time.Millisecond || rt > 1500*time.Millisecond {
		t.Errorf("round trip %v, want about 200ms", rt)
	}
	p.SetLatency(0, 0)
	if rt, _ := roundTrip(c, []byte("x"), time.Second); rt > 100*time.Millisecond {
		t.Errorf("latency not removed: %v", rt)
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	p := newProxy(t, startEcho(t))
	p.SetLatency(5*time.Millisecond, 5*time.Millisecond)
	c := dial(t, p)
	var want []byte
	for i := range 50 {
		b := []byte{byte(i)}
		want = append(want, b...)
		c.Write(b)
		time.Sleep(time.Millisecond)
	}
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("reordered or lost: %v %v", got, err)
	}
}

// Loss discards a chunk and resets its connection: the sender's peer sees
// a broken stream, not a delay, and the echo never comes back.
func TestLossResets(t *testing.T) {
	p := newProxy(t, startEcho(t))
	c := dial(t, p)
	if _, err := roundTrip(c, []byte("a"), time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetLoss(1)
	_, err := roundTrip(c, []byte("x"), 2*time.Second)
	if err == nil || isTimeout(err) {
		t.Fatalf("round trip with loss 1: err = %v, want a reset or EOF", err)
	}
	if p.Lost() != 1 {
		t.Errorf("Lost() = %d, want 1", p.Lost())
	}
	p.SetLoss(0)
	if _, err := roundTrip(dial(t, p), []byte("y"), time.Second); err != nil {
		t.Errorf("loss not removed: %v", err)
	}
}

func TestBlockHoldsAndResumes(t *testing.T) {
	e := startEcho(t)
	p := newProxy(t, e)
	old := dial(t, p)
	if _, err := roundTrip(old, []byte("a"), time.Second); err != nil {
		t.Fatal(err)
	}
	p.Block(true)
	p.Block(true)       // idempotent
	fresh := dial(t, p) // accepted, held silent
	for name, c := range map[string]net.Conn{"established": old, "new": fresh} {
		if _, err := roundTrip(c, []byte("b"), 300*time.Millisecond); !isTimeout(err) {
			t.Errorf("%s connection while blocked: err = %v, want timeout", name, err)
		}
	}
	if n := e.accepted.Load(); n != 1 {
		t.Errorf("target saw %d connections while blocked, want 1", n)
	}
	p.Block(false)
	for name, c := range map[string]net.Conn{"established": old, "new": fresh} {
		got := make([]byte, 1) // the "b" held during the block
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || got[0] != 'b' {
			t.Errorf("%s connection after unblock: %q %v", name, got, err)
		}
		if _, err := roundTrip(c, []byte("c"), time.Second); err != nil {
			t.Errorf("%s connection after unblock: %v", name, err)
		}
	}
}

func waitConns(t *testing.T, p *Proxy, want int64) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if n, _ := p.Stats(); n >= want {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("proxy did not accept %d connections", want)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestResetClosesConnections(t *testing.T) {
	p := newProxy(t, startEcho(t))
	c := dial(t, p)
	if _, err := roundTrip(c, []byte("a"), time.Second); err != nil {
		t.Fatal(err)
	}
	p.Block(true)
	held := dial(t, p)
	waitConns(t, p, 2) // Reset closes connections the proxy has accepted
	p.Reset()
	for _, conn := range []net.Conn{c, held} {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("read after Reset: %v, want EOF or reset", err)
		}
	}
	p.Block(false)
	if _, err := roundTrip(dial(t, p), []byte("z"), time.Second); err != nil {
		t.Errorf("new connection after Reset: %v", err)
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	e := startEcho(t)
	p, err := New("127.0.0.1:0", e.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLatency(10*time.Millisecond, 0)
	c := dial(t, p)
	roundTrip(c, []byte("a"), time.Second)
	p.Block(true)
	c.Write([]byte("held"))
	dial(t, p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), 200*time.Millisecond); err == nil {
		t.Error("proxy still accepts after Close")
	}
	e.stop()
	goleak.VerifyNone(t, ignore)
}

func TestNewBadAddress(t *testing.T) {
	if _, err := New("256.0.0.1:0", "127.0.0.1:1"); err == nil {
		t.Error("New on a bad address succeeded")
	}
}
