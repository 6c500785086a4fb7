package bundle_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag/bundle"
	"github.com/minato-ops/minato/inventory"
)

// Collect a support bundle of the containers named db and web. A fake
// engine stands in for the Docker Engine here; use
// container.New(container.ConfigFromEnv(nil)) for the real one.
func Example() {
	srv, err := startFake(fixtures)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := container.New(container.Config{Host: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	dir, err := os.MkdirTemp("", "bundle-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	res, err := bundle.Collect(context.Background(), c, bundle.Options{
		Dir:      dir,
		Host:     "db1",
		Now:      func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) },
		Selector: inventory.Selector{Names: []string{"db", "web"}},
		Progress: func(msg string) { fmt.Println(stripDir(msg, dir)) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println()
	fmt.Println(filepath.Base(res.Path))
	for _, f := range res.Files {
		fmt.Println(" ", f)
	}
	for _, r := range res.Redactions {
		if r.File == "container_db.info" {
			fmt.Printf("  redacted in %s: %s (%s)\n", r.File, r.Key, r.Kind)
		}
	}
	// Output:
	// Start to get docker info.
	// Start to copy system files.
	// Start to get net info.
	// Start to get system info.
	// Start to get container(d1b0a1e0c0ff) info.
	// Start to copy files from container(d1b0a1e0c0ff).
	// Start to get container(d1b0a1e0c0ff) network info.
	// Start to get container(d1b0a1e0c0ff) mount info.
	// Start to get container(e2e2e2e2f00d) info.
	// Start to copy files from container(e2e2e2e2f00d).
	// Start to get container(e2e2e2e2f00d) network info.
	// Start to get container(e2e2e2e2f00d) mount info.
	// Start to compress.
	// The Info file "minato_03040506_db1.tar.gz" was created successfully.
	//
	// minato_03040506_db1.tar.gz
	//   engine.info
	//   net.info
	//   system.info
	//   container_db.info
	//   network_9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d.info
	//   mount.info
	//   container_web.info
	//   network_a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a.info
	//   collect.log
	//   REDACTIONS.txt
	//   redacted in container_db.info: --auth-password (flag)
	//   redacted in container_db.info: API_TOKEN (name=value)
	//   redacted in container_db.info: Authorization header (header)
	//   redacted in container_db.info: DB_PASSWORD (known secret value)
	//   redacted in container_db.info: DB_PASSWORD (name=value)
}
