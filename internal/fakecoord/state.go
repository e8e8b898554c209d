package fakecoord

import (
	"time"

	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// SetAnswer replaces the Answer while the fake serves.
func (f *Coordinator) SetAnswer(answer Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

// SetResolve sets what Resolve answers.
func (f *Coordinator) SetResolve(o arbiterpb.Outcome, term uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcome, f.term = o, term
}

// SetEnlistErr makes Enlist fail with err (nil: succeed again).
func (f *Coordinator) SetEnlistErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enlistErr = err
}

// SetWindow sets the uniqueness window Register answers.
func (f *Coordinator) SetWindow(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.window = d
}

// Calls returns a copy of every call received, in order.
func (f *Coordinator) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Enlisted returns the tx IDs of the Enlists answered OK, in order.
func (f *Coordinator) Enlisted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.enlisted...)
}

// RegisterCount is how many Register calls arrived.
func (f *Coordinator) RegisterCount() int { return f.count("Register", nil) }

// ResolveCount is how many Resolve calls for txID arrived.
func (f *Coordinator) ResolveCount(txID string) int { return f.count("Resolve", &txID) }

func (f *Coordinator) count(method string, txID *string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Method == method && (txID == nil || c.TxID == *txID) {
			n++
		}
	}
	return n
}
