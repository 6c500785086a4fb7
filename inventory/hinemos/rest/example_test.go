package rest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos/rest"
	"github.com/minato-ops/minato/inventory/hinemos/rest/resttest"
)

// Register a container node and a per-host scope in a Hinemos manager (here
// the fake one of package resttest) and read them back.
func Example() {
	manager := resttest.Start()
	defer manager.Close()

	dir, err := os.MkdirTemp("", "hinemos")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("hinemos\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	cfg := rest.DefaultConfig()
	cfg.URL = manager.URL + "/HinemosWeb/" // as typed in the Hinemos client's login dialog
	cfg.PasswordFile = pwFile
	repo, err := rest.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	defer repo.Logout(ctx)

	endpoint, user := repo.Endpoint()
	fmt.Printf("endpoint: %s username: %s\n", endpoint[len(manager.URL):], user)

	err = repo.PutNode(ctx, inventory.Node{
		FacilityID: "docker_host1-web", FacilityName: "web", Managed: true, Platform: "LINUX",
		IPVersion: 4, IPv4: "10.0.200.123", HostName: "0e0d8cdf3a57", NodeName: "0e0d8cdf3a57",
		Variables: map[string]string{"DOCKER_STATUS": "running", "DOCKER_HOST": "docker_host1", "DOCKER_PORTS": ""},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := repo.PutScope(ctx, inventory.Scope{FacilityID: "docker_host1_scope", FacilityName: "docker_host1_scope"}); err != nil {
		log.Fatal(err)
	}
	if err := repo.Assign(ctx, "docker_host1_scope", "docker_host1-web"); err != nil {
		log.Fatal(err)
	}

	n, err := repo.Node(ctx, "docker_host1-web")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.FacilityName, n.Managed, n.IPv4, n.Variables) // the empty DOCKER_PORTS is not stored
	members, _ := repo.Members(ctx, "docker_host1_scope")
	fmt.Println(members)
	_, err = repo.Scope(ctx, "REGISTERED")
	fmt.Println(errors.Is(err, inventory.ErrNotFound)) // built-in scopes are Hinemos's own
	// Output:
	// endpoint: /HinemosWeb/api/RepositoryRestEndpoints username: hinemos
	// web true 10.0.200.123 map[DOCKER_HOST:docker_host1 DOCKER_STATUS:running]
	// [docker_host1-web]
	// true
}
