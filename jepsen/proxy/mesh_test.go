package proxy

import (
	"net"
	"os"
	"testing"
	"time"
)

// sources dial from their own loopback address (Linux routes all of
// 127/8 to lo), so the classifier can tell them apart by IP.
var sources = map[string]string{"127.0.0.2": "n1", "127.0.0.3": "n2"}

func byIP(a net.Addr) string { return sources[a.(*net.TCPAddr).IP.String()] }

func dialAs(t *testing.T, addr, name string) net.Conn {
	t.Helper()
	var ip string
	for k, v := range sources {
		if v == name {
			ip = k
		}
	}
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A cut in the mesh blocks one source's traffic to a node and leaves the
// others alone; Heal lets it through again.
func TestMeshCutIsPerSource(t *testing.T) {
	e := startEcho(t)
	m := NewMesh("127.0.0.1", byIP)
	t.Cleanup(func() { m.Close() })
	addr, err := m.Expose("bank", e.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n1", "n2"} {
		if _, err := m.Expose(n, e.ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Cut("n1", "bank"); err != nil {
		t.Fatal(err)
	}
	cut := dialAs(t, addr, "n1")
	open := dialAs(t, addr, "n2")
	if _, err := roundTrip(open, []byte("a"), time.Second); err != nil {
		t.Fatalf("n2 -> bank with only n1 cut: %v", err)
	}
	if _, err := roundTrip(cut, []byte("b"), 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("n1 -> bank while cut: err = %v, want timeout", err)
	}
	if m.Held("n1", "bank") == 0 {
		t.Error("Held(n1, bank) = 0 after traffic waited behind the cut")
	}
	if got := m.Rules(); len(got) != 1 || got[0] != "bank -x- n1" {
		t.Errorf("Rules() = %v", got)
	}
	m.Heal()
	got := make([]byte, 1)
	cut.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := cut.Read(got); err != nil || got[0] != 'b' {
		t.Fatalf("n1 -> bank after heal: %q %v (held bytes must arrive)", got, err)
	}
	if err := m.Cut("n1", "nobody"); err == nil {
		t.Error("Cut with an unknown node succeeded")
	}
}

// SocketOwner finds this process as the owner of a connection it dialed.
func TestSocketOwnerFindsDialer(t *testing.T) {
	e := startEcho(t)
	c, err := net.DialTimeout("tcp", e.ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name, err := SocketOwner(c.LocalAddr(), map[int]string{os.Getpid(): "me"})
	if err != nil || name != "me" {
		t.Fatalf("SocketOwner = %q, %v; want me", name, err)
	}
	if _, err := SocketOwner(c.LocalAddr(), map[int]string{1 << 30: "ghost"}); err == nil {
		t.Error("SocketOwner with no owning candidate succeeded")
	}
}
