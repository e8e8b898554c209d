package embedded

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-tx/arbiter/participant"
)

// Many concurrent prepares and commits share fsyncs; one that must fail (a
// prepare of an aborted transaction) fails alone and the others in its
// group still commit.
func TestGroupCommitUnderConcurrency(t *testing.T) {
	s, path := newStore(t)
	must(t, s.Abort(ctx, "doomed"))
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n+1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("tx-%d", i)
			tx, err := s.Begin(ctx, id)
			if err == nil {
				err = tx.Put(ctx, "k-"+id, []byte("v"))
			}
			if err == nil {
				err = s.Prepare(ctx, id, tx, time.Now().Add(time.Minute))
			}
			if err == nil {
				err = s.Commit(ctx, id)
			}
			errs[i] = err
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tx, err := s.Begin(ctx, "doomed")
		if err == nil {
			err = s.Prepare(ctx, "doomed", tx, time.Now().Add(time.Minute))
		}
		errs[n] = err
	}()
	wg.Wait()
	for i, err := range errs[:n] {
		if err != nil {
			t.Fatalf("tx-%d: %v", i, err)
		}
	}
	if !errors.Is(errs[n], participant.ErrAlreadyAborted) && !errors.Is(errs[n], participant.ErrTxExists) {
		t.Fatalf("prepare of an aborted transaction: %v, want a refusal", errs[n])
	}
	must(t, s.Close())
	s2 := openStore(t, path) // what was acknowledged is on disk
	defer s2.Close()
	all, err := s2.ReadAll()
	must(t, err)
	if len(all) != n {
		t.Fatalf("%d keys after reopen, want %d", len(all), n)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	s, _ := newStore(t)
	must(t, s.Close())
	if err := s.Abort(ctx, "x"); err == nil {
		t.Fatal("abort after close succeeded")
	}
}
