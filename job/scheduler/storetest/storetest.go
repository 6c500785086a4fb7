package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// TestStore runs the conformance suite for a [scheduler.Store] implementation as
// subtests of t. open must return a fresh, empty store each time it is
// called (one per subtest); it may call t.Fatal when it cannot, and should
// register with t.Cleanup whatever else the store needs removed (files,
// directories). The suite closes every store it opens, exactly once.
//
// The suite runs concurrent subtests of its own (goroutines sharing one
// store); run it with -race.
func TestStore(t *testing.T, open func(t *testing.T) scheduler.Store) {
	t.Helper()
	if open == nil {
		t.Fatal("storetest.TestStore: open is nil")
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) scheduler.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"GetRunMissing", testGetRunMissing},
		{"CreateRun", testCreateRun},
		{"CreateRunConcurrent", testCreateRunConcurrent},
		{"ListRuns", testListRuns},
		{"DeleteRuns", testDeleteRuns},
		{"DeleteRun", testDeleteRun},
		{"Values", testValues},
		{"Copies", testCopies},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// fresh opens a store, checks that it is empty and registers its Close.
func fresh(t *testing.T, open func(t *testing.T) scheduler.Store) scheduler.Store {
	t.Helper()
	st := open(t)
	if st == nil {
		t.Fatal("storetest: open returned a nil scheduler.Store")
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("storetest: Close: %v", err)
		}
	})
	runs, err := st.ListRuns(t.Context(), scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("storetest: ListRuns on a fresh store: %v", err)
	}
	if len(runs) != 0 {
		t.Fatalf("storetest: open must return a fresh, empty store, but it holds %d runs: %v", len(runs), ids(runs))
	}
	return st
}

// base is the suite's reference time: nanoseconds set, so that a store
// that truncates times fails the round trip.
var base = time.Date(2025, 3, 14, 1, 59, 26, 535897932, time.UTC)

var jst = time.FixedZone("JST", 9*60*60)

// fullRecord returns a record with every field set, binary definition bytes
// and non-ASCII output included. Give it a time.Now(): it carries a
// monotonic clock reading, which stores drop.
func fullRecord(now time.Time) scheduler.RunRecord {
	rec := handRecord(now)
	fill("", reflect.ValueOf(&rec).Elem(), now)
	return rec
}

// handRecord is fullRecord's record as written by hand: every field of
// RunRecord known when the suite was written, and unit reports in every
// final state.
func handRecord(now time.Time) scheduler.RunRecord {
	long := strings.Repeat("0123456789abcdef", 64) + "\n... output truncated; the rest is in /var/lib/minato/out/upload.log\n"
	return scheduler.RunRecord{
		ID:         "backup@2025-03-14T01:00:00Z",
		Network:    "backup",
		Trigger:    scheduler.TriggerRerun,
		Due:        base.Add(-59 * time.Minute).In(jst),
		Created:    now,
		Ended:      now.Add(90*time.Second + 7),
		Queue:      "nightly",
		RerunOf:    "backup@2025-03-13T01:00:00Z",
		Definition: []byte("name: backup\nunits:\n  - name: dump\n\x00\x01\xfe\xff"),
		Report: job.NetworkReport{
			Name:  "backup",
			State: job.StateFailed,
			Units: []job.UnitReport{
				{
					Name: "dump", State: job.Succeeded, ExitCode: 0, Attempts: 1,
					Started: now.Add(time.Second), Ended: now.Add(31 * time.Second),
					Output: "dumped 42 tables\nテーブル 42 件\n\ttab \"quoted\" \\ back\n",
				},
				{
					Name: "upload", State: job.StateFailed, ExitCode: 2, Attempts: 3,
					Started: now.Add(32 * time.Second), Ended: now.Add(89 * time.Second),
					Output: long, OutputFile: "/var/lib/minato/out/upload.log",
					Message: "exit code 2 after 3 attempts",
				},
				{
					Name: "cleanup", State: job.TimedOut, ExitCode: -1, Attempts: 1,
					Started: base.In(jst), Ended: base.Add(time.Minute),
					Message: "timed out after 1m0s",
				},
				{Name: "notify", State: job.Skipped, Message: "when: on failure: no need failed"},
				{Name: "report", State: job.Cancelled, Message: "cancelled before it started"},
			},
		},
	}
}

