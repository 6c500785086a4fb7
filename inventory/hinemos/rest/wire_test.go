package rest

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/minato-ops/minato/inventory"
)

// sameNode must compare every field of inventory.Node, including fields
// added after it was written.
func TestSameNodeCoversEveryField(t *testing.T) {
	base := inventory.Node{Variables: map[string]string{"A": "1"}}
	typ := reflect.TypeFor[inventory.Node]()
	for i := range typ.NumField() {
		n := base.Clone()
		f := reflect.ValueOf(&n).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(4)
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"A": "2"}))
		default:
			t.Fatalf("field %s of kind %s: extend this test and sameNode", typ.Field(i).Name, f.Kind())
		}
		if sameNode(base, n) {
			t.Errorf("sameNode ignores a change of %s", typ.Field(i).Name)
		}
	}
	if !sameNode(inventory.Node{Variables: map[string]string{}}, inventory.Node{}) {
		t.Error("sameNode tells an empty Variables map from a nil one")
	}
}

func TestNodeMapping(t *testing.T) {
	n := inventory.Node{
		FacilityID: "h-web", FacilityName: "web", Description: "d", Managed: true, Platform: "LINUX", IPVersion: 4,
		IPv4: "10.0.0.1", HostName: "0e0d8cdf3a57", NodeName: "0e0d8cdf3a57",
		Variables: map[string]string{"B": "2", "A": "1", "EMPTY": ""},
	}
	f := fieldsOf(n)
	if f.IPAddressVersion != "IPV4" || !slices.Equal(f.Hostnames, []hostnameInfo{{"0e0d8cdf3a57"}}) ||
		!slices.Equal(f.Variables, []variableInfo{{"A", "1"}, {"B", "2"}}) {
		t.Errorf("fieldsOf = %+v", f)
	}
	back := stored(n)
	want := n.Clone()
	delete(want.Variables, "EMPTY")
	if !reflect.DeepEqual(back, want) {
		t.Errorf("stored = %+v, want %+v", back, want)
	}
	for _, tc := range []struct {
		n    inventory.Node
		want int
	}{
		{inventory.Node{}, 4},
		{inventory.Node{IPv6: "fd00::1"}, 6},
		{inventory.Node{IPv4: "10.0.0.1", IPv6: "fd00::1"}, 4},
		{inventory.Node{IPVersion: 6, IPv4: "10.0.0.1"}, 6},
	} {
		if got := ipVersion(tc.n); got != tc.want {
			t.Errorf("ipVersion(%+v) = %d, want %d", tc.n, got, tc.want)
		}
	}
	// The manager's answer: the first non-empty host name, no nameless
	// variable, and nulls.
	var ni nodeInfo
	if err := json.Unmarshal([]byte(`{"facilityId":"x","facilityName":null,"valid":null,"ipAddressVersion":"IPV6",
		"nodeHostnameInfo":[{"hostname":""},{"hostname":"b"},{"hostname":"a"}],
		"nodeVariableInfo":[{"nodeVariableName":"","nodeVariableValue":"v"},{"nodeVariableName":"K","nodeVariableValue":"v","regDate":"2026-01-01 00:00:00"}]}`), &ni); err != nil {
		t.Fatal(err)
	}
	if got := ni.toNode(); !reflect.DeepEqual(got, inventory.Node{FacilityID: "x", IPVersion: 6, HostName: "b", Variables: map[string]string{"K": "v"}}) {
		t.Errorf("toNode = %+v", got)
	}
}

