package rest_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos/rest"
	"github.com/minato-ops/minato/inventory/hinemos/rest/resttest"
)

const repo = "/RepositoryRestEndpoints/repository"

// testNode is a container node as the Hinemos Docker scripts register it.
func testNode(id string) inventory.Node {
	return inventory.Node{
		FacilityID: id, FacilityName: strings.TrimPrefix(id, "docker_host1-"), Managed: true, Platform: "LINUX",
		IPVersion: 4, IPv4: "10.0.200.123", HostName: "16c155fe269b", NodeName: "16c155fe269b",
		Variables: map[string]string{
			"DOCKER_CONTAINER_ID": "16c155fe269b", "DOCKER_COMMAND": "httpd -D FOREGROUND", "DOCKER_IMAGE": "httpd:2.4",
			"DOCKER_STATUS": "running", "DOCKER_HOST": "docker_host1",
		},
	}
}

// writes returns the requests that change the repository.
func writes(reqs []resttest.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != "GET" && r.Path != "/AccessRestEndpoints/access/login" {
			out = append(out, r.String())
		}
	}
	return out
}

// lastBody decodes the body of the last request with that method and path.
func lastBody(t *testing.T, srv *resttest.Server, method, path string) map[string]any {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			var m map[string]any
			if err := json.Unmarshal(reqs[i].Body, &m); err != nil {
				t.Fatalf("%s %s: body %q: %v", method, path, reqs[i].Body, err)
			}
			return m
		}
	}
	t.Fatalf("no %s %s among %v", method, path, reqs)
	return nil
}

func TestPutNodeShape(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	n := testNode("docker_host1-web")
	n.Description = "httpd"
	n.Variables["DOCKER_PORTS"] = "" // not stored
	if err := c.PutNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	body := lastBody(t, srv, "POST", repo+"/node")
	want := map[string]any{
		"facilityId": "docker_host1-web", "facilityName": "web", "description": "httpd", "valid": true,
		"ownerRoleId": "ALL_USERS", "platformFamily": "LINUX", "subPlatformFamily": "", "ipAddressVersion": "IPV4",
		"ipAddressV4": "10.0.200.123", "ipAddressV6": "", "nodeName": "16c155fe269b",
		"nodeHostnameInfo": []any{map[string]any{"hostname": "16c155fe269b"}},
		"nodeVariableInfo": []any{
			map[string]any{"nodeVariableName": "DOCKER_COMMAND", "nodeVariableValue": "httpd -D FOREGROUND"},
			map[string]any{"nodeVariableName": "DOCKER_CONTAINER_ID", "nodeVariableValue": "16c155fe269b"},
			map[string]any{"nodeVariableName": "DOCKER_HOST", "nodeVariableValue": "docker_host1"},
			map[string]any{"nodeVariableName": "DOCKER_IMAGE", "nodeVariableValue": "httpd:2.4"},
			map[string]any{"nodeVariableName": "DOCKER_STATUS", "nodeVariableValue": "running"},
		},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("AddNodeRequest sent:\n%v\nwant\n%v", body, want)
	}
	got, err := c.Node(ctx, n.FacilityID)
	if err != nil {
		t.Fatal(err)
	}
	delete(n.Variables, "DOCKER_PORTS")
	if !reflect.DeepEqual(got, n) {
		t.Errorf("Node = %+v\nwant %+v", got, n)
	}

	// IP version 0 is stored as 4, or 6 for a node with only an IPv6
	// address.
	v6 := testNode("docker_host1-v6")
	v6.IPVersion, v6.IPv4, v6.IPv6 = 0, "", "fd00::2"
	if err := c.PutNode(ctx, v6); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Node(ctx, v6.FacilityID); err != nil || got.IPVersion != 6 || got.IPv6 != "fd00::2" {
		t.Errorf("Node of a node put with IP version 0 and an IPv6 address = %+v, %v; want version 6", got, err)
	}
}

