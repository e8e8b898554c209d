package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoOwner: no candidate process holds the socket.
var ErrNoOwner = errors.New("proxy: no candidate process owns the socket")

// SocketOwner finds which of the candidate processes (pid -> name) holds
// the TCP socket whose local address is addr: on loopback every process
// dials from 127.0.0.1, so a proxy tells its sources apart by asking the
// kernel (Linux /proc/net/tcp, then each candidate's /proc/<pid>/fd) who
// owns the remote end of an accepted connection. Only IPv4 is supported.
func SocketOwner(addr net.Addr, candidates map[int]string) (string, error) {
	inode, err := socketInode(addr)
	if err != nil {
		return "", err
	}
	want := "socket:[" + inode + "]"
	for pid, name := range candidates {
		if holds(pid, want) {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: %v", ErrNoOwner, addr)
}

// socketInode looks addr up as a local address in /proc/net/tcp, then in
// /proc/net/tcp6 (an IPv4 address on a dual-stack socket is v4-mapped).
func socketInode(addr net.Addr) (string, error) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta.IP.To4() == nil {
		return "", fmt.Errorf("proxy: socket owner of %v: want a TCP IPv4 address", addr)
	}
	v4 := procAddr(ta)
	for _, t := range []struct{ file, key string }{
		{"/proc/net/tcp", v4},
		{"/proc/net/tcp6", "0000000000000000FFFF0000" + v4},
	} {
		inode, err := findInode(t.file, t.key)
		if err != nil || inode != "" {
			return inode, err
		}
	}
	return "", fmt.Errorf("%w: %v not in /proc/net/tcp{,6}", ErrNoOwner, addr)
}

// findInode returns the inode of the socket whose local address is key in
// a /proc/net/tcp-format file, "" if none.
func findInode(file, key string) (string, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fs := strings.Fields(sc.Text())
		if len(fs) > 9 && fs[1] == key && fs[9] != "0" {
			return fs[9], nil
		}
	}
	return "", sc.Err()
}

// procAddr formats an address as /proc/net/tcp does: the IPv4 address as
// 32-bit word read in host byte order, then the port, in hex.
func procAddr(a *net.TCPAddr) string {
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(a.IP.To4()), a.Port)
}

// holds reports whether process pid has an open file descriptor on target
// ("socket:[inode]").
func holds(pid int, target string) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == target {
			return true
		}
	}
	return false
}
