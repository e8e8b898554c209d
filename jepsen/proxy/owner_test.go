package proxy

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// A dual-stack listener and dialer put an IPv4 connection in
// /proc/net/tcp6 as a v4-mapped address; SocketOwner finds it there too.
func TestSocketOwnerFindsV4MappedDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Skipf("no IPv6: %v", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv6zero}}
	c, err := d.Dial("tcp", net.JoinHostPort("::ffff:127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Skipf("dual-stack dial: %v", err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.TCPAddr)
	v4 := &net.TCPAddr{IP: local.IP.To4(), Port: local.Port}
	if v4.IP == nil {
		t.Skipf("local address %v is not v4-mapped", local)
	}
	if name, err := SocketOwner(v4, map[int]string{os.Getpid(): "me"}); err != nil || name != "me" {
		t.Fatalf("SocketOwner(%v) = %q, %v; want me", v4, name, err)
	}
}
