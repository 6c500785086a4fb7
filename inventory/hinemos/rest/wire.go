package rest

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/minato-ops/minato/inventory"
)

// Paths below /HinemosWeb/api, as the Hinemos 7 manager publishes them.
const (
	pathLogin    = "/AccessRestEndpoints/access/login"
	pathLogout   = "/AccessRestEndpoints/access/logout"
	pathRepo     = "/RepositoryRestEndpoints/repository"
	pathNode     = pathRepo + "/node"                       // POST add; DELETE ?facilityIds=
	pathNodeList = pathRepo + "/node_withoutNodeConfigInfo" // GET every node, without variables
	pathScope    = pathRepo + "/scope"                      // POST add; DELETE ?facilityIds=
	pathTree     = pathRepo + "/facility_tree"              // GET the whole tree
	pathAssign   = pathRepo + "/facilityRelation"           // PUT /{scope}
	pathRelease  = pathRepo + "/facilityRelation_release"   // PUT /{scope}
)

// Facility types of the manager's FacilityTypeEnum.
const (
	typeScope = "TYPE_SCOPE"
	typeNode  = "TYPE_NODE"
)

// rootID is the facility ID of the facility tree's root, the parent of the
// top-level scopes; no facility can be created with it.
const rootID = "_ROOT_"

// Limits the manager enforces on node variables (RepositoryValidator).
const (
	maxVariableName  = 128
	maxVariableValue = 1024
)

// loginRequest is AccessRestEndpoints' LoginRequest.
type loginRequest struct {
	UserID   string `json:"userId"`
	Password string `json:"password"`
}

// loginResponse is the part of LoginResponse the client uses.
type loginResponse struct {
	Token struct {
		TokenID        string `json:"tokenId"`
		ExpirationDate string `json:"expirationDate"`
	} `json:"token"`
}

// hostnameInfo is NodeHostnameInfoRequest/Response.
type hostnameInfo struct {
	Hostname string `json:"hostname"`
}

// variableInfo is NodeVariableInfoRequest/Response.
type variableInfo struct {
	Name  string `json:"nodeVariableName"`
	Value string `json:"nodeVariableValue"`
}

// nodeFields are the properties of a node minato manages, with the field
// names of AddNodeRequest, ModifyNodeRequest and NodeInfoResponse.
type nodeFields struct {
	FacilityName     string         `json:"facilityName"`
	Description      string         `json:"description"`
	Valid            bool           `json:"valid"`
	PlatformFamily   string         `json:"platformFamily"`
	IPAddressVersion string         `json:"ipAddressVersion"`
	IPAddressV4      string         `json:"ipAddressV4"`
	IPAddressV6      string         `json:"ipAddressV6"`
	NodeName         string         `json:"nodeName"`
	Hostnames        []hostnameInfo `json:"nodeHostnameInfo"`
	Variables        []variableInfo `json:"nodeVariableInfo"`
}

// nodeInfo is the part of NodeInfoResponse the client reads.
type nodeInfo struct {
	FacilityID string `json:"facilityId"`
	nodeFields
}

// addNodeRequest is the part of AddNodeRequest the client sends; the
// manager gives every other property its default.
type addNodeRequest struct {
	FacilityID        string `json:"facilityId"`
	OwnerRoleID       string `json:"ownerRoleId"`
	SubPlatformFamily string `json:"subPlatformFamily"`
	nodeFields
}

// nodeList is GetNodeListResponse; its entries are NodeInfoResponseP2, of
// which only the facility ID is used.
type nodeList struct {
	NodeInfoList []struct {
		FacilityID string `json:"facilityId"`
	} `json:"nodeInfoList"`
}

// scopeInfoRequest is ScopeInfoRequest.
type scopeInfoRequest struct {
	FacilityID   string `json:"facilityId"`
	FacilityName string `json:"facilityName"`
	Description  string `json:"description"`
	OwnerRoleID  string `json:"ownerRoleId"`
}

