package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/job/scheduler/storetest"
)

func open(t testing.TB, path string, o boltstore.Options) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) scheduler.Store {
		return open(t, filepath.Join(t.TempDir(), "jobs.db"), boltstore.Options{})
	})
}

// sample returns a realistic run: units units, each with outputSize bytes
// of output, deterministic from id.
func sample(id string, units, outputSize int) scheduler.RunRecord {
	created := time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC)
	rec := scheduler.RunRecord{
		ID: id, Network: "backup", Trigger: scheduler.TriggerSchedule, Due: created,
		Created: created, Ended: created.Add(time.Minute), Queue: "default",
		Definition: []byte("name: backup\nschedule: \"0 1 * * *\"\nunits: [...]\n"),
		Report:     job.NetworkReport{Name: "backup", State: job.Succeeded},
	}
	line := "2025-03-14T01:00:00Z INFO copied file " + id + " to s3://bucket/backup/\n"
	output := strings.Repeat(line, outputSize/len(line)+1)[:outputSize]
	for i := range units {
		rec.Report.Units = append(rec.Report.Units, job.UnitReport{
			Name: fmt.Sprintf("unit%d", i), State: job.Succeeded, Attempts: 1,
			Started: created.Add(time.Duration(i) * time.Second), Ended: created.Add(time.Duration(i+1) * time.Second),
			Output: output,
		})
	}
	return rec
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jobs.db")
	st := open(t, path, boltstore.Options{})
	if st.Path() != path {
		t.Errorf("Path() = %q, want %q", st.Path(), path)
	}
	want := sample("backup@2025-03-14T01:00:00Z", 5, 1024)
	if err := st.PutRun(ctx, want); err != nil {
		t.Fatal(err)
	}
	running := sample("backup@2025-03-15T01:00:00Z", 2, 10)
	running.Report.State = job.Running
	running.Ended = time.Time{}
	if ok, err := st.CreateRun(ctx, running); err != nil || !ok {
		t.Fatalf("CreateRun = (%v, %v)", ok, err)
	}
	if err := st.PutValue(ctx, "scheduler/last", []byte("tick")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, path, boltstore.Options{})
	defer st.Close()
	got, err := st.GetRun(ctx, want.ID)
	if err != nil {
		t.Fatalf("GetRun after reopening: %v", err)
	}
	if len(got.Report.Units) != 5 || got.Report.Units[4].Output != want.Report.Units[4].Output || !got.Ended.Equal(want.Ended) {
		t.Fatalf("GetRun after reopening = %+v, want %+v", got, want)
	}
	runs, err := st.ListRuns(ctx, scheduler.RunFilter{Unfinished: true})
	if err != nil || len(runs) != 1 || runs[0].ID != running.ID {
		t.Fatalf("ListRuns(Unfinished) after reopening = %v, %v; want the running run", runs, err)
	}
	if ok, err := st.CreateRun(ctx, running); err != nil || ok {
		t.Fatalf("CreateRun of a run stored before reopening = (%v, %v), want (false, nil)", ok, err)
	}
	if v, err := st.GetValue(ctx, "scheduler/last"); err != nil || string(v) != "tick" {
		t.Fatalf("GetValue after reopening = (%q, %v), want (tick, nil)", v, err)
	}
}

func TestPermissions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "minato", "jobs.db")
	st := open(t, path, boltstore.Options{})
	defer st.Close()
	for p, want := range map[string]os.FileMode{
		filepath.Join(dir, "state"):           0o700 | os.ModeDir,
		filepath.Join(dir, "state", "minato"): 0o700 | os.ModeDir,
		path:                                  0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestLockSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	st := open(t, path, boltstore.Options{})
	start := time.Now()
	second, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		st.Close()
		t.Fatal("a second Open of a file this process holds succeeded; it must fail on the lock")
	}
	checkLockError(t, err, path)
	if elapsed > 2*time.Second {
		t.Errorf("the second Open took %v with a 100ms LockTimeout", elapsed)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, path, boltstore.Options{LockTimeout: 100 * time.Millisecond}).Close()
}

