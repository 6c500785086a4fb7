package repotest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/minato-ops/minato/inventory"
)

// A repository package runs the suite from its own tests, giving it a
// function that opens a fresh, empty repository for each subtest:
//
//	func TestConformance(t *testing.T) {
//		repotest.Run(t, func(t *testing.T) inventory.Repository {
//			return inventory.NewMemRepository()
//		})
//	}
//
// Among what the suite checks is that Assign is all or nothing, and that
// repeating a call succeeds and changes nothing. Here on the reference,
// inventory.MemRepository:
func Example() {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	_ = repo.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope"})
	_ = repo.PutNode(ctx, inventory.Node{FacilityID: "dockerhost01-web"})

	err := repo.Assign(ctx, "dockerhost01_scope", "dockerhost01-web", "dockerhost01-gone")
	fmt.Println(errors.Is(err, inventory.ErrNotFound))
	members, _ := repo.Members(ctx, "dockerhost01_scope")
	fmt.Println(members)

	for range 2 {
		fmt.Println(repo.Assign(ctx, "dockerhost01_scope", "dockerhost01-web"))
	}
	members, _ = repo.Members(ctx, "dockerhost01_scope")
	fmt.Println(members)
	// Output:
	// true
	// []
	// <nil>
	// <nil>
	// [dockerhost01-web]
}
