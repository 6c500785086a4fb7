package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/minato-ops/minato/inventory"
)

// invalidf returns an error wrapping inventory.ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{inventory.ErrInvalid}, args...)...)
}

// checkIDs checks facility IDs before they are put in a URL.
func checkIDs(ids ...string) error {
	var errs []error
	for _, id := range ids {
		if err := inventory.ValidFacilityID(id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// nodePath is the path of one node.
func nodePath(id string) string { return pathNode + "/" + url.PathEscape(id) }

// scopePath is the path of one scope.
func scopePath(id string) string { return pathScope + "/" + url.PathEscape(id) }

// Node returns the node with that facility ID ([inventory.ErrNotFound] if
// none: no facility, or a scope). It sends GET /repository/node/{id}.
func (c *Client) Node(ctx context.Context, facilityID string) (inventory.Node, error) {
	if err := checkIDs(facilityID); err != nil {
		return inventory.Node{}, fmt.Errorf("hinemos rest: node: %w", err)
	}
	var n nodeInfo
	if err := c.call(ctx, http.MethodGet, nodePath(facilityID), nil, nil, &n); err != nil {
		return inventory.Node{}, fmt.Errorf("hinemos rest: node %s: %w", facilityID, err)
	}
	if n.FacilityID == "" {
		n.FacilityID = facilityID
	}
	return n.toNode(), nil
}

// Nodes returns every node the user may see, sorted by facility ID. It
// sends GET /repository/node_withoutNodeConfigInfo for the list, then GET
// /repository/node/{id} for each node's variables and host names (the list
// does not carry them): one request per node. A node deleted meanwhile is
// left out.
func (c *Client) Nodes(ctx context.Context) ([]inventory.Node, error) {
	ids, err := c.nodeIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("hinemos rest: nodes: %w", err)
	}
	out := []inventory.Node{}
	for _, id := range ids {
		n, err := c.Node(ctx, id)
		if errors.Is(err, inventory.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// nodeIDs returns the facility IDs of every node, sorted.
func (c *Client) nodeIDs(ctx context.Context) ([]string, error) {
	var list nodeList
	if err := c.call(ctx, http.MethodGet, pathNodeList, nil, nil, &list); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list.NodeInfoList))
	for _, n := range list.NodeInfoList {
		if n.FacilityID != "" {
			ids = append(ids, n.FacilityID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// PutNode creates the node or replaces the properties minato manages
// (facility name, description, managed flag, platform, IP version and
// addresses, node name, host name, node variables); the node's other
// Hinemos properties (SNMP, SSH, WinRM settings, configuration
// information) and its assignments are kept. It sends GET
// /repository/node/{id}, then POST /repository/node to create, or PUT
// /repository/node/{id} with the node as read and minato's properties
// replaced; nothing when the node already has them.
//
// Hinemos requires a facility name, a platform, a node name and an
// address of the IP version: without them PutNode fails with
// [inventory.ErrInvalid] before sending anything. An IP version of 0 is
// stored as 4 (6 when only an IPv6 address is set); a node variable with
// an empty value is not stored (Hinemos refuses empty values), and only
// the first of a node's Hinemos host names is read back as HostName.
// [inventory.ErrConflict] when a scope has the facility ID.
func (c *Client) PutNode(ctx context.Context, n inventory.Node) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("hinemos rest: put node: %w", err)
	}
	if err := errors.Join(hinemosNodeRules(n)...); err != nil {
		return fmt.Errorf("hinemos rest: put node: %w", err)
	}
	id := n.FacilityID
	raw := map[string]json.RawMessage{}
	err := c.call(ctx, http.MethodGet, nodePath(id), nil, nil, &raw)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		return c.addNode(ctx, n)
	case err != nil:
		return fmt.Errorf("hinemos rest: put node %s: %w", id, err)
	}
	var cur nodeInfo
	if b, err := json.Marshal(raw); err == nil {
		_ = json.Unmarshal(b, &cur)
	}
	cur.FacilityID = id
	if sameNode(cur.toNode(), stored(n)) {
		return nil
	}
	if err := overlay(raw, fieldsOf(n)); err != nil {
		return fmt.Errorf("hinemos rest: put node %s: %w", id, err)
	}
	err = c.call(ctx, http.MethodPut, nodePath(id), nil, raw, nil)
	if errors.Is(err, inventory.ErrNotFound) {
		return c.addNode(ctx, n) // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("hinemos rest: put node %s: %w", id, err)
	}
	return nil
}

// addNode creates the node.
func (c *Client) addNode(ctx context.Context, n inventory.Node) error {
	req := addNodeRequest{FacilityID: n.FacilityID, OwnerRoleID: c.cfg.OwnerRoleID, nodeFields: fieldsOf(n)}
	err := c.call(ctx, http.MethodPost, pathNode, nil, req, nil)
	if errors.Is(err, inventory.ErrConflict) {
		return fmt.Errorf("hinemos rest: put node %s: another facility (a scope) has that ID: %w", n.FacilityID, err)
	}
	if err != nil {
		return fmt.Errorf("hinemos rest: put node %s: %w", n.FacilityID, err)
	}
	return nil
}

// DeleteNode removes the node and its assignments; an absent node (or a
// scope with that ID) is not an error. It sends DELETE
// /repository/node?facilityIds={id}. [inventory.ErrConflict] when Hinemos
// refuses because monitor or job settings still name the node.
func (c *Client) DeleteNode(ctx context.Context, facilityID string) error {
	if err := checkIDs(facilityID); err != nil {
		return fmt.Errorf("hinemos rest: delete node: %w", err)
	}
	err := c.call(ctx, http.MethodDelete, pathNode, url.Values{"facilityIds": {facilityID}}, nil, nil)
	if err != nil && !errors.Is(err, inventory.ErrNotFound) {
		return fmt.Errorf("hinemos rest: delete node %s: %w", facilityID, err)
	}
	return nil
}

// tree reads the whole facility tree (GET /repository/facility_tree).
func (c *Client) tree(ctx context.Context) (*facilityTree, error) {
	var root treeItem
	if err := c.call(ctx, http.MethodGet, pathTree, nil, nil, &root); err != nil {
		return nil, err
	}
	return newFacilityTree(root), nil
}

// noScope is the ErrNotFound error for an ID that is not a scope minato
// manages, saying what it is instead.
func noScope(t *facilityTree, id string) error {
	d, ok := t.data[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: no scope %s", inventory.ErrNotFound, id)
	case d.FacilityType == typeNode:
		return fmt.Errorf("%w: %s is a node, not a scope", inventory.ErrNotFound, id)
	default:
		return fmt.Errorf("%w: %s is a scope built into Hinemos, which minato does not manage", inventory.ErrNotFound, id)
	}
}

// Scope returns the scope with that facility ID ([inventory.ErrNotFound]
// if none). The scopes built into Hinemos (REGISTERED, OWNER, OS, ... and
// the role scopes) are not part of minato's view and are not found. It
// sends GET /repository/facility_tree, as do Scopes, PutScope,
// DeleteScope, Assign, Unassign and Members.
func (c *Client) Scope(ctx context.Context, facilityID string) (inventory.Scope, error) {
	if err := checkIDs(facilityID); err != nil {
		return inventory.Scope{}, fmt.Errorf("hinemos rest: scope: %w", err)
	}
	t, err := c.tree(ctx)
	if err != nil {
		return inventory.Scope{}, fmt.Errorf("hinemos rest: scope %s: %w", facilityID, err)
	}
	d, ok := t.userScope(facilityID)
	if !ok {
		return inventory.Scope{}, fmt.Errorf("hinemos rest: scope: %w", noScope(t, facilityID))
	}
	return t.scope(d), nil
}

// Scopes returns every scope the user may see except those built into
// Hinemos, sorted by facility ID.
func (c *Client) Scopes(ctx context.Context) ([]inventory.Scope, error) {
	t, err := c.tree(ctx)
	if err != nil {
		return nil, fmt.Errorf("hinemos rest: scopes: %w", err)
	}
	out := []inventory.Scope{}
	for id := range t.data {
		if d, ok := t.userScope(id); ok {
			out = append(out, t.scope(d))
		}
	}
	slices.SortFunc(out, func(a, b inventory.Scope) int { return strings.Compare(a.FacilityID, b.FacilityID) })
	return out, nil
}

// PutScope creates the scope (POST /repository/scope) or replaces its name
// and description (PUT /repository/scope/{id} with the scope as read by GET
// /repository/scope/{id} and those two replaced); nothing when it already
// has them. Hinemos requires a facility name ([inventory.ErrInvalid]). The
// parent must be a scope minato manages ([inventory.ErrNotFound]);
// [inventory.ErrConflict] when a node or a built-in scope has the ID or the
// parent lies inside the scope.
//
// The Hinemos REST API cannot move a scope: changing the Parent of an
// existing scope fails with an error wrapping [errors.ErrUnsupported]
// (delete the scope and create it again).
func (c *Client) PutScope(ctx context.Context, s inventory.Scope) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("hinemos rest: put scope: %w", err)
	}
	if strings.TrimSpace(s.FacilityName) == "" {
		return fmt.Errorf("hinemos rest: put scope: %w", invalidf("scope %s: Hinemos requires a facility name", s.FacilityID))
	}
	id := s.FacilityID
	t, err := c.tree(ctx)
	if err != nil {
		return fmt.Errorf("hinemos rest: put scope %s: %w", id, err)
	}
	if s.Parent != "" {
		if _, ok := t.userScope(s.Parent); !ok {
			return fmt.Errorf("hinemos rest: put scope %s: parent: %w", id, noScope(t, s.Parent))
		}
		for p := s.Parent; p != ""; p = t.parent[p] {
			if p == id {
				return fmt.Errorf("hinemos rest: put scope %s: %w: parent %s lies inside it", id, inventory.ErrConflict, s.Parent)
			}
		}
	}
	d, exists := t.data[id]
	switch {
	case !exists:
		req := addScopeRequest{ParentFacilityID: s.Parent, ScopeInfo: scopeInfoRequest{
			FacilityID: id, FacilityName: s.FacilityName, Description: s.Description, OwnerRoleID: c.cfg.OwnerRoleID,
		}}
		if err := c.call(ctx, http.MethodPost, pathScope, nil, req, nil); err != nil {
			return fmt.Errorf("hinemos rest: put scope %s: %w", id, err)
		}
		return nil
	case d.FacilityType == typeNode:
		return fmt.Errorf("hinemos rest: put scope %s: %w: a node has that facility ID", id, inventory.ErrConflict)
	case d.FacilityType != typeScope || d.BuiltInFlg:
		return fmt.Errorf("hinemos rest: put scope %s: %w: a scope built into Hinemos has that facility ID", id, inventory.ErrConflict)
	}
	if cur := t.parent[id]; cur != s.Parent {
		return fmt.Errorf("hinemos rest: put scope %s: moving it from %q to %q: the Hinemos REST API cannot move a scope; delete it and create it again: %w",
			id, cur, s.Parent, errors.ErrUnsupported)
	}
	if d.FacilityName == s.FacilityName && d.Description == s.Description {
		return nil
	}
	raw := map[string]json.RawMessage{}
	if err := c.call(ctx, http.MethodGet, scopePath(id), nil, nil, &raw); err != nil {
		return fmt.Errorf("hinemos rest: put scope %s: %w", id, err)
	}
	if err := overlay(raw, struct {
		FacilityName string `json:"facilityName"`
		Description  string `json:"description"`
	}{s.FacilityName, s.Description}); err != nil {
		return fmt.Errorf("hinemos rest: put scope %s: %w", id, err)
	}
	if err := c.call(ctx, http.MethodPut, scopePath(id), nil, raw, nil); err != nil {
		return fmt.Errorf("hinemos rest: put scope %s: %w", id, err)
	}
	return nil
}

// DeleteScope removes the scope and its assignments (the nodes stay). It
// sends DELETE /repository/scope?facilityIds={id}. An absent scope (or a
// node with that ID) is not an error. [inventory.ErrConflict] while it has
// child scopes (Hinemos would delete them too), for a built-in scope, and
// when Hinemos refuses because monitor or job settings name the scope.
func (c *Client) DeleteScope(ctx context.Context, facilityID string) error {
	if err := checkIDs(facilityID); err != nil {
		return fmt.Errorf("hinemos rest: delete scope: %w", err)
	}
	t, err := c.tree(ctx)
	if err != nil {
		return fmt.Errorf("hinemos rest: delete scope %s: %w", facilityID, err)
	}
	d, ok := t.data[facilityID]
	switch {
	case !ok || d.FacilityType != typeScope:
		return nil
	case d.BuiltInFlg:
		return fmt.Errorf("hinemos rest: delete scope %s: %w: the scope is built into Hinemos", facilityID, inventory.ErrConflict)
	}
	if kids := t.childScopes(facilityID); len(kids) > 0 {
		return fmt.Errorf("hinemos rest: delete scope %s: %w: it has child scopes %s", facilityID, inventory.ErrConflict, strings.Join(kids, ", "))
	}
	err = c.call(ctx, http.MethodDelete, pathScope, url.Values{"facilityIds": {facilityID}}, nil, nil)
	if err != nil && !errors.Is(err, inventory.ErrNotFound) {
		return fmt.Errorf("hinemos rest: delete scope %s: %w", facilityID, err)
	}
	return nil
}

// Assign puts the nodes in the scope. The scope must be one minato manages
// and every node must exist ([inventory.ErrNotFound], and then nothing is
// assigned). It sends GET /repository/facility_tree, GET
// /repository/node_withoutNodeConfigInfo, then PUT
// /repository/facilityRelation/{scope} with the nodes not yet in it.
func (c *Client) Assign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	if err := checkIDs(append([]string{scopeID}, nodeIDs...)...); err != nil {
		return fmt.Errorf("hinemos rest: assign to %s: %w", scopeID, err)
	}
	t, err := c.tree(ctx)
	if err != nil {
		return fmt.Errorf("hinemos rest: assign to %s: %w", scopeID, err)
	}
	if _, ok := t.userScope(scopeID); !ok {
		return fmt.Errorf("hinemos rest: assign: %w", noScope(t, scopeID))
	}
	if len(nodeIDs) == 0 {
		return nil
	}
	all, err := c.nodeIDs(ctx)
	if err != nil {
		return fmt.Errorf("hinemos rest: assign to %s: %w", scopeID, err)
	}
	var missing, add []string
	members := t.members(scopeID)
	for _, id := range nodeIDs {
		switch {
		case !contains(all, id):
			missing = append(missing, id)
		case !contains(members, id) && !slices.Contains(add, id):
			add = append(add, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("hinemos rest: assign to %s: %w: no node %s", scopeID, inventory.ErrNotFound, strings.Join(missing, ", "))
	}
	if len(add) == 0 {
		return nil
	}
	if err := c.call(ctx, http.MethodPut, pathAssign+"/"+url.PathEscape(scopeID), nil, relationRequest{FacilityIDList: add}, nil); err != nil {
		return fmt.Errorf("hinemos rest: assign to %s: %w", scopeID, err)
	}
	return nil
}

// Unassign takes the nodes out of the scope; nodes not in it are ignored;
// [inventory.ErrNotFound] if the scope is not one minato manages. It sends
// GET /repository/facility_tree, then PUT
// /repository/facilityRelation_release/{scope} with the nodes in it.
func (c *Client) Unassign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	if err := checkIDs(append([]string{scopeID}, nodeIDs...)...); err != nil {
		return fmt.Errorf("hinemos rest: unassign from %s: %w", scopeID, err)
	}
	t, err := c.tree(ctx)
	if err != nil {
		return fmt.Errorf("hinemos rest: unassign from %s: %w", scopeID, err)
	}
	if _, ok := t.userScope(scopeID); !ok {
		return fmt.Errorf("hinemos rest: unassign: %w", noScope(t, scopeID))
	}
	members := t.members(scopeID)
	var release []string
	for _, id := range nodeIDs {
		if contains(members, id) && !slices.Contains(release, id) {
			release = append(release, id)
		}
	}
	if len(release) == 0 {
		return nil
	}
	if err := c.call(ctx, http.MethodPut, pathRelease+"/"+url.PathEscape(scopeID), nil, relationRequest{FacilityIDList: release}, nil); err != nil {
		return fmt.Errorf("hinemos rest: unassign from %s: %w", scopeID, err)
	}
	return nil
}

// Members returns the facility IDs of the nodes assigned directly to the
// scope, sorted ([inventory.ErrNotFound] if the scope is not one minato
// manages).
func (c *Client) Members(ctx context.Context, scopeID string) ([]string, error) {
	if err := checkIDs(scopeID); err != nil {
		return nil, fmt.Errorf("hinemos rest: members: %w", err)
	}
	t, err := c.tree(ctx)
	if err != nil {
		return nil, fmt.Errorf("hinemos rest: members of %s: %w", scopeID, err)
	}
	if _, ok := t.userScope(scopeID); !ok {
		return nil, fmt.Errorf("hinemos rest: members: %w", noScope(t, scopeID))
	}
	return t.members(scopeID), nil
}

// contains reports whether the sorted slice holds s.
func contains(sorted []string, s string) bool {
	_, ok := slices.BinarySearch(sorted, s)
	return ok
}