func TestPutNodeKeepsHinemosProperties(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	n := testNode("docker_host1-web")
	if err := c.PutNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	// An operator sets properties minato does not manage.
	srv.SetNodeProperty(n.FacilityID, "snmpCommunity", "private")
	srv.SetNodeProperty(n.FacilityID, "sshUserPassword", "operator-secret")
	srv.SetNodeProperty(n.FacilityID, "nodeNoteInfo", []map[string]any{{"noteId": 0, "note": "call Ops"}})

	// Putting the same node again writes nothing.
	srv.Reset()
	if err := c.PutNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if w := writes(srv.Requests()); len(w) != 0 {
		t.Errorf("PutNode of an unchanged node wrote %v", w)
	}

	n.Managed = false
	n.Variables["DOCKER_STATUS"] = "exited"
	delete(n.Variables, "DOCKER_COMMAND")
	n.HostName = ""
	if err := c.PutNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if w := writes(srv.Requests()); !slices.Equal(w, []string{"PUT " + repo + "/node/docker_host1-web"}) {
		t.Errorf("PutNode of a changed node wrote %v, want one modify", w)
	}
	for prop, want := range map[string]string{
		"snmpCommunity":   `"private"`,
		"sshUserPassword": `"operator-secret"`,
		"nodeNoteInfo":    `[{"note":"call Ops","noteId":0}]`,
	} {
		if got := string(srv.NodeProperty(n.FacilityID, prop)); got != want {
			t.Errorf("after PutNode, %s = %s, want %s (kept)", prop, got, want)
		}
	}
	got, err := c.Node(ctx, n.FacilityID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, n) {
		t.Errorf("Node after the modify = %+v\nwant %+v", got, n)
	}
}

func TestPutNodeHinemosRules(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	for name, edit := range map[string]func(*inventory.Node){
		"facility name":  func(n *inventory.Node) { n.FacilityName = " " },
		"platform":       func(n *inventory.Node) { n.Platform = "" },
		"node name":      func(n *inventory.Node) { n.NodeName = "" },
		"IPv4 address":   func(n *inventory.Node) { n.IPv4 = "" },
		"IPv6 address":   func(n *inventory.Node) { n.IPVersion = 6 },
		"variable name":  func(n *inventory.Node) { n.Variables[strings.Repeat("V", 129)] = "x" },
		"variable value": func(n *inventory.Node) { n.Variables["BIG"] = strings.Repeat("é", 1025) },
		"facility ID":    func(n *inventory.Node) { n.FacilityID = "web 1" },
		"IP version":     func(n *inventory.Node) { n.IPVersion = 5 },
	} {
		n := testNode("docker_host1-web")
		edit(&n)
		srv.Reset()
		err := c.PutNode(ctx, n)
		if !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("PutNode without a valid %s: %v, want ErrInvalid", name, err)
		}
		if len(srv.Requests()) != 0 {
			t.Errorf("PutNode without a valid %s sent %v; want the error before any request", name, srv.Requests())
		}
	}
	// What the client does not check, the manager does.
	n := testNode("docker_host1-web")
	n.Platform = "SOLARIS"
	err := c.PutNode(ctx, n)
	var ae *rest.APIError
	if !errors.Is(err, inventory.ErrInvalid) || !errors.As(err, &ae) || !strings.Contains(ae.Message, "SOLARIS") {
		t.Errorf("PutNode with a platform the manager does not know: %v, want the manager's InvalidSetting", err)
	}
}

func TestBuiltInScopes(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	if err := c.PutNode(ctx, testNode("docker_host1-web")); err != nil {
		t.Fatal(err)
	}
	if ss, err := c.Scopes(ctx); err != nil || len(ss) != 0 {
		t.Errorf("Scopes of a manager with only built-in scopes = %v, %v; want none", ss, err)
	}
	for _, id := range []string{"REGISTERED", "OWNER", "ALL_USERS", "LINUX"} {
		if _, err := c.Members(ctx, id); !errors.Is(err, inventory.ErrNotFound) || !strings.Contains(err.Error(), "built into Hinemos") {
			t.Errorf("Members(%s): %v, want ErrNotFound saying it is built in", id, err)
		}
		if err := c.DeleteScope(ctx, id); !errors.Is(err, inventory.ErrConflict) {
			t.Errorf("DeleteScope(%s): %v, want ErrConflict", id, err)
		}
		if err := c.PutScope(ctx, inventory.Scope{FacilityID: id, FacilityName: "x"}); !errors.Is(err, inventory.ErrConflict) {
			t.Errorf("PutScope(%s): %v, want ErrConflict", id, err)
		}
		if err := c.Assign(ctx, id, "docker_host1-web"); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Assign(%s): %v, want ErrNotFound", id, err)
		}
		if err := c.PutScope(ctx, inventory.Scope{FacilityID: "mine", FacilityName: "mine", Parent: id}); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("PutScope under %s: %v, want ErrNotFound", id, err)
		}
	}
	if w := writes(srv.Requests()); len(w) != 1 {
		t.Errorf("writes %v, want only the PutNode", w)
	}
}