// tree is a facility tree as the manager returns it: built-in scopes, user
// scopes two deep, nodes in several scopes.
const tree = `{"data":{"facilityId":"_ROOT_","facilityType":"TYPE_COMPOSITE"},"childrenTotal":3,"children":[
 {"data":{"facilityId":"REGISTERED","facilityType":"TYPE_SCOPE","builtInFlg":true},"children":[
  {"data":{"facilityId":"h-a","facilityType":"TYPE_NODE"},"children":[]},
  {"data":{"facilityId":"h-b","facilityType":"TYPE_NODE"},"children":[]}]},
 {"data":{"facilityId":"docker_map","facilityName":"map","facilityType":"TYPE_SCOPE","builtInFlg":false},"children":[
  {"data":{"facilityId":"h_scope","facilityName":"h","description":"d","facilityType":"TYPE_SCOPE"},"children":[
   {"data":{"facilityId":"h-b","facilityType":"TYPE_NODE"},"children":[]},
   {"data":{"facilityId":"h-a","facilityType":"TYPE_NODE"},"children":[]}]},
  {"data":{"facilityId":"h-a","facilityType":"TYPE_NODE"},"children":[]}]},
 {"data":{"facilityId":"empty","facilityType":"TYPE_SCOPE"},"children":null}]}`

func TestFacilityTree(t *testing.T) {
	var root treeItem
	if err := json.Unmarshal([]byte(tree), &root); err != nil {
		t.Fatal(err)
	}
	ft := newFacilityTree(root)
	if _, ok := ft.userScope("REGISTERED"); ok {
		t.Error("REGISTERED is a user scope")
	}
	if _, ok := ft.userScope("h-a"); ok {
		t.Error("a node is a user scope")
	}
	d, ok := ft.userScope("h_scope")
	if !ok || ft.scope(d) != (inventory.Scope{FacilityID: "h_scope", FacilityName: "h", Description: "d", Parent: "docker_map"}) {
		t.Errorf("h_scope = %+v, %v", ft.scope(d), ok)
	}
	if d, _ := ft.userScope("docker_map"); ft.scope(d).Parent != "" {
		t.Errorf("a top-level scope has parent %q", ft.scope(d).Parent)
	}
	for id, want := range map[string][]string{"h_scope": {"h-a", "h-b"}, "docker_map": {"h-a"}, "empty": {}} {
		if got := ft.members(id); !slices.Equal(got, want) {
			t.Errorf("members(%s) = %q, want %q", id, got, want)
		}
	}
	if got := ft.childScopes("docker_map"); !slices.Equal(got, []string{"h_scope"}) {
		t.Errorf("childScopes(docker_map) = %q", got)
	}
}

// FuzzFacilityTree indexes arbitrary trees: it must not panic, every scope
// chain must end at the top, and members must be sorted nodes.
func FuzzFacilityTree(f *testing.F) {
	f.Add([]byte(tree))
	f.Add([]byte(`{"children":[{"data":{"facilityId":"a","facilityType":"TYPE_SCOPE"},"children":[{"data":{"facilityId":"a","facilityType":"TYPE_SCOPE"}}]}]}`))
	f.Add([]byte(`{"children":[{"data":{"facilityId":"_ROOT_","facilityType":"TYPE_SCOPE"},"children":[{"data":{"facilityId":"n","facilityType":"TYPE_NODE"}}]}]}`))
	f.Add([]byte(`{"children":[{"data":{"facilityId":"s","facilityType":"TYPE_SCOPE"},"children":[{"data":{"facilityId":"s","facilityType":"TYPE_NODE"}}]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var root treeItem
		if json.Unmarshal(b, &root) != nil {
			return
		}
		ft := newFacilityTree(root)
		for id := range ft.data {
			seen := map[string]bool{}
			for p := id; p != ""; p = ft.parent[p] {
				if seen[p] {
					t.Fatalf("the parents of %s loop at %s", id, p)
				}
				seen[p] = true
			}
			if _, ok := ft.userScope(id); !ok {
				continue
			}
			ms := ft.members(id)
			if !slices.IsSorted(ms) {
				t.Errorf("members(%s) = %q: not sorted", id, ms)
			}
			for _, m := range ms {
				if ft.data[m].FacilityType != typeNode {
					t.Errorf("members(%s) holds %s, not a node", id, m)
				}
			}
		}
	})
}
