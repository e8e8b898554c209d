package embedded

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
	bolt "go.etcd.io/bbolt"
)

// Crash tests with real processes: a child process (this test binary,
// TestCrashChild) runs transactions at concurrency 16 on a store and
// prints a line for every write the store acknowledged; the parent kills
// it with SIGKILL mid-load, then opens the store and checks, per
// transaction, what survived. Transaction i's fate is fixed by i%4:
// 0 stays prepared, 1 commits, 2 aborts, 3 commits in one phase.

const (
	crashPrepared = iota
	crashCommit
	crashAbort
	crashOnePhase
)

func crashKey(i int) string { return fmt.Sprintf("k-%06d", i) }

// crashValue is transaction i's value: 64 KiB from bigTxs on, so a few
// dozen fill a checkpoint's 2 MiB and a segment's 4 MiB.
func crashValue(i int) string {
	v := fmt.Sprintf("v-%06d", i)
	if i >= bigTxs {
		v += strings.Repeat("x", 64<<10)
	}
	return v
}

const bigTxs = 1_000_000

func crashTx(i int) string { return fmt.Sprintf("tx-%06d", i) }

// acks is what the child reported as acknowledged: the transactions whose
// prepare, commit, abort or one-phase commit returned nil.
type acks struct {
	prepared, committed, aborted map[int]bool
	min, max                     int // lowest and highest transaction numbers seen
}

// TestCrashChild is the child process: ARBITER_CRASH_CHILD is the store
// path, ARBITER_CRASH_MODE "load" or "resolve".
func TestCrashChild(t *testing.T) {
	path := os.Getenv("ARBITER_CRASH_CHILD")
	if path == "" {
		t.Skip("child process of the crash tests")
	}
	s, err := Open(path, Options{LockTimeout: time.Second})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	out := &lineWriter{}
	if os.Getenv("ARBITER_CRASH_MODE") == "resolve" {
		resolveAll(s, out)
	} else {
		first, _ := strconv.Atoi(os.Getenv("ARBITER_CRASH_FIRST"))
		crashLoad(s, out, first, time.Now().Add(30*time.Second)) // the parent kills it long before
	}
	if err := s.Close(); err != nil {
		fmt.Printf("close-error %v\n", err)
		os.Exit(4)
	}
	out.print("done")
}

// lineWriter writes whole lines to stdout, one write(2) each.
type lineWriter struct{ mu sync.Mutex }

func (w *lineWriter) print(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
}

func crashLoad(s *Store, out *lineWriter, first int, until time.Time) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := crashOne(s, out, i); err != nil {
					out.print("error %d %v", i, err)
				}
			}
		}()
	}
	for i := first; time.Now().Before(until); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func crashOne(s *Store, out *lineWriter, i int) error {
	id := crashTx(i)
	tx, err := s.Begin(ctx, id)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, crashKey(i), []byte(crashValue(i))); err != nil {
		return err
	}
	if i%4 == crashOnePhase {
		if err := s.CommitOnePhase(ctx, id, tx); err != nil {
			return err
		}
		out.print("C %d", i)
		return nil
	}
	if err := s.Prepare(ctx, id, tx, time.Now().Add(time.Hour)); err != nil {
		return err
	}
	out.print("P %d", i)
	switch i % 4 {
	case crashCommit:
		err = s.Commit(ctx, id)
		if err == nil {
			out.print("C %d", i)
		}
	case crashAbort:
		err = s.Abort(ctx, id)
		if err == nil {
			out.print("A %d", i)
		}
	}
	return err
}

// resolveAll commits every prepared transaction, as a restarted
// participant does once the coordinator answers COMMIT.
func resolveAll(s *Store, out *lineWriter) {
	prep, err := s.Prepared(ctx)
	if err != nil {
		out.print("error prepared %v", err)
		return
	}
	out.print("prepared %d", len(prep))
	for _, p := range prep {
		i, _ := strconv.Atoi(strings.TrimPrefix(p.TxID, "tx-"))
		if err := s.Commit(ctx, p.TxID); err != nil {
			out.print("error %d %v", i, err)
			continue
		}
		out.print("C %d", i)
	}
}