// record returns a small record of network created at created in state.
func record(id, network string, created time.Time, state job.UnitState) scheduler.RunRecord {
	return scheduler.RunRecord{
		ID: id, Network: network, Trigger: scheduler.TriggerSchedule, Created: created,
		Report: job.NetworkReport{Name: network, State: state, Units: []job.UnitReport{{Name: "u", State: state}}},
	}
}

func testRoundTrip(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	ctx := t.Context()
	now := time.Now()

	want := fullRecord(now)
	mustPut(t, st, want)
	got := mustGet(t, st, want.ID)
	checkRecord(t, "GetRun after PutRun of a record with every field set", want, got)

	// A minimal record keeps its zero values: zero times stay zero, empty
	// slices stay empty.
	minimal := scheduler.RunRecord{ID: "minimal", Created: base}
	mustPut(t, st, minimal)
	got = mustGet(t, st, minimal.ID)
	checkRecord(t, "GetRun after PutRun of a minimal record", minimal, got)
	if !got.Due.IsZero() || !got.Ended.IsZero() {
		t.Errorf("GetRun(%q): zero times must stay zero (IsZero), got Due %v, Ended %v", minimal.ID, got.Due, got.Ended)
	}

	// PutRun replaces.
	next := fullRecord(now)
	next.Report.State = job.Succeeded
	next.Report.Units = next.Report.Units[:1]
	next.Definition = nil
	next.Ended = base.Add(time.Hour)
	mustPut(t, st, next)
	got = mustGet(t, st, next.ID)
	checkRecord(t, "GetRun after a second PutRun with the same ID (PutRun must replace)", next, got)

	runs, err := st.ListRuns(ctx, scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	if len(runs) != 2 {
		t.Fatalf("ListRuns after PutRun of 2 IDs (one twice): got %d runs %v, want 2", len(runs), ids(runs))
	}
	for _, r := range runs {
		if r.ID == next.ID {
			checkRecord(t, "ListRuns after PutRun", next, r)
		}
	}
}

func testGetRunMissing(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	_, err := st.GetRun(t.Context(), "no-such-run")
	if !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("GetRun of a missing ID on an empty store: got error %v, want one wrapping job.ErrNotFound", err)
	}
	mustPut(t, st, record("present", "n", base, job.Succeeded))
	_, err = st.GetRun(t.Context(), "absent")
	if !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("GetRun of a missing ID: got error %v, want one wrapping job.ErrNotFound", err)
	}
	if err := st.PutValue(t.Context(), "absent", []byte("a value, not a run")); err != nil {
		t.Fatalf("PutValue: %v", err)
	}
	if _, err := st.GetRun(t.Context(), "absent"); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("GetRun of an ID that is only a value's key: got error %v, want one wrapping job.ErrNotFound (runs and values are separate)", err)
	}
}

func testCreateRun(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	ctx := t.Context()
	first := fullRecord(time.Now())
	created, err := st.CreateRun(ctx, first)
	if err != nil {
		t.Fatalf("CreateRun(%q) on an empty store: %v", first.ID, err)
	}
	if !created {
		t.Fatalf("CreateRun(%q) on an empty store returned created=false, want true", first.ID)
	}
	checkRecord(t, "GetRun after CreateRun", first, mustGet(t, st, first.ID))

	second := record(first.ID, "other-network", base.Add(time.Hour), job.Pending)
	created, err = st.CreateRun(ctx, second)
	if err != nil {
		t.Fatalf("second CreateRun(%q): %v", second.ID, err)
	}
	if created {
		t.Fatalf("second CreateRun(%q) returned created=true, want false: the run exists", second.ID)
	}
	checkRecord(t, "GetRun after a second CreateRun with the same ID (it must not overwrite)", first, mustGet(t, st, first.ID))

	put := record("put-first", "n", base, job.Running)
	mustPut(t, st, put)
	created, err = st.CreateRun(ctx, record(put.ID, "n2", base, job.Pending))
	if err != nil || created {
		t.Fatalf("CreateRun(%q) after PutRun of that ID: got (%v, %v), want (false, nil)", put.ID, created, err)
	}
	checkRecord(t, "GetRun after CreateRun of an ID PutRun wrote (it must not overwrite)", put, mustGet(t, st, put.ID))

	other := record("another", "n", base, job.Pending)
	created, err = st.CreateRun(ctx, other)
	if err != nil || !created {
		t.Fatalf("CreateRun(%q) of a new ID in a non-empty store: got (%v, %v), want (true, nil)", other.ID, created, err)
	}
}