// addScopeRequest is AddScopeRequest; an empty parent puts the scope at
// the top of the tree.
type addScopeRequest struct {
	ParentFacilityID string           `json:"parentFacilityId,omitempty"`
	ScopeInfo        scopeInfoRequest `json:"scopeInfo"`
}

// relationRequest is AssignNodeScopeRequest and ReleaseNodeScopeRequest.
type relationRequest struct {
	FacilityIDList []string `json:"facilityIdList"`
}

// facilityData is the part of FacilityInfoResponseP2 the client reads.
type facilityData struct {
	FacilityID   string `json:"facilityId"`
	FacilityName string `json:"facilityName"`
	FacilityType string `json:"facilityType"`
	Description  string `json:"description"`
	BuiltInFlg   bool   `json:"builtInFlg"`
}

// treeItem is GetFacilityTreeResponse and FacilityTreeItemResponseP1.
type treeItem struct {
	Data     facilityData `json:"data"`
	Children []treeItem   `json:"children"`
}

// facilityTree indexes the facility tree the manager returned.
type facilityTree struct {
	// data holds every facility by ID.
	data map[string]facilityData
	// parent is the enclosing scope of each scope, "" at the top.
	parent map[string]string
	// children are the IDs directly below each scope, nodes and scopes.
	children map[string][]string
}

// newFacilityTree indexes the tree under root. A scope appears once in a
// Hinemos tree; a node appears under every scope it is assigned to.
func newFacilityTree(root treeItem) *facilityTree {
	t := &facilityTree{data: map[string]facilityData{}, parent: map[string]string{}, children: map[string][]string{}}
	var walk func(parentID string, items []treeItem)
	walk = func(parentID string, items []treeItem) {
		for _, it := range items {
			id := it.Data.FacilityID
			if id == "" || id == rootID {
				continue
			}
			if parentID != "" && !slices.Contains(t.children[parentID], id) {
				t.children[parentID] = append(t.children[parentID], id)
			}
			if _, seen := t.data[id]; seen {
				continue
			}
			t.data[id] = it.Data
			if it.Data.FacilityType == typeScope {
				t.parent[id] = parentID
				walk(id, it.Children)
			}
		}
	}
	walk("", root.Children)
	return t
}

// userScope returns the scope with that ID when it is one minato manages:
// a scope that is not built into Hinemos.
func (t *facilityTree) userScope(id string) (facilityData, bool) {
	d, ok := t.data[id]
	return d, ok && d.FacilityType == typeScope && !d.BuiltInFlg
}

// scope converts a user scope to an inventory.Scope.
func (t *facilityTree) scope(d facilityData) inventory.Scope {
	return inventory.Scope{FacilityID: d.FacilityID, FacilityName: d.FacilityName, Description: d.Description, Parent: t.parent[d.FacilityID]}
}

