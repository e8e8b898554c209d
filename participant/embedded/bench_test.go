package embedded

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store comparison: prepare and commit latency at concurrency 1,
// throughput at 16 and 64, and fdatasync+fsync calls per prepare and per
// decision (counted by strace around a child process), for the store and
// for the bbolt ways it could commit, side by side in one run:
//
//	ARBITER_STORE_BENCH=1 go test -run '^TestStoreComparison$' -v ./participant/embedded
//
// ARBITER_STORE_BENCH_N scales the work (default 400 transactions at c=1).

// benchTarget is one way to make a prepare and a decision durable.
type benchTarget interface {
	prepare(txID, key string, val []byte) error
	commit(txID string) error
	committed() (int, error) // committed transactions now on record
	close() error
}

type benchVariant struct {
	name string
	open func(path string) (benchTarget, error)
}

var freelistOff = &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}

func boltVariant(name string, how boltWrite, opts *bolt.Options, delay time.Duration) benchVariant {
	return benchVariant{name, func(path string) (benchTarget, error) {
		m, err := openBoltModel(path, how, opts)
		if err == nil && delay > 0 {
			m.db.MaxBatchDelay = delay
		}
		return m, err
	}}
}

// benchVariants: the first is "before" (main's store), the last "after".
var benchVariants = []benchVariant{
	boltVariant("before: bbolt group commit, NoFreelistSync, map freelist", boltGroup, freelistOff, 0),
	boltVariant("bbolt Update per write, default options", boltUpdate, &bolt.Options{Timeout: time.Second}, 0),
	boltVariant("bbolt Update per write, NoFreelistSync, map freelist", boltUpdate, freelistOff, 0),
	boltVariant("bbolt Batch (MaxBatchDelay 10ms), default options", boltBatch, &bolt.Options{Timeout: time.Second}, 0),
	boltVariant("bbolt Batch (MaxBatchDelay 1ms), NoFreelistSync, map", boltBatch, freelistOff, time.Millisecond),
	boltVariant("bbolt Batch (MaxBatchDelay 0), NoFreelistSync, map", boltBatch, freelistOff, time.Nanosecond),
	{"after: intent log, group commit (this store)", func(path string) (benchTarget, error) {
		s, err := Open(path, Options{})
		return storeTarget{s}, err
	}},
}

// storeTarget drives the real store: Begin, Put, Prepare, then Commit.
type storeTarget struct{ s *Store }

func (st storeTarget) prepare(txID, key string, val []byte) error {
	tx, err := st.s.Begin(ctx, txID)
	if err != nil {
		return err
	}
	if err := tx.Put(ctx, key, val); err != nil {
		return err
	}
	return st.s.Prepare(ctx, txID, tx, time.Now().Add(time.Minute))
}

func (st storeTarget) commit(txID string) error { return st.s.Commit(ctx, txID) }

func (st storeTarget) committed() (int, error) {
	outs, err := st.s.Outcomes()
	return len(outs), err
}

func (st storeTarget) close() error { return st.s.Close() }

func (m *boltModel) committed() (int, error) {
	n := 0
	err := m.db.View(func(btx *bolt.Tx) error {
		n = btx.Bucket(bucketOutcomes).Stats().KeyN
		return nil
	})
	return n, err
}

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("ARBITER_STORE_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 400
}

type benchRow struct {
	name                   string
	prepP50, commitP50     time.Duration
	prepP99, commitP99     time.Duration
	tput16, tput64         float64
	fsPrepare, fsDecision  float64 // at concurrency 1
	fsPrepare16, fsDecid16 float64 // at concurrency 16
}

func TestStoreComparison(t *testing.T) {
	if os.Getenv("ARBITER_STORE_BENCH") == "" {
		t.Skip("set ARBITER_STORE_BENCH=1 to run the store comparison")
	}
	n := benchN()
	rows := make([]benchRow, len(benchVariants))
	lat := make([]latencies, len(benchVariants))
	tput := make([][2]time.Duration, len(benchVariants))
	// Rounds interleave the variants, so load from other processes on the
	// machine falls on all of them alike.
	for round := range benchRounds {
		for i, v := range benchVariants {
			lat[i].run(t, v, round, n/benchRounds)
			tput[i][0] += timeConcurrent(t, v, 16, 4*n/benchRounds)
			tput[i][1] += timeConcurrent(t, v, 64, 8*n/benchRounds)
		}
	}
	for i, v := range benchVariants {
		r := &rows[i]
		r.name = v.name
		r.prepP50, r.prepP99, r.commitP50, r.commitP99 = pct(lat[i].prep, 50), pct(lat[i].prep, 99), pct(lat[i].comm, 50), pct(lat[i].comm, 99)
		r.tput16 = float64(4*n/benchRounds*benchRounds) / tput[i][0].Seconds()
		r.tput64 = float64(8*n/benchRounds*benchRounds) / tput[i][1].Seconds()
		r.fsPrepare, r.fsDecision = fsyncsPerOp(t, i, 1, n)
		r.fsPrepare16, r.fsDecid16 = fsyncsPerOp(t, i, 16, 4*n)
	}
	printRows(t, rows)
}

const benchRounds = 4

type latencies struct{ prep, comm []time.Duration }