func testCreateRunConcurrent(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	const n = 16
	const id = "nightly@2025-03-14T01:00:00Z"
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := record(id, "nightly", base, job.Pending)
			rec.Queue = fmt.Sprintf("q%02d", i) // marks who wrote it
			<-start
			created[i], errs[i] = st.CreateRun(t.Context(), rec)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Errorf("concurrent CreateRun #%d: %v", i, errs[i])
			continue
		}
		if created[i] {
			if winner >= 0 {
				t.Errorf("concurrent CreateRun with one ID: calls #%d and #%d both returned created=true; exactly one may create", winner, i)
			}
			winner = i
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if winner < 0 {
		t.Fatalf("concurrent CreateRun with one ID: no call of %d returned created=true; exactly one must create", n)
	}
	got := mustGet(t, st, id)
	if want := fmt.Sprintf("q%02d", winner); got.Queue != want {
		t.Fatalf("concurrent CreateRun: call #%d created the run, but the stored run was written by the call with Queue %q: a losing call overwrote it", winner, got.Queue)
	}
}

func testListRuns(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	t1, t2, t3 := base.Add(time.Minute), base.Add(2*time.Minute), base.Add(3*time.Minute)
	recs := []scheduler.RunRecord{
		record("beta@2", "beta", t2, job.Pending),
		record("alpha@1", "alpha", t1, job.Succeeded),
		record("alpha@3", "alpha", t3, ""), // did not run: not finished
		// Same instant as t2 in another location: order is by instant.
		record("gamma@2", "gamma", t2.In(jst), job.Cancelled),
		record("beta@1", "beta", t1, job.StateFailed),
		record("alpha@2", "alpha", t2, job.Running),
	}
	for _, r := range recs {
		mustPut(t, st, r)
	}
	all := []string{"alpha@3", "gamma@2", "beta@2", "alpha@2", "beta@1", "alpha@1"}
	for _, c := range []struct {
		f    scheduler.RunFilter
		want []string
	}{
		{scheduler.RunFilter{}, all},
		{scheduler.RunFilter{Limit: -1}, all},
		{scheduler.RunFilter{Limit: len(all)}, all},
		{scheduler.RunFilter{Limit: 100}, all},
		{scheduler.RunFilter{Limit: 2}, []string{"alpha@3", "gamma@2"}},
		{scheduler.RunFilter{Limit: 1}, []string{"alpha@3"}},
		{scheduler.RunFilter{Network: "alpha"}, []string{"alpha@3", "alpha@2", "alpha@1"}},
		{scheduler.RunFilter{Network: "beta", Limit: 1}, []string{"beta@2"}},
		{scheduler.RunFilter{Network: "no-such-network"}, nil},
		{scheduler.RunFilter{Unfinished: true}, []string{"alpha@3", "beta@2", "alpha@2"}},
		{scheduler.RunFilter{Unfinished: true, Limit: 2}, []string{"alpha@3", "beta@2"}},
		{scheduler.RunFilter{Network: "alpha", Unfinished: true}, []string{"alpha@3", "alpha@2"}},
		{scheduler.RunFilter{Network: "gamma", Unfinished: true}, nil},
	} {
		runs, err := st.ListRuns(t.Context(), c.f)
		if err != nil {
			t.Fatalf("ListRuns(%+v): %v", c.f, err)
		}
		if got := ids(runs); !slices.Equal(got, c.want) {
			t.Errorf("ListRuns(%+v) = %v, want %v (newest Created first, then ID descending; Network, Unfinished = !Report.State.Finished(), then the newest Limit)", c.f, got, c.want)
		}
	}
	runs, err := st.ListRuns(t.Context(), scheduler.RunFilter{Network: "beta"})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	if len(runs) == 2 {
		checkRecord(t, "ListRuns must return whole records", recs[0], runs[0])
		checkRecord(t, "ListRuns must return whole records", recs[4], runs[1])
	}
}

