package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// DamagedRuns is how many runs [TestDamaged] writes before it calls
// damage: 200 runs of five units with 1 KiB of output each, about 1 MiB of
// records, so that a persistent store spreads them over many pages.
const DamagedRuns = 200

// TestDamaged checks what a persistent [scheduler.Store] does once its
// storage is damaged beneath it, as a failing disk or a hostile user with
// write access to its file would: it fails loudly. open returns a fresh,
// empty store, as for [TestStore]. The suite writes [DamagedRuns] runs
// and a value, then calls damage, which must damage the storage of st in
// place (st stays open) so that reading every run meets the damage (for a
// file: random bytes over the pages that hold the runs).
//
// It checks that no method panics; that ListRuns, which reads every run,
// returns an error rather than a partial or empty list; that from then on
// every write (PutRun, CreateRun, DeleteRun, DeleteRuns, PutValue) fails,
// and keeps failing; that Close returns, within ten seconds (it must
// release the storage even when it is damaged: test that it does, by
// opening the storage again, in the store's own tests); and that every
// method fails after Close.
func TestDamaged(t *testing.T, open func(t *testing.T) scheduler.Store, damage func(t *testing.T, st scheduler.Store)) {
	t.Helper()
	if open == nil || damage == nil {
		t.Fatal("storetest.TestDamaged: open and damage must not be nil")
	}
	st := open(t)
	if st == nil {
		t.Fatal("storetest: open returned a nil scheduler.Store")
	}
	closed := false
	closeStore := func() error {
		closed = true
		done := make(chan error, 1)
		go func() { done <- call(t, "Close", st.Close) }()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Close of a damaged store did not return within 10s: it must release the store whatever its state")
			return nil
		}
	}
	defer func() {
		if !closed {
			_ = closeStore()
		}
	}()

	ctx := t.Context()
	output := strings.Repeat("2025-03-14T01:00:00Z INFO copied a file to the backup bucket\n", 1024/61+1)[:1024]
	for i := range DamagedRuns {
		rec := record(fmt.Sprintf("backup@%04d", i), "backup", base.Add(time.Duration(i)*time.Minute), job.Succeeded)
		rec.Ended = rec.Created.Add(time.Minute)
		rec.Report.Units = nil
		for u := range 5 {
			rec.Report.Units = append(rec.Report.Units, job.UnitReport{Name: fmt.Sprintf("unit%d", u), State: job.Succeeded, Output: output})
		}
		mustPut(t, st, rec)
	}
	if err := st.PutValue(ctx, "schedule/backup/last", []byte("2025-03-14T01:00:00Z")); err != nil {
		t.Fatalf("PutValue: %v", err)
	}

	damage(t, st)

	var runs []scheduler.RunRecord
	err := call(t, "ListRuns", func() (err error) {
		runs, err = st.ListRuns(ctx, scheduler.RunFilter{})
		return err
	})
	if err == nil {
		t.Fatalf("ListRuns over damaged storage returned %d runs and no error: a damaged store must fail loudly, not answer from what it could read", len(runs))
	}
	t.Logf("ListRuns over damaged storage: %v", err)
	if errors.Is(err, job.ErrNotFound) {
		t.Errorf("ListRuns over damaged storage: %v: damage is not absence (job.ErrNotFound)", err)
	}

	writes := func(round string) {
		t.Helper()
		rec := record("after-damage", "backup", base, job.Pending)
		for _, w := range []struct {
			name string
			fn   func() error
		}{
			{"PutRun", func() error { return st.PutRun(ctx, rec) }},
			{"CreateRun", func() error { _, err := st.CreateRun(ctx, rec); return err }},
			{"DeleteRun", func() error { return st.DeleteRun(ctx, "backup@0001") }},
			{"DeleteRuns", func() error { _, err := st.DeleteRuns(ctx, base.Add(24*time.Hour)); return err }},
			{"PutValue", func() error { return st.PutValue(ctx, "k", []byte("v")) }},
		} {
			if err := call(t, w.name, w.fn); err == nil {
				t.Errorf("%s %s the store met damage succeeded: a damaged store must refuse every write", w.name, round)
			}
		}
	}
	writes("after")
	writes("again, after")

	if err := closeStore(); err != nil {
		t.Logf("Close of the damaged store: %v", err)
	}
	if err := call(t, "Close", st.Close); err != nil {
		t.Logf("a second Close: %v", err)
	}
	if err := call(t, "PutRun", func() error { return st.PutRun(ctx, record("after-close", "n", base, job.Pending)) }); err == nil {
		t.Error("PutRun after Close of a damaged store succeeded")
	}
	if err := call(t, "GetValue", func() error { _, err := st.GetValue(ctx, "schedule/backup/last"); return err }); err == nil {
		t.Error("GetValue after Close of a damaged store succeeded")
	}
}

// call calls fn, turning a panic into a test error and an error return.
func call(t *testing.T, method string, fn func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v; a store returns errors, never panics", method, r)
			err = fmt.Errorf("%s panicked: %v", method, r)
		}
	}()
	return fn()
}
