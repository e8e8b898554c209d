package webui

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// findChromium returns a headless-capable browser, or skips the test unless
// ARBITER_REQUIRE_CHROMIUM=1 (CI), where a missing browser fails it.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ARBITER_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("ARBITER_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install -y chromium)")
	}
	t.Skip("no chromium on PATH; set ARBITER_REQUIRE_CHROMIUM=1 to make this a failure")
	return ""
}

// runChromium loads url headless and returns stdout; extra adds flags
// (--dump-dom, --screenshot=FILE).
func runChromium(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000",
		"--window-size=1280,1000"}
	cmd := exec.CommandContext(ctx, bin, append(append(args, extra...), url)...)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// between returns the text of s from the first start to the next end.
func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	in, _, _ := strings.Cut(rest, end)
	return in
}

// TestPageRendersInChromium proves the JavaScript ran: the served HTML has
// none of the fake's data, the DOM Chromium renders has all of it.
func TestPageRendersInChromium(t *testing.T) {
	bin := findChromium(t)
	srv := httptest.NewServer(Handler(&fakeSource{now: time.Now()}, nil))
	defer srv.Close()
	dom := runChromium(t, bin, srv.URL+"/", "--dump-dom")
	checks := map[string]string{
		"leader":         between(dom, `id="leader"`, "</span>"),
		"members table":  between(dom, `id="members"`, "</table>"),
		"open table":     between(dom, `id="open"`, "</table>"),
		"in-doubt table": between(dom, `id="in-doubt"`, "</table>"),
	}
	for what, want := range map[string]string{
		"leader": ">n1", "members table": "10.0.0.3:7000", "open table": "tx-active-0001",
		"in-doubt table": "tx-stuck-0003",
	} {
		if !strings.Contains(checks[what], want) {
			t.Errorf("%s lacks %q: %q", what, want, checks[what])
		}
	}
	if doubt := checks["in-doubt table"]; !strings.Contains(doubt, "&lt;img src=x") || strings.Contains(doubt, "<img") {
		t.Errorf("the hostile ID was not shown as text: %q", doubt)
	}
	if !strings.Contains(dom, "<title>Arbiter status</title>") || strings.Contains(dom, "<b>bank3") {
		t.Error("markup from the data was interpreted")
	}
	if shot := os.Getenv("ARBITER_WEBUI_SCREENSHOT"); shot != "" {
		runChromium(t, bin, srv.URL+"/", "--screenshot="+shot)
	}
}
