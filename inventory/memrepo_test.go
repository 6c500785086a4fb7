package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/repotest"
)

func TestMemRepositoryConformance(t *testing.T) {
	repotest.Run(t, func(*testing.T) inventory.Repository { return inventory.NewMemRepository() })
}

// The Repository a batch gives its function fails once the batch is over,
// and calls of a cancelled context fail without a change.
func TestMemRepositoryBatchEnded(t *testing.T) {
	ctx := t.Context()
	m := inventory.NewMemRepository()
	var kept inventory.Repository
	if err := m.Batch(ctx, func(tx inventory.Repository) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := kept.PutNode(ctx, inventory.Node{FacilityID: "late"}); err == nil {
		t.Error("PutNode on a batch's Repository after the batch ended succeeded")
	}
	if _, err := kept.Nodes(ctx); err == nil {
		t.Error("Nodes on a batch's Repository after the batch ended succeeded")
	}
	if ns, _ := m.Nodes(ctx); len(ns) != 0 {
		t.Errorf("the repository holds %d nodes, want none", len(ns))
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.PutNode(cancelled, inventory.Node{FacilityID: "n"}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutNode with a cancelled context: %v, want context.Canceled", err)
	}
	if err := m.Batch(cancelled, func(inventory.Repository) error { t.Error("fn ran"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Batch with a cancelled context: %v, want context.Canceled", err)
	}
	if ns, _ := m.Nodes(ctx); len(ns) != 0 {
		t.Errorf("the repository holds %d nodes, want none", len(ns))
	}
}

// A panic in a batch's function leaves the repository as it was, and
// usable.
func TestMemRepositoryBatchPanic(t *testing.T) {
	ctx := t.Context()
	m := inventory.NewMemRepository()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Batch swallowed the function's panic")
			}
		}()
		_ = m.Batch(ctx, func(tx inventory.Repository) error {
			_ = tx.PutNode(ctx, inventory.Node{FacilityID: "n"})
			panic("boom")
		})
	}()
	if _, err := m.Node(ctx, "n"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Node after a batch that panicked: %v, want ErrNotFound", err)
	}
}

// A sync's changes go in one batch: when the batch's function fails,
// none of them is kept.
func ExampleMemRepository_Batch() {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	_ = repo.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope"})

	err := inventory.Batch(ctx, repo, func(tx inventory.Repository) error {
		_ = tx.PutNode(ctx, inventory.Node{FacilityID: "dockerhost01-web", FacilityName: "web"})
		_ = tx.Assign(ctx, "dockerhost01_scope", "dockerhost01-web")
		return tx.Assign(ctx, "dockerhost01_scope", "dockerhost01-db") // no such node
	})
	fmt.Println(err)
	members, _ := repo.Members(ctx, "dockerhost01_scope")
	fmt.Println("members:", len(members))

	err = inventory.Batch(ctx, repo, func(tx inventory.Repository) error {
		if err := tx.PutNode(ctx, inventory.Node{FacilityID: "dockerhost01-web", FacilityName: "web"}); err != nil {
			return err
		}
		return tx.Assign(ctx, "dockerhost01_scope", "dockerhost01-web")
	})
	fmt.Println(err)
	members, _ = repo.Members(ctx, "dockerhost01_scope")
	fmt.Println("members:", members)
	// Output:
	// assign to scope dockerhost01_scope: inventory: no such facility: node dockerhost01-db (nothing assigned)
	// members: 0
	// <nil>
	// members: [dockerhost01-web]
}