func testDeleteRuns(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	ctx := t.Context()
	cutoff := base.Add(24 * time.Hour)
	ended := func(r scheduler.RunRecord, e time.Time) scheduler.RunRecord { r.Ended = e; return r }
	recs := []scheduler.RunRecord{
		ended(record("old-succeeded", "n", base, job.Succeeded), cutoff.Add(-time.Hour)),
		ended(record("old-failed", "n", base, job.StateFailed), cutoff.Add(-time.Nanosecond).In(jst)),
		ended(record("old-timed-out", "m", base, job.TimedOut), cutoff.Add(-24*time.Hour)),
		ended(record("old-cancelled", "m", base, job.Cancelled), cutoff.Add(-time.Minute)),
		ended(record("at-cutoff", "n", base, job.Succeeded), cutoff),
		ended(record("new-failed", "n", base, job.StateFailed), cutoff.Add(time.Nanosecond)),
		// Not finished, whatever Ended says: never deleted.
		ended(record("running", "n", base, job.Running), cutoff.Add(-time.Hour)),
		ended(record("pending", "n", base, job.Pending), cutoff.Add(-time.Hour)),
		record("pending-no-end", "n", base, job.Pending),
		ended(record("never-ran", "n", base, ""), cutoff.Add(-time.Hour)),
	}
	for _, r := range recs {
		mustPut(t, st, r)
	}
	n, err := st.DeleteRuns(ctx, cutoff)
	if err != nil {
		t.Fatalf("DeleteRuns(%v): %v", cutoff, err)
	}
	deleted := []string{"old-succeeded", "old-failed", "old-timed-out", "old-cancelled"}
	if n != len(deleted) {
		t.Errorf("DeleteRuns(%v) returned %d, want %d (the finished runs that ended strictly before the cutoff: %v)", cutoff, n, len(deleted), deleted)
	}
	for _, id := range deleted {
		if _, err := st.GetRun(ctx, id); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("GetRun(%q) after DeleteRuns: got error %v, want job.ErrNotFound: it is finished and ended before the cutoff", id, err)
		}
	}
	runs, err := st.ListRuns(ctx, scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	got := ids(runs)
	slices.Sort(got)
	want := []string{"at-cutoff", "never-ran", "new-failed", "pending", "pending-no-end", "running"}
	if !slices.Equal(got, want) {
		t.Errorf("runs left after DeleteRuns = %v, want %v (unfinished runs and runs that ended at or after the cutoff stay)", got, want)
	}
	n, err = st.DeleteRuns(ctx, cutoff)
	if err != nil || n != 0 {
		t.Errorf("second DeleteRuns(%v): got (%d, %v), want (0, nil)", cutoff, n, err)
	}
	n, err = st.DeleteRuns(ctx, cutoff.Add(48*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("DeleteRuns with a later cutoff: got (%d, %v), want (2, nil): at-cutoff and new-failed", n, err)
	}
	runs, err = st.ListRuns(ctx, scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	if len(runs) != 4 {
		t.Errorf("runs left = %v, want the 4 unfinished ones", ids(runs))
	}
}

func testDeleteRun(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	ctx := t.Context()
	mustPut(t, st, record("running", "n", base, job.Running))
	mustPut(t, st, record("done", "n", base, job.Succeeded))
	if err := st.DeleteRun(ctx, "running"); err != nil {
		t.Fatalf("DeleteRun(%q): %v", "running", err)
	}
	if _, err := st.GetRun(ctx, "running"); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("GetRun(%q) after DeleteRun: got error %v, want job.ErrNotFound (DeleteRun deletes unfinished runs too)", "running", err)
	}
	if err := st.DeleteRun(ctx, "missing"); err != nil {
		t.Errorf("DeleteRun of a run that does not exist: %v, want nil", err)
	}
	runs, err := st.ListRuns(ctx, scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	if got := ids(runs); !slices.Equal(got, []string{"done"}) {
		t.Errorf("runs left after DeleteRun = %v, want [done]", got)
	}
	created, err := st.CreateRun(ctx, record("running", "n", base, job.Pending))
	if err != nil || !created {
		t.Errorf("CreateRun of a deleted run's ID: got (%v, %v), want (true, nil)", created, err)
	}
}

func testValues(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	ctx := t.Context()
	get := func(key string) []byte {
		t.Helper()
		v, err := st.GetValue(ctx, key)
		if err != nil {
			t.Fatalf("GetValue(%q): %v", key, err)
		}
		return v
	}
	put := func(key string, v []byte) {
		t.Helper()
		if err := st.PutValue(ctx, key, v); err != nil {
			t.Fatalf("PutValue(%q, %q): %v", key, v, err)
		}
	}
	if v := get("scheduler/last-tick"); v != nil {
		t.Fatalf("GetValue of a missing key = %q, want nil", v)
	}
	put("scheduler/last-tick", []byte("2025-03-14T01:00:00Z"))
	put("other", []byte{0, 1, 2, 0xff})
	if v := get("scheduler/last-tick"); string(v) != "2025-03-14T01:00:00Z" {
		t.Fatalf("GetValue after PutValue = %q, want %q", v, "2025-03-14T01:00:00Z")
	}
	put("scheduler/last-tick", []byte("2025-03-14T02:00:00Z"))
	if v := get("scheduler/last-tick"); string(v) != "2025-03-14T02:00:00Z" {
		t.Fatalf("GetValue after a second PutValue = %q, want %q (PutValue must replace)", v, "2025-03-14T02:00:00Z")
	}
	put("scheduler/last-tick", nil)
	if v := get("scheduler/last-tick"); v != nil {
		t.Fatalf("GetValue after PutValue(nil) = %q, want nil: a nil value deletes the key", v)
	}
	put("never-set", nil) // deleting a missing key is not an error
	if v := get("other"); !slices.Equal(v, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("GetValue(%q) = %v, want [0 1 2 255]: deleting one key must not touch another", "other", v)
	}
	put("empty", []byte{})
	if v := get("empty"); v == nil || len(v) != 0 {
		t.Fatalf("GetValue of a key stored with an empty, non-nil value = %#v, want an empty non-nil slice (nil means no value)", v)
	}
	big := []byte(strings.Repeat("x", 64<<10))
	put("big", big)
	if v := get("big"); !slices.Equal(v, big) {
		t.Fatalf("GetValue of a 64 KiB value returned %d bytes, want the %d stored", len(v), len(big))
	}
	runs, err := st.ListRuns(ctx, scheduler.RunFilter{})
	if err != nil || len(runs) != 0 {
		t.Fatalf("ListRuns after PutValue only: got %v, %v; want no runs (values are not runs)", ids(runs), err)
	}
}

func testCopies(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	ctx := t.Context()
	now := time.Now()
	want := fullRecord(now)

	// The store must not keep the caller's memory.
	in := fullRecord(now)
	mustPut(t, st, in)
	scribble(&in)
	checkRecord(t, "GetRun after the caller modified the record it gave PutRun (the store must keep a copy)", want, mustGet(t, st, want.ID))

	in2 := fullRecord(now)
	in2.ID = "created"
	if ok, err := st.CreateRun(ctx, in2); err != nil || !ok {
		t.Fatalf("CreateRun(%q): (%v, %v)", in2.ID, ok, err)
	}
	scribble(&in2)
	want2 := fullRecord(now)
	want2.ID = "created"
	checkRecord(t, "GetRun after the caller modified the record it gave CreateRun (the store must keep a copy)", want2, mustGet(t, st, want2.ID))

	// Nor give the caller its own.
	got := mustGet(t, st, want.ID)
	scribble(&got)
	checkRecord(t, "GetRun after the caller modified what an earlier GetRun returned (stores return copies)", want, mustGet(t, st, want.ID))

	runs, err := st.ListRuns(ctx, scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	for i := range runs {
		scribble(&runs[i])
	}
	checkRecord(t, "GetRun after the caller modified what ListRuns returned (stores return copies)", want, mustGet(t, st, want.ID))

	v := []byte("value")
	if err := st.PutValue(ctx, "k", v); err != nil {
		t.Fatalf("PutValue: %v", err)
	}
	v[0] = 'X'
	got1, err := st.GetValue(ctx, "k")
	if err != nil {
		t.Fatalf("GetValue: %v", err)
	}
	if string(got1) != "value" {
		t.Fatalf("GetValue after the caller modified the slice it gave PutValue = %q, want %q (the store must keep a copy)", got1, "value")
	}
	got1[0] = 'Y'
	got2, err := st.GetValue(ctx, "k")
	if err != nil {
		t.Fatalf("GetValue: %v", err)
	}
	if string(got2) != "value" {
		t.Fatalf("GetValue after the caller modified what an earlier GetValue returned = %q, want %q (stores return copies)", got2, "value")
	}
}

// scribble modifies everything in r that shares memory.
func scribble(r *scheduler.RunRecord) {
	for i := range r.Definition {
		r.Definition[i] = '#'
	}
	for i := range r.Report.Units {
		r.Report.Units[i].Name = "scribbled"
		r.Report.Units[i].State = job.Pending
		r.Report.Units[i].Output = "scribbled"
	}
}

func testClosed(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := open(t) // not fresh: this test closes it itself
	if st == nil {
		t.Fatal("storetest: open returned a nil scheduler.Store")
	}
	ctx := t.Context()
	rec := record("before-close", "n", base, job.Succeeded)
	rec.Ended = base
	if err := st.PutRun(ctx, rec); err != nil {
		st.Close()
		t.Fatalf("PutRun: %v", err)
	}
	if err := st.PutValue(ctx, "k", []byte("v")); err != nil {
		st.Close()
		t.Fatalf("PutValue: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check := func(method string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s after Close returned no error; every method must fail after Close", method)
		}
	}
	check("PutRun", st.PutRun(ctx, record("after-close", "n", base, job.Pending)))
	_, err := st.CreateRun(ctx, record("after-close", "n", base, job.Pending))
	check("CreateRun", err)
	_, err = st.GetRun(ctx, rec.ID)
	check("GetRun of a run stored before Close", err)
	if errors.Is(err, job.ErrNotFound) {
		t.Errorf("GetRun after Close returned %v: a closed store must not look like an empty one (ErrNotFound)", err)
	}
	_, err = st.ListRuns(ctx, scheduler.RunFilter{})
	check("ListRuns", err)
	_, err = st.DeleteRuns(ctx, base.Add(time.Hour))
	check("DeleteRuns", err)
	_, err = st.GetValue(ctx, "k")
	check("GetValue of a key stored before Close", err)
	check("PutValue", st.PutValue(ctx, "k", []byte("after")))
}

func testConcurrent(t *testing.T, open func(t *testing.T) scheduler.Store) {
	st := fresh(t, open)
	const workers, each = 8, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := t.Context()
			network := fmt.Sprintf("net%d", w)
			for i := range each {
				rec := record(fmt.Sprintf("%s@%03d", network, i), network, base.Add(time.Duration(i)*time.Second), job.Running)
				if err := st.PutRun(ctx, rec); err != nil {
					t.Errorf("concurrent PutRun(%q): %v", rec.ID, err)
					return
				}
				rec.Report.State = job.Succeeded
				rec.Ended = rec.Created.Add(time.Millisecond)
				if err := st.PutRun(ctx, rec); err != nil {
					t.Errorf("concurrent PutRun(%q) (update): %v", rec.ID, err)
					return
				}
				got, err := st.GetRun(ctx, rec.ID)
				if err != nil {
					t.Errorf("concurrent GetRun(%q) after its PutRun returned: %v", rec.ID, err)
					return
				}
				if got.Report.State != job.Succeeded {
					t.Errorf("concurrent GetRun(%q) after its PutRun returned: State %q, want %q", rec.ID, got.Report.State, job.Succeeded)
				}
				if _, err := st.CreateRun(ctx, record(fmt.Sprintf("shared@%03d", i), "shared", base, job.Pending)); err != nil {
					t.Errorf("concurrent CreateRun: %v", err)
					return
				}
				runs, err := st.ListRuns(ctx, scheduler.RunFilter{Network: network})
				if err != nil {
					t.Errorf("concurrent ListRuns: %v", err)
					return
				}
				if len(runs) != i+1 || runs[0].ID != rec.ID {
					t.Errorf("concurrent ListRuns(Network %q) after %d PutRuns = %v, want %d runs, %q first", network, i+1, ids(runs), i+1, rec.ID)
					return
				}
				if _, err := st.ListRuns(ctx, scheduler.RunFilter{Unfinished: true, Limit: 5}); err != nil {
					t.Errorf("concurrent ListRuns: %v", err)
					return
				}
				if err := st.PutValue(ctx, network, []byte(rec.ID)); err != nil {
					t.Errorf("concurrent PutValue: %v", err)
					return
				}
				if v, err := st.GetValue(ctx, network); err != nil || string(v) != rec.ID {
					t.Errorf("concurrent GetValue(%q) = (%q, %v), want (%q, nil)", network, v, err, rec.ID)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	runs, err := st.ListRuns(t.Context(), scheduler.RunFilter{})
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	if want := workers*each + each; len(runs) != want {
		t.Fatalf("ListRuns after the concurrent writers: %d runs, want %d", len(runs), want)
	}
	n, err := st.DeleteRuns(t.Context(), base.Add(time.Hour))
	if err != nil || n != workers*each {
		t.Fatalf("DeleteRuns after the concurrent writers: (%d, %v), want (%d, nil)", n, err, workers*each)
	}
}

func mustPut(t *testing.T, st scheduler.Store, rec scheduler.RunRecord) {
	t.Helper()
	if err := st.PutRun(t.Context(), rec); err != nil {
		t.Fatalf("PutRun(%q): %v", rec.ID, err)
	}
}

func mustGet(t *testing.T, st scheduler.Store, id string) scheduler.RunRecord {
	t.Helper()
	rec, err := st.GetRun(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRun(%q): %v", id, err)
	}
	return rec
}

func ids(runs []scheduler.RunRecord) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}

// checkRecord fails t, naming every field that differs, unless got equals
// want: times by instant (time.Equal), everything else exactly.
func checkRecord(t *testing.T, what string, want, got scheduler.RunRecord) {
	t.Helper()
	var d []string
	diff("", reflect.ValueOf(want), reflect.ValueOf(got), &d)
	if len(d) > 0 {
		t.Fatalf("%s: run %q differs from what was stored:\n\t%s", what, want.ID, strings.Join(d, "\n\t"))
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diff appends to d a line for each field of w and g that differs. It
// walks the fields by reflection so that fields added to RunRecord later
// are compared too.
func diff(path string, w, g reflect.Value, d *[]string) {
	switch {
	case w.Type() == timeType:
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !wt.Equal(gt) || wt.IsZero() != gt.IsZero() {
			*d = append(*d, fmt.Sprintf("%s = %s, want %s (compared with time.Equal)", path, gt.Format(time.RFC3339Nano), wt.Format(time.RFC3339Nano)))
		}
	case w.Kind() == reflect.Struct:
		for i := range w.NumField() {
			if f := w.Type().Field(i); f.IsExported() {
				diff(strings.TrimPrefix(path+"."+f.Name, "."), w.Field(i), g.Field(i), d)
			}
		}
	case w.Kind() == reflect.Slice && w.Type().Elem().Kind() == reflect.Uint8:
		if !bytes.Equal(w.Bytes(), g.Bytes()) {
			*d = append(*d, fmt.Sprintf("%s = %s, want %s", path, short(string(g.Bytes())), short(string(w.Bytes()))))
		}
	case w.Kind() == reflect.Slice:
		if w.Len() != g.Len() {
			*d = append(*d, fmt.Sprintf("%s has %d elements, want %d", path, g.Len(), w.Len()))
			return
		}
		for i := range w.Len() {
			diff(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i), d)
		}
	case w.Kind() == reflect.String:
		if w.String() != g.String() {
			*d = append(*d, fmt.Sprintf("%s = %s, want %s", path, short(g.String()), short(w.String())))
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			*d = append(*d, fmt.Sprintf("%s = %v, want %v", path, g.Interface(), w.Interface()))
		}
	}
}

// fill sets the zero fields of the struct v (and of the structs in it, and
// of the first element of its slices of structs) to non-zero values derived
// from their names, so that the round trip covers fields added to
// RunRecord after this suite was written. Fields of other kinds (maps,
// pointers) keep their zero value; the comparison still covers them.
func fill(path string, v reflect.Value, now time.Time) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		fv, name := v.Field(i), strings.TrimPrefix(path+"."+f.Name, ".")
		switch {
		case fv.Type() == timeType:
			if fv.Interface().(time.Time).IsZero() {
				fv.Set(reflect.ValueOf(now.Add(time.Duration(len(name)) * time.Minute)))
			}
		case fv.Kind() == reflect.Struct:
			fill(name, fv, now)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			if fv.Len() > 0 {
				fill(name+"[0]", fv.Index(0), now)
			}
		case !fv.IsZero():
		case fv.Kind() == reflect.String:
			fv.SetString("storetest " + name)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8:
			fv.SetBytes([]byte("storetest " + name))
		case fv.CanInt():
			fv.SetInt(int64(len(name)))
		case fv.CanUint():
			fv.SetUint(uint64(len(name)))
		case fv.CanFloat():
			fv.SetFloat(float64(len(name)) + 0.5)
		case fv.Kind() == reflect.Bool:
			fv.SetBool(true)
		}
	}
}

// short quotes s, cut to a readable length.
func short(s string) string {
	const max = 80
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
}