// runChild starts the child on path in mode, kills it with SIGKILL once
// it has acknowledged killAfter writes (never, if 0: it runs to its end),
// and returns what it acknowledged and its other output. A load child
// numbers its transactions from first.
func runChild(t *testing.T, path, mode string, killAfter int, first ...int) (acks, []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "ARBITER_CRASH_CHILD="+path, "ARBITER_CRASH_MODE="+mode)
	if len(first) > 0 {
		cmd.Env = append(cmd.Env, "ARBITER_CRASH_FIRST="+strconv.Itoa(first[0]))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	exited := make(chan struct{})
	t.Cleanup(func() { // bounded: a child still running is killed
		_ = cmd.Process.Kill()
		<-exited
	})
	watchdog := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	a := acks{prepared: map[int]bool{}, committed: map[int]bool{}, aborted: map[int]bool{}}
	var other []string
	sc := bufio.NewScanner(stdout)
	n, killed := 0, false
	for sc.Scan() {
		if !a.record(sc.Text()) {
			other = append(other, sc.Text())
			continue
		}
		if n++; killAfter > 0 && n >= killAfter && !killed {
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true // the lines already in the pipe were acknowledged too
		}
	}
	err = cmd.Wait()
	close(exited)
	if killAfter > 0 && !killed {
		t.Fatalf("child ended before %d acknowledgements (%v): %q", killAfter, err, other)
	}
	if killAfter == 0 && err != nil {
		t.Fatalf("child: %v: %q", err, other)
	}
	return a, other
}

// record notes an acknowledgement line ("P 12", "C 12", "A 12").
func (a *acks) record(line string) bool {
	f := strings.Fields(line)
	if len(f) != 2 || len(f[0]) != 1 {
		return false
	}
	i, err := strconv.Atoi(f[1])
	if err != nil {
		return false
	}
	switch f[0] {
	case "P":
		a.prepared[i] = true
	case "C":
		a.committed[i] = true
	case "A":
		a.aborted[i] = true
	default:
		return false
	}
	if len(a.prepared)+len(a.committed)+len(a.aborted) == 1 {
		a.min = i
	}
	a.min, a.max = min(a.min, i), max(a.max, i)
	return true
}

// checkSurvivors opens the store at path and checks every transaction the
// child may have touched against what it acknowledged; it returns the
// store, the transactions still prepared, and how many were committed.
func checkSurvivors(t *testing.T, path string, a acks) (*Store, []int, int) {
	t.Helper()
	s := openStore(t, path)
	outs, err := s.Outcomes()
	must(t, err)
	data, err := s.ReadAll()
	must(t, err)
	var stillPrepared []int
	committed := 0
	for i := max(a.min-64, 0); i <= a.max+64; i++ { // ±64: started, never acknowledged
		st, err := s.State(ctx, crashTx(i))
		must(t, err)
		v, has := data[crashKey(i)]
		if st == participant.StateCommitted {
			committed++
		}
		if st == participant.StatePrepared {
			stillPrepared = append(stillPrepared, i)
		}
		if err := checkOne(i, st, outs[crashTx(i)], v, has, a); err != nil {
			t.Error(err)
		}
	}
	return s, stillPrepared, committed
}

// checkOne is the per-transaction verdict: every acknowledged write
// survived, nothing the child never asked for appears (a commit the
// resolving child acknowledged counts as asked for), and a committed
// transaction's value is there exactly when it is committed.
func checkOne(i int, st, outcome participant.State, v []byte, has bool, a acks) error {
	kind := i % 4
	switch {
	case a.committed[i] && st != participant.StateCommitted:
		return fmt.Errorf("tx %d: commit acknowledged, state now %v", i, st)
	case a.aborted[i] && st != participant.StateAborted:
		return fmt.Errorf("tx %d: abort acknowledged, state now %v", i, st)
	case a.prepared[i] && st == participant.StateNone:
		return fmt.Errorf("tx %d: prepare acknowledged, now unknown", i)
	case st == participant.StateCommitted && kind != crashCommit && kind != crashOnePhase && !a.committed[i]:
		return fmt.Errorf("tx %d: committed, but the child never asked to commit it", i)
	case st == participant.StateAborted && kind != crashAbort:
		return fmt.Errorf("tx %d: aborted, but the child never asked to abort it", i)
	case st == participant.StatePrepared && kind == crashOnePhase:
		return fmt.Errorf("tx %d: prepared, but it was a one-phase commit", i)
	case (st == participant.StateCommitted) != has:
		return fmt.Errorf("tx %d: state %v, value present %v", i, st, has)
	case has && string(v) != crashValue(i):
		return fmt.Errorf("tx %d: value %.40q (%d bytes), want %.40q", i, v, len(v), crashValue(i))
	case outcome != participant.StatePrepared && st != participant.StatePrepared && outcome != st:
		return fmt.Errorf("tx %d: Outcomes says %v, State %v", i, outcome, st)
	}
	return nil
}