// run times n transactions one after another on a fresh store.
func (l *latencies) run(t *testing.T, v benchVariant, round, n int) {
	tg := openTarget(t, v)
	defer func() { must(t, tg.close()) }()
	for i := range n {
		id := fmt.Sprintf("lat-%d-%06d", round, i)
		t0 := time.Now()
		must(t, tg.prepare(id, "k-"+id, []byte("value")))
		t1 := time.Now()
		must(t, tg.commit(id))
		l.prep, l.comm = append(l.prep, t1.Sub(t0)), append(l.comm, time.Since(t1))
	}
	wantCommitted(t, tg, n)
}

func printRows(t *testing.T, rows []benchRow) {
	base := rows[0]
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-58s %22s %22s %16s %16s %18s %18s\n", "variant (ratio to the first row)", "prepare p50 (p99) c=1", "commit p50 (p99) c=1", "tx/s c=16", "tx/s c=64", "fsync/prep c=1|16", "fsync/decide c=1|16")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-58s %9s (%5s) %4.2fx %9s (%5s) %4.2fx %9.0f %5.2fx %9.0f %5.2fx %8.2f|%-8.2f %8.2f|%-8.2f\n", r.name,
			ms(r.prepP50), ms(r.prepP99), float64(r.prepP50)/float64(base.prepP50),
			ms(r.commitP50), ms(r.commitP99), float64(r.commitP50)/float64(base.commitP50),
			r.tput16, r.tput16/base.tput16, r.tput64, r.tput64/base.tput64,
			r.fsPrepare, r.fsPrepare16, r.fsDecision, r.fsDecid16)
	}
	t.Log(b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/1e6) }

func openTarget(t *testing.T, v benchVariant) benchTarget {
	t.Helper()
	tg, err := v.open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func wantCommitted(t *testing.T, tg benchTarget, n int) {
	t.Helper()
	got, err := tg.committed()
	must(t, err)
	if got != n {
		t.Fatalf("%d transactions on record as committed, want %d", got, n)
	}
}

// timeConcurrent runs total transactions (prepare then commit) from c
// goroutines on a fresh store and returns how long they took.
func timeConcurrent(t *testing.T, v benchVariant, c, total int) time.Duration {
	tg := openTarget(t, v)
	defer func() { must(t, tg.close()) }()
	start := time.Now()
	must(t, runConcurrent(tg, c, total, true))
	el := time.Since(start)
	wantCommitted(t, tg, total)
	return el
}

// runConcurrent runs total transactions from c goroutines, committing each
// after its prepare if commit is set.
func runConcurrent(tg benchTarget, c, total int, commit bool) error {
	var wg sync.WaitGroup
	errs := make(chan error, c)
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := fmt.Sprintf("tp-%06d", i)
				err := tg.prepare(id, "k-"+id, []byte("value"))
				if err == nil && commit {
					err = tg.commit(id)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// fsyncsPerOp counts fdatasync and fsync calls of a child process that
// opens a fresh store, runs n transactions at concurrency c and closes it:
// once with no transactions, once preparing only, once preparing and
// committing. The differences, divided by n, are the calls per prepare and
// per decision (opening, closing and any background work included).
func fsyncsPerOp(t *testing.T, variant, c, n int) (prep, decide float64) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Logf("no strace: fsyncs not counted")
		return -1, -1
	}
	base := straceWorker(t, variant, c, 0, "prepare")
	p := straceWorker(t, variant, c, n, "prepare")
	pc := straceWorker(t, variant, c, n, "commit")
	return float64(p-base) / float64(n), float64(pc-p) / float64(n)
}

func straceWorker(t *testing.T, variant, c, n int, mode string) int {
	t.Helper()
	out := filepath.Join(t.TempDir(), "strace.txt")
	cmd := exec.Command("strace", "-f", "-c", "-o", out, "-e", "trace=fdatasync,fsync", os.Args[0], "-test.run=^TestStoreBenchWorker$")
	cmd.Env = append(os.Environ(), "ARBITER_STORE_WORKER="+strconv.Itoa(variant), "ARBITER_STORE_WORKER_C="+strconv.Itoa(c),
		"ARBITER_STORE_WORKER_N="+strconv.Itoa(n), "ARBITER_STORE_WORKER_MODE="+mode, "ARBITER_STORE_WORKER_DIR="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("worker under strace: %v\n%s", err, b)
	}
	return straceCalls(t, out)
}

// straceCalls sums the calls column of strace -c's summary.
func straceCalls(t *testing.T, path string) int {
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && (fields[len(fields)-1] == "fdatasync" || fields[len(fields)-1] == "fsync") {
			n, err := strconv.Atoi(fields[3])
			must(t, err)
			total += n
		}
	}
	return total
}

// TestStoreBenchWorker is the child process of fsyncsPerOp.
func TestStoreBenchWorker(t *testing.T) {
	vs := os.Getenv("ARBITER_STORE_WORKER")
	if vs == "" {
		t.Skip("child process of TestStoreComparison")
	}
	i, _ := strconv.Atoi(vs)
	c, _ := strconv.Atoi(os.Getenv("ARBITER_STORE_WORKER_C"))
	n, _ := strconv.Atoi(os.Getenv("ARBITER_STORE_WORKER_N"))
	tg, err := benchVariants[i].open(filepath.Join(os.Getenv("ARBITER_STORE_WORKER_DIR"), "store.db"))
	must(t, err)
	commit := os.Getenv("ARBITER_STORE_WORKER_MODE") == "commit"
	must(t, runConcurrent(tg, c, n, commit))
	if commit {
		wantCommitted(t, tg, n)
	}
	must(t, tg.close())
}
