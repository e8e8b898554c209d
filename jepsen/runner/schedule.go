package runner

import (
	"context"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/arbiter-tx/arbiter/internal/backoff"
	"github.com/arbiter-tx/arbiter/internal/failpoint"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// schedule injects faults until ctx ends: wait an interval, pick a nemesis
// with the seeded generator, inject it, hold, heal. Each fault is recorded.
func (e *env) schedule(ctx context.Context, rng *rand.Rand) {
	var names []string
	for _, n := range e.cfg.Nemeses {
		if n != CrashPoints {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	order := rng.Perm(len(names)) // every nemesis once per round, seeded order
	for i := 0; ; i++ {
		if !backoff.Sleep(ctx, e.cfg.Interval-e.cfg.Hold) {
			return
		}
		n, _ := findNemesis(names[order[i%len(order)]])
		e.fault(ctx, n, rng)
	}
}

func (e *env) fault(ctx context.Context, n nemesis, rng *rand.Rand) {
	f := history.Fault{Kind: n.name, Start: e.rec.since()}
	held, lost := e.mesh.HeldTotal(), e.mesh.Lost()
	targets, detail := e.inject(ctx, n, rng)
	f.Targets, f.Detail = targets, detail
	e.progress("fault " + n.name + " " + strings.Join(targets, ",") + " " + detail)
	backoff.Sleep(context.WithoutCancel(ctx), e.cfg.Hold)
	f.Detail = joinDetail(f.Detail, e.effect(n, held, lost))
	if err := n.heal(context.WithoutCancel(ctx), e); err != nil {
		f.Detail += " heal: " + err.Error()
	}
	f.End = e.rec.since()
	e.rec.fault(f)
	e.progress("healed " + n.name)
}

// supervise restarts processes that died without a nemesis asking (crash
// points), recording each as a fault.
func (e *env) supervise(ctx context.Context) {
	for backoff.Sleep(ctx, 250*time.Millisecond) {
		for _, p := range e.cluster.All() {
			if p.Running() || e.isDown(p.Name) {
				continue
			}
			at := e.rec.since()
			detail := "process died at a crash point" + crashPointIn(p.LogPath) + "; restarted"
			if err := p.Restart(); err != nil {
				detail = "process died at a crash point; restart failed: " + err.Error()
			}
			e.rec.fault(history.Fault{Kind: CrashPoints, Targets: []string{p.Name}, Start: at, End: e.rec.since(), Detail: detail})
		}
	}
}

// healAll undoes every fault: resume, restart, reconnect, unslow.
func (e *env) healAll(ctx context.Context) {
	_ = resumeAll(ctx, e)
	for _, p := range e.cluster.All() {
		if !p.Running() {
			_ = p.Start()
		}
	}
	if e.net != nil {
		_ = e.net.Heal()
	}
	_ = healLinks(ctx, e)
	_ = startBroker(ctx, e)
}

func (e *env) progress(msg string) {
	if e.cfg.Progress == nil {
		return
	}
	ops, com, ab, unk := e.rec.counts()
	e.cfg.Progress(strings.Join([]string{
		e.cfg.Name, e.rec.since().Round(100 * time.Millisecond).String(),
		"ops", itoa(ops), "committed", itoa(com), "aborted", itoa(ab), "unknown", itoa(unk), "|", msg,
	}, " "))
}

func hasCrashPoints(c Config) bool { return slices.Contains(c.Nemeses, CrashPoints) }

// failpointField finds the crash point a process named in its last log
// line before it killed itself (see internal/failpoint).
var failpointField = regexp.MustCompile(`"` + failpoint.LogKey + `":"([a-z0-9-]+)"`)

// crashPointIn is " NAME" for the crash point the log at path names last,
// or "".
func crashPointIn(path string) string {
	if m := failpointField.FindStringSubmatch(lastLine(path)); m != nil {
		return " " + m[1]
	}
	return ""
}