func crashStore(t *testing.T) string {
	return filepath.Join(t.TempDir(), "store.db")
}

// SIGKILL under concurrent load, then a restart that resolves the
// prepared work: every acknowledged write survives both, nothing else
// appears, and the prepared transactions keep their locks.
func TestCrashSIGKILLUnderLoad(t *testing.T) {
	path := crashStore(t)
	a, _ := runChild(t, path, "load", 1500+rand.IntN(1500))
	pending := unapplied(t, path)
	if pending == 0 {
		t.Fatal("the kill left no record for recovery to replay: the test did not test recovery")
	}
	s, prepared, committed := checkSurvivors(t, path, a)
	t.Logf("killed after %d prepares, %d commits, %d aborts acknowledged; %d records replayed; on disk: %d committed, %d prepared",
		len(a.prepared), len(a.committed), len(a.aborted), pending, committed, len(prepared))
	if len(prepared) == 0 {
		t.Fatal("no prepared work survived the kill")
	}
	wantLocked(t, s, prepared[0])
	must(t, s.Close())

	r, other := runChild(t, path, "resolve", 0) // restart with prepared work
	if len(r.committed) != len(prepared) {
		t.Fatalf("the restarted child committed %d of %d prepared transactions: %q", len(r.committed), len(prepared), other)
	}
	for i := range r.committed {
		a.committed[i] = true
	}
	s, again, _ := checkSurvivors(t, path, a)
	defer s.Close()
	if len(again) != 0 {
		t.Fatalf("%d transactions still prepared after the restarted child committed them all", len(again))
	}
}

// SIGKILL while checkpoints and segment rotations run all the time: with
// 64 KiB values a checkpoint is due every ~32 writes and a rotation every
// ~64, so the kill lands among them. Every acknowledged write survives,
// nothing else appears, and the restarted store resolves the prepared
// work.
func TestCrashSIGKILLAmidCheckpoints(t *testing.T) {
	path := crashStore(t)
	a, _ := runChild(t, path, "load", 200+rand.IntN(300), bigTxs)
	segs, err := listSegments(logDir(path))
	must(t, err)
	s, prepared, committed := checkSurvivors(t, path, a)
	t.Logf("killed after %d prepares, %d commits, %d aborts acknowledged; %d segment(s) left; on disk: %d committed, %d prepared",
		len(a.prepared), len(a.committed), len(a.aborted), len(segs), committed, len(prepared))
	for _, i := range prepared {
		must(t, s.Commit(ctx, crashTx(i)))
		a.committed[i] = true
	}
	must(t, s.Close())
	s, again, _ := checkSurvivors(t, path, a)
	defer s.Close()
	if len(again) != 0 {
		t.Fatalf("%d transactions still prepared after committing them all", len(again))
	}
}

// Three lives, each killed under load: the second and third start on a
// store that recovered from the kill before (its log restarted, its LSNs
// continuing). Every write any life acknowledged survives all of them.
func TestCrashRepeatedKills(t *testing.T) {
	path := crashStore(t)
	all := acks{prepared: map[int]bool{}, committed: map[int]bool{}, aborted: map[int]bool{}}
	for life := range 3 {
		a, other := runChild(t, path, "load", 800+rand.IntN(800), life*100000)
		for _, line := range other {
			if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "open-error") {
				t.Fatalf("life %d: %s", life, line)
			}
		}
		all.merge(a)
	}
	s := openStore(t, path)
	defer s.Close()
	outs, err := s.Outcomes()
	must(t, err)
	data, err := s.ReadAll()
	must(t, err)
	checked := 0
	for i := range all.touched() {
		st, err := s.State(ctx, crashTx(i))
		must(t, err)
		v, has := data[crashKey(i)]
		if err := checkOne(i, st, outs[crashTx(i)], v, has, all); err != nil {
			t.Error(err)
		}
		checked++
	}
	for id, st := range outs { // nothing outside what the lives ran
		i, err := strconv.Atoi(strings.TrimPrefix(id, "tx-"))
		if err != nil || checkOne(i, st, st, data[crashKey(i)], st == participant.StateCommitted, all) != nil {
			t.Errorf("outcome %s %v: not a transaction the lives ran as such", id, st)
		}
	}
	t.Logf("3 lives: %d prepares, %d commits, %d aborts acknowledged; %d transactions checked, %d outcomes on record", len(all.prepared), len(all.committed), len(all.aborted), checked, len(outs))
}

func (a *acks) merge(b acks) {
	for i := range b.prepared {
		a.prepared[i] = true
	}
	for i := range b.committed {
		a.committed[i] = true
	}
	for i := range b.aborted {
		a.aborted[i] = true
	}
}

