package netns

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The test binary doubles as the processes run inside namespaces: with
// ARB_NETNS_HELPER set, TestMain runs that helper instead of the tests.
const (
	helperEnv = "ARB_NETNS_HELPER"
	addrEnv   = "ARB_NETNS_ADDR"
	echoPort  = "7070"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "echo":
		os.Exit(echoServer(os.Getenv(addrEnv)))
	case "dial":
		os.Exit(dialOnce(os.Getenv(addrEnv)))
	case "prober":
		os.Exit(prober(os.Getenv(addrEnv)))
	}
	if Available() == nil {
		sweepDeadRuns()
	}
	goleak.VerifyTestMain(m)
}

// echoServer echoes every connection's bytes back until killed.
func echoServer(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() { io.Copy(c, c); c.Close() }()
	}
}

// dialOnce exits 0 if a fresh connection to addr echoes within a second.
func dialOnce(addr string) int {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 1
	}
	defer c.Close()
	if echo(c, time.Second) != nil {
		return 1
	}
	return 0
}

func echo(c net.Conn, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	_, err := io.ReadFull(c, make([]byte, 4))
	return err
}

// prober keeps one connection to addr. For each stdin line "echo <ms>" it
// sends 4 bytes and waits up to ms for every byte sent so far to come back,
// answering "ok" or "timeout". Bytes late from earlier probes count later.
func prober(addr string) int {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		fmt.Println("dial", err)
		return 1
	}
	fmt.Println("ready")
	var sent, recv int
	buf := make([]byte, 1024)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		ms, _ := strconv.Atoi(strings.TrimPrefix(in.Text(), "echo "))
		c.SetWriteDeadline(time.Now().Add(time.Duration(ms) * time.Millisecond))
		if _, err := c.Write([]byte("ping")); err == nil {
			sent += 4
		}
		c.SetReadDeadline(time.Now().Add(time.Duration(ms) * time.Millisecond))
		for recv < sent {
			k, err := c.Read(buf)
			recv += k
			if err != nil {
				break
			}
		}
		if recv == sent {
			fmt.Println("ok")
		} else {
			fmt.Println("timeout")
		}
	}
	return 0
}

// sweepDeadRuns removes objects left by earlier test processes that died
// before their cleanup ran (their prefix embeds their process id).
func sweepDeadRuns() {
	out, _ := output("ip", "netns", "list")
	re := regexp.MustCompile(`^(aj[a-z])([0-9a-z]+)-`)
	for _, line := range strings.Split(out, "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, err := strconv.ParseInt(m[2], 36, 64)
		if err == nil && syscall.Kill(int(pid), 0) == syscall.ESRCH {
			cleanStale(m[1] + m[2])
		}
	}
}
