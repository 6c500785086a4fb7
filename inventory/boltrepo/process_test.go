package boltrepo_test

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
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
)

// The environment of TestHelperProcess, which another test runs in a
// child process: the repository file, what to do, and a count.
const (
	helperPath  = "BOLTREPO_HELPER_PATH"
	helperMode  = "BOLTREPO_HELPER_MODE"
	helperCount = "BOLTREPO_HELPER_COUNT"
)

// TestHelperProcess is a second minato process using the repository:
// "hold" puts a node in a Batch, prints "locked" and keeps the batch (and
// the file lock) until its stdin closes; "write" puts count nodes, each in
// scope "all", one call at a time.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperPath)
	if path == "" {
		t.Skip("run by the tests that need a second process")
	}
	ctx := context.Background()
	r := open(t, path, boltrepo.Options{LockTimeout: 30 * time.Second})
	switch os.Getenv(helperMode) {
	case "hold":
		err := r.Batch(ctx, func(tx inventory.Repository) error {
			if err := tx.PutNode(ctx, node("helper", "held")); err != nil {
				return err
			}
			fmt.Println("locked")
			_, err := io.Copy(io.Discard, os.Stdin)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	case "write":
		n, _ := strconv.Atoi(os.Getenv(helperCount))
		for i := range n {
			c := node(fmt.Sprintf("p%d", os.Getpid()), fmt.Sprintf("c%03d", i))
			if err := r.PutNode(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := r.Assign(ctx, "all", c.FacilityID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func helper(t *testing.T, path, mode string, count int) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperPath+"="+path, helperMode+"="+mode, helperCount+"="+strconv.Itoa(count))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestLockedByAnotherProcess: while another process holds the file in a
// Batch, calls wait their lock timeout and fail with ErrLocked, naming the
// file and saying another process holds it; a cancelled wait ends at
// once; once the other process is done, its batch is there.
func TestLockedByAnotherProcess(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "inventory.db")
	r := open(t, path, boltrepo.Options{LockTimeout: 300 * time.Millisecond})
	patient := open(t, path, boltrepo.Options{LockTimeout: time.Minute})

	cmd := helper(t, path, "hold", 0)
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
	defer cmd.Wait()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the helper said %q, %v", line, err)
	}

	for name, call := range map[string]func() error{
		"Nodes":   func() error { _, err := r.Nodes(ctx); return err },
		"PutNode": func() error { return r.PutNode(ctx, node("h", "a")) },
		"Batch":   func() error { return r.Batch(ctx, func(inventory.Repository) error { return nil }) },
	} {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if !errors.Is(err, boltrepo.ErrLocked) {
			t.Errorf("%s while another process holds the file: %v, want ErrLocked", name, err)
			continue
		}
		for _, want := range []string{path, "another process", "300ms"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v: the error does not say %q", name, err, want)
			}
		}
		if took < 300*time.Millisecond || took > 3*time.Second {
			t.Errorf("%s failed after %s, want about the lock timeout (300ms)", name, took)
		}
	}
	if _, err := boltrepo.Open(path, boltrepo.Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, boltrepo.ErrLocked) {
		t.Errorf("Open while another process holds the file: %v, want ErrLocked", err)
	}
	// A call that would wait a minute for the lock ends with its ctx.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := patient.Nodes(cctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("Nodes with a 50ms context, waiting for a held file: %v after %s, want context.DeadlineExceeded at once", err, time.Since(start))
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the helper: %v", err)
	}
	if _, err := r.Node(ctx, "helper-held"); err != nil {
		t.Errorf("Node of the other process's batch once it is done: %v", err)
	}
}

// TestProcessesShareFile: three processes (this one and two children)
// write the same file at once, call by call: every node and assignment of
// each is there.
func TestProcessesShareFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "inventory.db")
	r := open(t, path, boltrepo.Options{LockTimeout: 30 * time.Second})
	if err := r.PutScope(ctx, inventory.Scope{FacilityID: "all"}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var cmds []*exec.Cmd
	for range 2 {
		cmd := helper(t, path, "write", n)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i := range n {
		c := node("self", fmt.Sprintf("c%03d", i))
		if err := r.PutNode(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := r.Assign(ctx, "all", c.FacilityID); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("a writing process: %v", err)
		}
	}
	ns, err := r.Nodes(ctx)
	if err != nil || len(ns) != 3*n {
		t.Errorf("Nodes after three processes wrote %d each: %d, %v", n, len(ns), err)
	}
	ms, err := r.Members(ctx, "all")
	if err != nil || len(ms) != 3*n {
		t.Errorf("Members after three processes assigned %d each: %d, %v", n, len(ms), err)
	}
	// The file is sound: a new Open checks all of it.
	open(t, path, boltrepo.Options{})
}