// touched lists every transaction some life acknowledged something of,
// and the 64 after each life's last (started, perhaps never answered).
func (a *acks) touched() map[int]bool {
	out := map[int]bool{}
	for _, m := range []map[int]bool{a.prepared, a.committed, a.aborted} {
		for i := range m {
			for j := i; j <= i+64; j++ {
				out[j] = true
			}
		}
	}
	return out
}

// unapplied counts the log records of the store at path that no
// checkpoint applied to bbolt: what recovery must replay.
func unapplied(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	must(t, err)
	var applied uint64
	must(t, db.View(func(btx *bolt.Tx) error { applied = readApplied(btx); return nil }))
	must(t, db.Close())
	segs, err := listSegments(logDir(path))
	must(t, err)
	n := 0
	for _, first := range segs {
		_, _, err := readSegment(filepath.Join(logDir(path), segName(first)), func(lsn uint64, _ []byte) error {
			if lsn > applied {
				n++
			}
			return nil
		})
		must(t, err)
	}
	return n
}

// wantLocked checks that prepared transaction i still holds its key.
func wantLocked(t *testing.T, s *Store, i int) {
	t.Helper()
	tx, err := s.Begin(ctx, "probe")
	must(t, err)
	defer func() { must(t, s.Rollback(ctx, "probe", tx)) }()
	if _, _, err := tx.Get(ctx, crashKey(i)); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("key of prepared tx %d: %v, want its lock held", i, err)
	}
}

// lastSegment returns the last segment of the store's log and where its
// whole records end.
func lastSegment(t *testing.T, path string) (string, int64, uint64) {
	t.Helper()
	dir := logDir(path)
	segs, err := listSegments(dir)
	must(t, err)
	if len(segs) == 0 {
		t.Fatal("no log segment")
	}
	seg := filepath.Join(dir, segName(segs[len(segs)-1]))
	var last uint64
	end, torn, err := readSegment(seg, func(lsn uint64, _ []byte) error { last = lsn; return nil })
	must(t, err)
	if torn {
		t.Fatalf("%s: torn before the test tore it", seg)
	}
	return seg, end, last
}

// A torn tail: after a SIGKILL, the last segment gets what a crash in the
// middle of the next group's write leaves (never acknowledged: its
// fdatasync had not returned): half a record, the file cut short after it;
// a whole record with a bad checksum; garbage after the zero fill's start.
// The store opens, every acknowledged write is there, the torn
// transaction is not, and the store writes and reopens cleanly after.
func TestCrashTornTail(t *testing.T) {
	tears := map[string]func(rec []byte) (data []byte, truncate bool){
		"half a record, file cut": func(rec []byte) ([]byte, bool) { return rec[:len(rec)/2], true },
		"bad checksum":            func(rec []byte) ([]byte, bool) { rec[5] ^= 0xff; return rec, false },
		"length bytes zero, tail": func(rec []byte) ([]byte, bool) { copy(rec, []byte{0, 0, 0, 0}); return rec, false },
		"length past end of file": func(rec []byte) ([]byte, bool) { rec[0] = 0x7f; return rec, false },
	}
	for name, tear := range tears {
		t.Run(name, func(t *testing.T) {
			path := crashStore(t)
			a, _ := runChild(t, path, "load", 300+rand.IntN(300))
			seg, end, last := lastSegment(t, path)
			torn := &record{kind: recOnePhase, txID: "torn-tx", at: time.Now(), writes: map[string][]byte{"torn-key": []byte("torn")}}
			data, truncate := tear(appendRecord(nil, last+1, torn.encode()))
			f, err := os.OpenFile(seg, os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt(data, end)
			must(t, err)
			if truncate {
				must(t, f.Truncate(end+int64(len(data))))
			}
			must(t, f.Close())

			s, _, _ := checkSurvivors(t, path, a)
			wantState(t, s, "torn-tx", participant.StateNone)
			wantValue(t, s, "torn-key", "")
			must(t, s.CommitOnePhase(ctx, "after", beginPut(t, s, "after", "after-key", "v")))
			must(t, s.Close())
			s = openStore(t, path)
			defer s.Close()
			wantState(t, s, "after", participant.StateCommitted)
			wantValue(t, s, "after-key", "v")
		})
	}
}

func beginPut(t *testing.T, s *Store, txID, key, val string) *Tx {
	t.Helper()
	tx, err := s.Begin(ctx, txID)
	must(t, err)
	must(t, tx.Put(ctx, key, []byte(val)))
	return tx
}