func TestScopes(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	for _, s := range []inventory.Scope{
		{FacilityID: "docker_map", FacilityName: "docker_map"},
		{FacilityID: "docker_host1_scope", FacilityName: "docker_host1_scope", Parent: "docker_map", Description: "host 1"},
	} {
		if err := c.PutScope(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if b := lastBody(t, srv, "POST", repo+"/scope"); !reflect.DeepEqual(b, map[string]any{
		"parentFacilityId": "docker_map",
		"scopeInfo": map[string]any{"facilityId": "docker_host1_scope", "facilityName": "docker_host1_scope",
			"description": "host 1", "ownerRoleId": "ALL_USERS"},
	}) {
		t.Errorf("AddScopeRequest sent: %v", b)
	}
	got, err := c.Scope(ctx, "docker_host1_scope")
	want := inventory.Scope{FacilityID: "docker_host1_scope", FacilityName: "docker_host1_scope", Description: "host 1", Parent: "docker_map"}
	if err != nil || got != want {
		t.Errorf("Scope = %+v, %v; want %+v", got, err, want)
	}

	// Renaming modifies the scope as read, keeping its icon.
	srv.Reset()
	want.FacilityName = "Docker host 1"
	if err := c.PutScope(ctx, want); err != nil {
		t.Fatal(err)
	}
	if w := writes(srv.Requests()); !slices.Equal(w, []string{"PUT " + repo + "/scope/docker_host1_scope"}) {
		t.Errorf("PutScope renaming wrote %v", w)
	}
	if b := lastBody(t, srv, "PUT", repo+"/scope/docker_host1_scope"); b["facilityName"] != "Docker host 1" || b["description"] != "host 1" {
		t.Errorf("ModifyScopeRequest sent: %v", b)
	}
	srv.Reset()
	if err := c.PutScope(ctx, want); err != nil {
		t.Fatal(err)
	}
	if w := writes(srv.Requests()); len(w) != 0 {
		t.Errorf("PutScope of an unchanged scope wrote %v", w)
	}

	// Moving is not possible through the API.
	want.Parent = ""
	err = c.PutScope(ctx, want)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "docker_host1_scope") {
		t.Errorf("PutScope moving a scope: %v, want ErrUnsupported naming it", err)
	}
	if err := c.PutScope(ctx, inventory.Scope{FacilityID: "unnamed"}); !errors.Is(err, inventory.ErrInvalid) {
		t.Errorf("PutScope without a name: %v, want ErrInvalid", err)
	}
}

func TestAssignShape(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	for _, id := range []string{"docker_host1-a", "docker_host1-b", "docker_host1-c"} {
		if err := c.PutNode(ctx, testNode(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.PutScope(ctx, inventory.Scope{FacilityID: "web1", FacilityName: "web1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Assign(ctx, "web1", "docker_host1-a"); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	// Only the nodes not yet in the scope are sent, once each.
	if err := c.Assign(ctx, "web1", "docker_host1-c", "docker_host1-a", "docker_host1-b", "docker_host1-c"); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, srv, "PUT", repo+"/facilityRelation/web1"); !reflect.DeepEqual(b["facilityIdList"], []any{"docker_host1-c", "docker_host1-b"}) {
		t.Errorf("AssignNodeScopeRequest sent: %v", b)
	}
	// Only members are released (the manager fails the whole request for
	// a node not in the scope).
	srv.Reset()
	if err := c.Unassign(ctx, "web1", "docker_host1-b", "docker_host1-x", "docker_host1-b"); err != nil {
		t.Fatal(err)
	}
	if b := lastBody(t, srv, "PUT", repo+"/facilityRelation_release/web1"); !reflect.DeepEqual(b["facilityIdList"], []any{"docker_host1-b"}) {
		t.Errorf("ReleaseNodeScopeRequest sent: %v", b)
	}
	if ms, err := c.Members(ctx, "web1"); err != nil || !slices.Equal(ms, []string{"docker_host1-a", "docker_host1-c"}) {
		t.Errorf("Members = %v, %v", ms, err)
	}
}

func TestUsedFacility(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	if err := c.PutNode(ctx, testNode("docker_host1-web")); err != nil {
		t.Fatal(err)
	}
	if err := c.PutScope(ctx, inventory.Scope{FacilityID: "web1", FacilityName: "web1"}); err != nil {
		t.Fatal(err)
	}
	srv.MarkUsed("docker_host1-web")
	srv.MarkUsed("web1")
	for name, err := range map[string]error{
		"DeleteNode":  c.DeleteNode(ctx, "docker_host1-web"),
		"DeleteScope": c.DeleteScope(ctx, "web1"),
	} {
		var ae *rest.APIError
		if !errors.Is(err, inventory.ErrConflict) || !errors.As(err, &ae) || ae.Exception != "com.clustercontrol.fault.UsedFacility" {
			t.Errorf("%s of a facility monitor settings use: %v, want ErrConflict from UsedFacility", name, err)
		}
	}
	if _, err := c.Node(ctx, "docker_host1-web"); err != nil {
		t.Errorf("the node is gone after a refused delete: %v", err)
	}
}
