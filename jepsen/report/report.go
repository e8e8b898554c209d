package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/arbiter-tx/arbiter/jepsen/check"
	"github.com/arbiter-tx/arbiter/jepsen/history"
)

// Files Write creates in its directory.
const (
	FileHistory       = "history.jsonl"
	FileFaults        = "faults.json"
	FileFinal         = "final.json"
	FileRun           = "run.json"
	FileResults       = "results.json"
	FileSummary       = "summary.txt"
	FileIndex         = "index.html"
	FileLinearizable  = "linearizability.html"
	DirLogs           = "logs"
	filePermissions   = 0o644
	folderPermissions = 0o755
)

// Write records the run in dir, creating it if needed: the history (one Op
// per line), the fault timeline, the final state, the run's metadata, the
// checker results, summary.txt, index.html and a copy of every node log
// (nodeLogs maps a node name to its log file). For a run with status-workload
// ops it also writes porcupine's linearizability visualization. Every file
// is attempted; the errors are joined.
func Write(dir string, run *history.Run, results []check.Result, nodeLogs map[string]string) error {
	if err := os.MkdirAll(filepath.Join(dir, DirLogs), folderPermissions); err != nil {
		return fmt.Errorf("report: create %s: %w", dir, err)
	}
	logs, logErr := copyLogs(dir, nodeLogs)
	lin := writeLinearization(dir, run)
	page := pageData{Run: run, Results: results, Logs: logs, Linearization: lin == nil && hasStatusOps(run)}
	return errors.Join(
		writeFile(dir, FileHistory, func(w io.Writer) error { return writeJSONL(w, run.Ops) }),
		writeJSON(dir, FileFaults, run.Faults),
		writeJSON(dir, FileFinal, run.Final),
		writeJSON(dir, FileRun, runMeta{Run: run}),
		writeJSON(dir, FileResults, results),
		writeFile(dir, FileSummary, func(w io.Writer) error { return writeSummary(w, run, results) }),
		writeFile(dir, FileIndex, func(w io.Writer) error { return writeIndex(w, page) }),
		logErr, lin,
	)
}

// runMeta is a Run without its ops, which go to history.jsonl: the
// shallower Ops field, always nil, hides the Run's and is omitted. (A "-"
// tag would not hide it: encoding/json drops such fields before shadowing.)
type runMeta struct {
	*history.Run
	Ops []history.Op `json:"ops,omitempty"`
}

func writeFile(dir, name string, fill func(io.Writer) error) (err error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("report: close %s: %w", name, cerr)
		}
	}()
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		return fmt.Errorf("report: write %s: %w", name, err)
	}
	return w.Flush()
}

func writeJSON(dir, name string, v any) error {
	return writeFile(dir, name, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func writeJSONL(w io.Writer, ops []history.Op) error {
	enc := json.NewEncoder(w)
	for _, op := range ops {
		if err := enc.Encode(op); err != nil {
			return err
		}
	}
	return nil
}

// copyLogs copies each node log to logs/<name>.log and returns the names
// it copied, sorted.
func copyLogs(dir string, nodeLogs map[string]string) ([]string, error) {
	var names []string
	var errs []error
	for name, src := range nodeLogs {
		base := filepath.Base(name)
		if base == "." || base == ".." || base == string(filepath.Separator) {
			errs = append(errs, fmt.Errorf("report: bad node name %q", name))
			continue
		}
		if err := copyFile(src, filepath.Join(dir, DirLogs, base+".log")); err != nil {
			errs = append(errs, fmt.Errorf("report: copy log of %s: %w", name, err))
			continue
		}
		names = append(names, base)
	}
	slices.Sort(names)
	return names, errors.Join(errs...)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, filePermissions)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeLinearization writes porcupine's visualization for a run with
// status-workload ops; other runs get none.
func writeLinearization(dir string, run *history.Run) error {
	if !hasStatusOps(run) {
		return nil
	}
	if err := check.LinearizabilityHTML(run, filepath.Join(dir, FileLinearizable)); err != nil {
		return fmt.Errorf("report: %s: %w", FileLinearizable, err)
	}
	return nil
}

func hasStatusOps(run *history.Run) bool {
	return slices.ContainsFunc(run.Ops, func(op history.Op) bool {
		return op.Kind == history.KindCommit || op.Kind == history.KindAbort || op.Kind == history.KindStatus ||
			op.Kind == history.KindResolve || op.Kind == history.KindResolveMember
	})
}
