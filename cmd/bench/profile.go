package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileStep fetches CPU profiles of the leader, one follower and the
// first participant for d, while the step measures, into dir as
// <system>-c<conc>-<role>.pprof; it returns a function that waits for
// them and reports the first error. Read them with go tool pprof.
func profileStep(ctx context.Context, s *system, st step, dir string, d time.Duration) func() error {
	if dir == "" || len(s.pprof) == 0 {
		return func() error { return nil }
	}
	targets := map[string]string{}
	if l, _, err := s.leader(ctx); err == nil {
		targets["leader"] = s.pprof[l.Name]
		for _, p := range s.coords {
			if p.Name != l.Name {
				targets["follower"] = s.pprof[p.Name]
				break
			}
		}
	}
	if len(s.parts) > 0 {
		targets[s.parts[0].Name] = s.pprof[s.parts[0].Name]
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(targets))
	for role, addr := range targets {
		path := filepath.Join(dir, fmt.Sprintf("%s%s-c%d-%s.pprof", s.name, st.flow.suffix(), st.concurrency, role))
		wg.Go(func() { errs <- fetchProfile(ctx, addr, path, d) })
	}
	return func() error {
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
}

func fetchProfile(ctx context.Context, addr, path string, d time.Duration) error {
	secs := max(1, int(d.Seconds()))
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s", addr, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	progress("wrote %s", path)
	return f.Close()
}
