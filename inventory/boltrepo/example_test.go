package boltrepo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
)

// A sync writes a host's containers in one batch: one commit. Another
// process (here, another Repo of the same file) reads them at once; nobody
// holds the file in between.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "boltrepo")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "minato", "inventory.db") // boltrepo.DefaultPath() in minato
	ctx := context.Background()

	cli, err := boltrepo.Open(path, boltrepo.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = inventory.Batch(ctx, cli, func(tx inventory.Repository) error {
		if err := tx.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope", FacilityName: "dockerhost01"}); err != nil {
			return err
		}
		for _, name := range []string{"web", "db", "cache"} {
			n := inventory.Node{
				FacilityID: "dockerhost01-" + name, FacilityName: name, Managed: true, Platform: "LINUX",
				Variables: map[string]string{"DOCKER_HOST": "dockerhost01", "DOCKER_STATUS": "running"},
			}
			if err := tx.PutNode(ctx, n); err != nil {
				return err
			}
			if err := tx.Assign(ctx, "dockerhost01_scope", n.FacilityID); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Println("sync:", err, "commits:", cli.Stats().Commits)

	agent, _ := boltrepo.Open(path, boltrepo.Options{})
	members, _ := agent.Members(ctx, "dockerhost01_scope")
	fmt.Println(members)
	// Output:
	// sync: <nil> commits: 1
	// [dockerhost01-cache dockerhost01-db dockerhost01-web]
}

// A repository file truncated to nothing is refused, never taken for an
// empty repository: the error names the file and says what to do, and
// the file is left as it was.
func ExampleOpen_damaged() {
	dir, _ := os.MkdirTemp("", "boltrepo")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "inventory.db")
	_ = os.WriteFile(path, nil, 0o600)

	_, err := boltrepo.Open(path, boltrepo.Options{})
	fmt.Println("damaged:", errors.Is(err, boltrepo.ErrCorrupt))
	fmt.Println(strings.ReplaceAll(err.Error(), dir, "/var/lib/minato"))
	fi, _ := os.Stat(path)
	fmt.Println("size after:", fi.Size())
	// Output:
	// damaged: true
	// boltrepo: repository file damaged: /var/lib/minato/inventory.db: open: the file is empty (0 bytes): it was truncated, or it is not a repository; nothing was changed in it; move the file aside (or restore it from a backup) and sync the inventory again, or give minato another repository file
	// size after: 0
}