func checkLockError(t *testing.T, err error, path string) {
	t.Helper()
	t.Logf("lock error: %v", err)
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another minato agent holds the store") {
		t.Errorf("lock error %q must name the path %s and say another minato agent holds the store", err, path)
	}
	if !errors.Is(err, bolterrors.ErrTimeout) {
		t.Errorf("lock error %q does not wrap bbolt's ErrTimeout", err)
	}
}

// helper starts the test binary as a child running TestHelperProcess in
// mode on path.
func helper(t *testing.T, mode, path string, env ...string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BOLTSTORE_HELPER="+mode, "BOLTSTORE_PATH="+path)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, stdin, bufio.NewScanner(stdout)
}

// TestHelperProcess is the child process of TestLockOtherProcess and
// TestCrash; it does nothing unless BOLTSTORE_HELPER is set.
func TestHelperProcess(t *testing.T) {
	mode, path := os.Getenv("BOLTSTORE_HELPER"), os.Getenv("BOLTSTORE_PATH")
	if mode == "" {
		t.Skip("the child process of TestLockOtherProcess and TestCrash")
	}
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	switch mode {
	case "hold":
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
		st.Close()
	case "crash":
		// Write runs until killed, saying which after each PutRun returned.
		first, _ := strconv.Atoi(os.Getenv("BOLTSTORE_FIRST"))
		deadline := time.Now().Add(time.Minute) // in case the parent died
		for i := first; time.Now().Before(deadline); i++ {
			id := fmt.Sprintf("run-%06d", i)
			if err := st.PutRun(context.Background(), sample(id, 5, 1024)); err != nil {
				fmt.Fprintln(os.Stderr, "helper:", err)
				os.Exit(2)
			}
			fmt.Printf("written %s ok\n", id)
		}
	}
	os.Exit(0)
}

func TestLockOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	cmd, stdin, out := helper(t, "hold", path)
	if !out.Scan() || out.Text() != "locked" {
		t.Fatalf("child: got %q (%v), want \"locked\"", out.Text(), out.Err())
	}
	_, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of a file another process holds succeeded; it must fail on the lock")
	}
	checkLockError(t, err, path)
	stdin.Close()
	for out.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	open(t, path, boltstore.Options{LockTimeout: 100 * time.Millisecond}).Close()
}

