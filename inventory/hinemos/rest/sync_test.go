package rest_test

import (
	"slices"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/minato-ops/minato/inventory/hinemos/rest/resttest"
)

// container is a container Item as the Docker inventory lists it.
func container(name, id, state, scopes string) inventory.Item {
	t := inventory.Target{Kind: inventory.KindContainer, ID: id + "4f1e5a1b6c2d7e3f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b", Name: name,
		Engine: "tcp://10.0.200.123:2375", Labels: map[string]string{}}
	if scopes != "" {
		t.Labels["hinemosAssignScopeId"] = scopes
	}
	return inventory.Item{Target: t, State: state, Attrs: map[string]string{
		inventory.AttrImage: "httpd:2.4", inventory.AttrCommand: "httpd -D FOREGROUND", inventory.AttrStatus: "Up 4 minutes",
	}}
}

// The repository sync of the Hinemos Docker scripts runs over the client:
// the scripts' execution example (containers A, B and C labelled web1,
// "web1,web2" and "web1, web3"; scopes web1 and web2 exist), then a run
// that changes nothing writes nothing, then a removed container's node is
// deleted.
func TestSyncOverREST(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	for _, sc := range []string{"web1", "web2"} {
		if err := c.PutScope(ctx, inventory.Scope{FacilityID: sc, FacilityName: sc}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := hinemos.New(hinemos.Config{HostFacilityID: "docker_host1", HostAddress: "10.0.200.123"}, c)
	if err != nil {
		t.Fatal(err)
	}
	items := []inventory.Item{
		container("conteiner_A", "f0184f3feddc", "running", "web1"),
		container("conteiner_B", "f4bb5ade7641", "running", "web1,web2"),
		container("conteiner_C", "16c155fe269b", "exited", "web1, web3"),
	}
	if _, err := s.Sync(ctx, items); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	for scope, want := range map[string][]string{
		"docker_host":        {"docker_host1"},
		"docker_container":   {"docker_host1-conteiner_A", "docker_host1-conteiner_B", "docker_host1-conteiner_C"},
		"docker_host1_scope": {"docker_host1-conteiner_A", "docker_host1-conteiner_B", "docker_host1-conteiner_C"},
		"web1":               {"docker_host1-conteiner_A", "docker_host1-conteiner_B", "docker_host1-conteiner_C"},
		"web2":               {"docker_host1-conteiner_B"},
	} {
		if got, err := c.Members(ctx, scope); err != nil || !slices.Equal(got, want) {
			t.Errorf("Members(%s) = %q, %v; want %q", scope, got, err, want)
		}
	}
	if sc, err := c.Scope(ctx, "docker_host1_scope"); err != nil || sc.Parent != "docker_map" {
		t.Errorf("Scope(docker_host1_scope) = %+v, %v; want it under docker_map", sc, err)
	}
	n, err := c.Node(ctx, "docker_host1-conteiner_C")
	if err != nil {
		t.Fatal(err)
	}
	if n.Managed || n.NodeName != "16c155fe269b" || n.Variables["DOCKER_STATUS"] != "exited" || n.Variables["DOCKER_HOST"] != "docker_host1" {
		t.Errorf("node of the exited container = %+v", n)
	}
	if _, ok := n.Variables["DOCKER_PORTS"]; ok {
		t.Errorf("node of a container without ports has DOCKER_PORTS %q; Hinemos stores no empty variable", n.Variables["DOCKER_PORTS"])
	}

	srv.Reset()
	if _, err := s.Sync(ctx, items); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if w := writes(srv.Requests()); len(w) != 0 {
		t.Errorf("a Sync that changes nothing wrote %v", w)
	}

	srv.Reset()
	items[2].State = "running"
	if _, err := s.Sync(ctx, items[:2]); err != nil {
		t.Fatalf("Sync after C was removed: %v", err)
	}
	if w := writes(srv.Requests()); !slices.Equal(w, []string{"DELETE " + repo + "/node?facilityIds=docker_host1-conteiner_C"}) {
		t.Errorf("Sync after C was removed wrote %v, want its node deleted", w)
	}
}