// members returns the nodes directly in the scope, sorted.
func (t *facilityTree) members(id string) []string {
	out := []string{}
	for _, c := range t.children[id] {
		if t.data[c].FacilityType == typeNode {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// childScopes returns the scopes directly below the scope, sorted.
func (t *facilityTree) childScopes(id string) []string {
	var out []string
	for _, c := range t.children[id] {
		if t.data[c].FacilityType == typeScope {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// toNode converts the manager's node to an inventory.Node. The host name
// is the first of the node's host names; variables without a name are
// dropped.
func (n nodeInfo) toNode() inventory.Node {
	out := inventory.Node{
		FacilityID:   n.FacilityID,
		FacilityName: n.FacilityName,
		Description:  n.Description,
		Managed:      n.Valid,
		Platform:     n.PlatformFamily,
		IPv4:         n.IPAddressV4,
		IPv6:         n.IPAddressV6,
		NodeName:     n.NodeName,
	}
	switch n.IPAddressVersion {
	case "IPV4":
		out.IPVersion = 4
	case "IPV6":
		out.IPVersion = 6
	}
	for _, h := range n.Hostnames {
		if h.Hostname != "" {
			out.HostName = h.Hostname
			break
		}
	}
	for _, v := range n.Variables {
		if v.Name == "" {
			continue
		}
		if out.Variables == nil {
			out.Variables = map[string]string{}
		}
		out.Variables[v.Name] = v.Value
	}
	return out
}

// fieldsOf maps an inventory.Node to the manager's node properties. An IP
// version of 0 becomes 4, or 6 when only an IPv6 address is set; variables
// with an empty value are left out, as the manager stores none.
func fieldsOf(n inventory.Node) nodeFields {
	f := nodeFields{
		FacilityName:   n.FacilityName,
		Description:    n.Description,
		Valid:          n.Managed,
		PlatformFamily: n.Platform,
		IPAddressV4:    n.IPv4,
		IPAddressV6:    n.IPv6,
		NodeName:       n.NodeName,
		Hostnames:      []hostnameInfo{},
		Variables:      []variableInfo{},
	}
	f.IPAddressVersion = "IPV4"
	if ipVersion(n) == 6 {
		f.IPAddressVersion = "IPV6"
	}
	if n.HostName != "" {
		f.Hostnames = append(f.Hostnames, hostnameInfo{Hostname: n.HostName})
	}
	for _, k := range slices.Sorted(maps.Keys(n.Variables)) {
		if v := n.Variables[k]; v != "" {
			f.Variables = append(f.Variables, variableInfo{Name: k, Value: v})
		}
	}
	return f
}

// ipVersion is the IP version the manager will store for n.
func ipVersion(n inventory.Node) int {
	switch {
	case n.IPVersion != 0:
		return n.IPVersion
	case n.IPv4 == "" && n.IPv6 != "":
		return 6
	}
	return 4
}

// stored returns n as the manager stores it and the client reads it back
// (see fieldsOf).
func stored(n inventory.Node) inventory.Node {
	return nodeInfo{FacilityID: n.FacilityID, nodeFields: fieldsOf(n)}.toNode()
}

// sameNode reports whether two nodes are equal, a nil and an empty
// Variables map being equal.
func sameNode(a, b inventory.Node) bool {
	return a.FacilityID == b.FacilityID && a.FacilityName == b.FacilityName && a.Description == b.Description &&
		a.Managed == b.Managed && a.Platform == b.Platform && a.IPVersion == b.IPVersion && a.IPv4 == b.IPv4 &&
		a.IPv6 == b.IPv6 && a.HostName == b.HostName && a.NodeName == b.NodeName && maps.Equal(a.Variables, b.Variables)
}

// overlay replaces the given properties in a JSON object the manager
// returned, keeping the others as they are.
func overlay(raw map[string]json.RawMessage, props any) error {
	b, err := json.Marshal(props)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	maps.Copy(raw, m)
	return nil
}

// hinemosNodeRules returns what the manager would refuse in n, as
// inventory.ErrInvalid errors: it requires a facility name, a platform, a
// node name, an address of the node's IP version, and limits node variable
// names and values.
func hinemosNodeRules(n inventory.Node) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, invalidf("node %s: "+format, append([]any{n.FacilityID}, args...)...))
	}
	if strings.TrimSpace(n.FacilityName) == "" {
		bad("Hinemos requires a facility name")
	}
	if n.Platform == "" {
		bad(`Hinemos requires a platform, such as "LINUX"`)
	}
	if n.NodeName == "" {
		bad("Hinemos requires a node name")
	}
	switch ipVersion(n) {
	case 4:
		if n.IPv4 == "" {
			bad("Hinemos requires an IPv4 address for IP version 4")
		}
	case 6:
		if n.IPv6 == "" {
			bad("Hinemos requires an IPv6 address for IP version 6")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(n.Variables)) {
		if k == "" || javaLen(k) > maxVariableName {
			bad("variable name %.40q: want 1 to %d characters", k, maxVariableName)
		}
		if l := javaLen(n.Variables[k]); l > maxVariableValue {
			bad("variable %s: value of %d characters, Hinemos stores at most %d", k, l, maxVariableValue)
		}
	}
	return errs
}

// javaLen is the length of s as the manager's Java code counts it, in
// UTF-16 code units.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