// TestCrash kills a child that writes runs in a loop and checks that every
// run it reported written (its PutRun had returned) is in the file and
// decodes, three times over on the same file. SIGKILL tests a crash of the
// process, not of the machine: the page cache survives it.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	var reported []string
	next := 0
	for round := range 3 {
		cmd, _, out := helper(t, "crash", path, "BOLTSTORE_FIRST="+strconv.Itoa(next))
		killAt := 20 + 15*round
		n := 0
		for out.Scan() {
			line := out.Text()
			id, ok1 := strings.CutPrefix(line, "written ")
			id, ok2 := strings.CutSuffix(id, " ok")
			if !ok1 || !ok2 {
				continue // a partial line: not reported written
			}
			reported = append(reported, id)
			if n++; n == killAt {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the child ended with %v before it was killed", round, err)
		}
		next += 1000

		st := open(t, path, boltstore.Options{LockTimeout: 5 * time.Second})
		for _, id := range reported {
			rec, err := st.GetRun(t.Context(), id)
			if err != nil {
				t.Fatalf("round %d: run %s was reported written before the kill: %v", round, id, err)
			}
			if want := sample(id, 5, 1024); len(rec.Report.Units) != 5 || rec.Report.Units[4].Output != want.Report.Units[4].Output {
				t.Fatalf("round %d: run %s does not read back as written", round, id)
			}
		}
		runs, err := st.ListRuns(t.Context(), scheduler.RunFilter{})
		if err != nil {
			t.Fatalf("round %d: ListRuns after the kill: %v", round, err)
		}
		// At most one run more than reported: the one whose PutRun
		// returned but whose line the kill cut off.
		if len(runs) < len(reported) || len(runs) > len(reported)+round+1 {
			t.Errorf("round %d: %d runs in the file, %d reported", round, len(runs), len(reported))
		}
		t.Logf("round %d: %d runs reported written, %d in the file", round, len(reported), len(runs))
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/srv/state")
	t.Setenv("HOME", "/home/ope")
	if p, err := boltstore.DefaultPath(); err != nil || p != "/srv/state/minato/jobs.db" {
		t.Errorf("DefaultPath with XDG_STATE_HOME = (%q, %v)", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative/state") // ignored, as the XDG spec says
	if p, err := boltstore.DefaultPath(); err != nil || p != "/home/ope/.local/state/minato/jobs.db" {
		t.Errorf("DefaultPath with a relative XDG_STATE_HOME = (%q, %v)", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	if p, err := boltstore.DefaultPath(); err != nil || p != "/home/ope/.local/state/minato/jobs.db" {
		t.Errorf("DefaultPath with HOME = (%q, %v)", p, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := boltstore.Open("", boltstore.Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := boltstore.Open(dir, boltstore.Options{}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open of a directory: %v; want an error naming it", err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bbolt file\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(garbage, boltstore.Options{}); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("Open of a file that is not a store: %v; want an error naming it", err)
	}
}

func TestErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	st := open(t, path, boltstore.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := st.PutRun(ctx, sample("cancelled", 1, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("PutRun with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := st.GetRun(t.Context(), "cancelled"); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("PutRun with a cancelled ctx wrote the run (GetRun: %v)", err)
	}
	if _, err := st.ListRuns(ctx, scheduler.RunFilter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListRuns with a cancelled ctx: %v, want context.Canceled", err)
	}
	_, err := st.GetRun(t.Context(), "missing")
	if want := `boltstore: run "missing": job: not found`; err == nil || err.Error() != want {
		t.Errorf("GetRun of a missing run: %v, want %s", err, want)
	}
	if err := st.PutRun(t.Context(), sample("good", 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if err := st.PutRun(t.Context(), sample("late", 1, 1)); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"late"`) {
		t.Errorf("PutRun after Close: %v; want an error naming the path and the run", err)
	}

	// A record that does not decode: the error names the run and the file.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("runs")).Put([]byte("broken"), []byte("{not json")) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st = open(t, path, boltstore.Options{})
	defer st.Close()
	if _, err := st.GetRun(t.Context(), "broken"); err == nil || !strings.Contains(err.Error(), `"broken"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("GetRun of an undecodable run: %v; want an error naming it and the path", err)
	}
	if _, err := st.ListRuns(t.Context(), scheduler.RunFilter{}); err == nil || !strings.Contains(err.Error(), `"broken"`) {
		t.Errorf("ListRuns with an undecodable run: %v; want an error naming it", err)
	}
	if _, err := st.GetRun(t.Context(), "good"); err != nil {
		t.Errorf("GetRun of a good run next to a broken one: %v", err)
	}
}

func BenchmarkPutRun(b *testing.B) {
	for _, bc := range []struct {
		name string
		o    boltstore.Options
	}{{"sync", boltstore.Options{}}, {"nosync", boltstore.Options{NoSync: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			st := open(b, filepath.Join(b.TempDir(), "jobs.db"), bc.o)
			defer st.Close()
			rec := sample("", 5, 1024)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				rec.ID = "backup@" + strconv.Itoa(i%1000) // a run is rewritten as its units change
				if err := st.PutRun(ctx, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkListRuns(b *testing.B) {
	st := open(b, filepath.Join(b.TempDir(), "jobs.db"), boltstore.Options{NoSync: true})
	defer st.Close()
	ctx := context.Background()
	created := time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC)
	for i := range 1000 {
		rec := sample(fmt.Sprintf("net%d@%04d", i%10, i), 5, 1024)
		rec.Network = fmt.Sprintf("net%d", i%10)
		rec.Created = created.Add(time.Duration(i) * time.Minute)
		if i%100 == 0 {
			rec.Report.State = job.Running
		}
		if err := st.PutRun(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		f    scheduler.RunFilter
		want int
	}{
		{"all", scheduler.RunFilter{}, 1000},
		{"network-limit-20", scheduler.RunFilter{Network: "net3", Limit: 20}, 20},
		{"unfinished", scheduler.RunFilter{Unfinished: true}, 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runs, err := st.ListRuns(ctx, bc.f)
				if err != nil || len(runs) != bc.want {
					b.Fatalf("ListRuns = %d runs, %v; want %d", len(runs), err, bc.want)
				}
			}
		})
	}
}
