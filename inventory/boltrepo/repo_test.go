package boltrepo_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
	"github.com/minato-ops/minato/inventory/repotest"
)

func open(t testing.TB, path string, o boltrepo.Options) *boltrepo.Repo {
	t.Helper()
	r, err := boltrepo.Open(path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	repotest.Run(t, func(t *testing.T) inventory.Repository {
		return open(t, filepath.Join(t.TempDir(), "inventory.db"), boltrepo.Options{})
	})
}

// node returns a container node as the Hinemos Docker scripts register it.
func node(host, name string) inventory.Node {
	return inventory.Node{
		FacilityID: host + "-" + name, FacilityName: name, Managed: true, Platform: "LINUX", IPVersion: 4,
		IPv4: "172.17.0.2", HostName: "0e0d8cdf3a57", NodeName: "0e0d8cdf3a57",
		Variables: map[string]string{
			"DOCKER_CONTAINER_ID": "0e0d8cdf3a57", "DOCKER_IMAGE": "nginx:1.27", "DOCKER_STATUS": "running",
			"DOCKER_HOST": host, "DOCKER_COMMAND": `"nginx -g 'daemon off;'"`, "DOCKER_PORTS": "0.0.0.0:8080->80/tcp",
		},
	}
}

// TestDurableAndShared: what one Repo committed, another Repo of the same
// file reads at once; changes that change nothing commit nothing; a batch
// is one commit.
func TestDurableAndShared(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "minato", "inventory.db")
	a := open(t, path, boltrepo.Options{})
	b := open(t, path, boltrepo.Options{})
	if a.Path() != path {
		t.Errorf("Path() = %q, want %q", a.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the file has mode %v, want 0600", fi.Mode().Perm())
	}
	if err := a.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope"}); err != nil {
		t.Fatal(err)
	}
	n := node("dockerhost01", "web")
	if err := a.PutNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := a.Assign(ctx, "dockerhost01_scope", n.FacilityID); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Node(ctx, n.FacilityID); err != nil || got.Variables["DOCKER_PORTS"] != n.Variables["DOCKER_PORTS"] {
		t.Errorf("Node from another Repo of the file = %+v, %v", got, err)
	}
	if ms, err := b.Members(ctx, "dockerhost01_scope"); err != nil || !slices.Equal(ms, []string{n.FacilityID}) {
		t.Errorf("Members from another Repo of the file = %q, %v", ms, err)
	}
	st := a.Stats()
	if st.Commits != 3 || st.Syncs < 6 || st.Opens != 4 || st.Checks != 1 {
		t.Errorf("Stats after three changes = %+v, want 3 commits, at least 6 syncs, 4 opens and 1 check (Open's)", st)
	}
	// b's file changed under it: its next call checked the pages, once.
	if st := b.Stats(); st.Checks != 2 || st.Commits != 0 {
		t.Errorf("Stats of the Repo that read what another wrote = %+v, want 2 checks (Open's, then one for the change), no commits", st)
	}

	// Repeats change nothing, and commit nothing.
	for _, err := range []error{
		a.PutNode(ctx, n), a.Assign(ctx, "dockerhost01_scope", n.FacilityID),
		a.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope"}),
		a.DeleteNode(ctx, "dockerhost01-gone"), a.Unassign(ctx, "dockerhost01_scope", "dockerhost01-gone"),
		a.Batch(ctx, func(tx inventory.Repository) error { return tx.PutNode(ctx, n) }),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Stats(); got.Commits != st.Commits || got.Syncs != st.Syncs {
		t.Errorf("Stats after repeated changes = %+v, want the commits and syncs of %+v", got, st)
	}

	// A batch of 20 changes is one commit.
	err = a.Batch(ctx, func(tx inventory.Repository) error {
		for i := range 10 {
			m := node("dockerhost01", fmt.Sprintf("c%02d", i))
			if err := tx.PutNode(ctx, m); err != nil {
				return err
			}
			if err := tx.Assign(ctx, "dockerhost01_scope", m.FacilityID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Stats(); got.Commits != st.Commits+1 {
		t.Errorf("Stats after a batch = %+v, want one commit more than %+v", got, st)
	}
	if ms, err := b.Members(ctx, "dockerhost01_scope"); err != nil || len(ms) != 11 {
		t.Errorf("Members from another Repo after the batch = %d members, %v; want 11", len(ms), err)
	}
}

// A Batch holds the file: the function's own calls on the Repo (rather
// than on the Repository it was given) fail with ErrLocked instead of
// waiting for ever; a panic in the function goes on, and releases the
// file; the batch's Repository is dead once Batch returns.
func TestBatchMisuse(t *testing.T) {
	ctx := t.Context()
	r := open(t, filepath.Join(t.TempDir(), "inventory.db"), boltrepo.Options{LockTimeout: 200 * time.Millisecond})
	var kept inventory.Repository
	err := r.Batch(ctx, func(tx inventory.Repository) error {
		kept = tx
		if err := tx.PutNode(ctx, node("h", "a")); err != nil {
			return err
		}
		start := time.Now()
		_, err := r.Nodes(ctx)
		if !errors.Is(err, boltrepo.ErrLocked) {
			t.Errorf("Nodes on the Repo inside its own Batch: %v, want ErrLocked", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Nodes on the Repo inside its own Batch took %s", d)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if _, err := kept.Nodes(ctx); err == nil {
		t.Error("Nodes on a batch's Repository after Batch returned succeeded")
	}

	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("Batch's function panicked with boom; Batch's caller got %v", p)
			}
		}()
		_ = r.Batch(ctx, func(tx inventory.Repository) error {
			_ = tx.PutNode(ctx, node("h", "b"))
			panic("boom")
		})
	}()
	ns, err := r.Nodes(ctx)
	if err != nil || len(ns) != 1 || ns[0].FacilityID != "h-a" {
		t.Errorf("Nodes after a batch that panicked = %v, %v; want only h-a (the file released, the batch discarded)", ns, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.PutNode(cancelled, node("h", "c")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutNode with a cancelled context: %v, want context.Canceled", err)
	}
}

// A file removed under an open Repo is not created again: calls fail,
// saying so.
func TestFileRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.db")
	r := open(t, path, boltrepo.Options{})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err := r.PutNode(t.Context(), node("h", "a"))
	if err == nil || !strings.Contains(err.Error(), "gone") || !strings.Contains(err.Error(), path) {
		t.Errorf("PutNode after the file was removed: %v; want an error naming the file, saying it is gone", err)
	}
	if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("the file was created again (%v)", serr)
	}
}

func TestOpenArguments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		o    boltrepo.Options
		says string
	}{
		{"", boltrepo.Options{}, "empty path"},
		{dir, boltrepo.Options{}, "it is a directory"},
		{filepath.Join(dir, "x.db"), boltrepo.Options{LockTimeout: -time.Second}, "must not be negative"},
	} {
		if _, err := boltrepo.Open(tc.path, tc.o); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Open(%q, %+v) = %v, want an error saying %q", tc.path, tc.o, err, tc.says)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/lib/state")
	if p, err := boltrepo.DefaultPath(); err != nil || p != "/var/lib/state/minato/inventory.db" {
		t.Errorf("DefaultPath with XDG_STATE_HOME = %q, %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/ops")
	if p, err := boltrepo.DefaultPath(); err != nil || p != "/home/ops/.local/state/minato/inventory.db" {
		t.Errorf("DefaultPath with a relative XDG_STATE_HOME = %q, %v", p, err)
	}
}
