package inventory

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// RepositoryExport is the whole content of a [Repository] as data: every
// node with the scopes it is assigned to, and every scope with its parent
// and its members. It marshals to JSON as {"nodes": [...], "scopes":
// [...]}, each node with the fields of [Node] and "scopes", each scope
// with the fields of [Scope] and "members".
type RepositoryExport struct {
	// Nodes are sorted by facility ID.
	Nodes []NodeExport `json:"nodes"`
	// Scopes are sorted by facility ID.
	Scopes []ScopeExport `json:"scopes"`
}

// NodeExport is one node of a [RepositoryExport].
type NodeExport struct {
	Node
	// Scopes are the facility IDs of the scopes the node is assigned to
	// directly, sorted; empty, never nil.
	Scopes []string `json:"scopes"`
}

// ScopeExport is one scope of a [RepositoryExport].
type ScopeExport struct {
	Scope
	// Members are the facility IDs of the nodes assigned to the scope
	// directly, sorted; empty, never nil.
	Members []string `json:"members"`
}

// Export reads the whole repository. When repo is a [Batcher] it reads
// in one batch, which changes nothing, so that the export is one
// consistent state; otherwise it reads call by call, and a change made
// meanwhile by someone else may show in part (a member whose node was
// deleted after the nodes were read is then listed in its scope only). An
// error means the repository could not be read; the export is then
// empty.
func Export(ctx context.Context, repo Repository) (RepositoryExport, error) {
	var out RepositoryExport
	err := Batch(ctx, repo, func(r Repository) error {
		out = RepositoryExport{}
		nodes, err := r.Nodes(ctx)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		scopes, err := r.Scopes(ctx)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		of := map[string][]string{}
		out.Scopes = make([]ScopeExport, 0, len(scopes))
		for _, s := range scopes {
			ms, err := r.Members(ctx, s.FacilityID)
			if err != nil {
				return fmt.Errorf("export: scope %s: %w", s.FacilityID, err)
			}
			for _, m := range ms {
				of[m] = append(of[m], s.FacilityID)
			}
			out.Scopes = append(out.Scopes, ScopeExport{Scope: s, Members: append([]string{}, ms...)})
		}
		out.Nodes = make([]NodeExport, 0, len(nodes))
		for _, n := range nodes {
			// Scopes come in order, so each node's list is sorted.
			out.Nodes = append(out.Nodes, NodeExport{Node: n, Scopes: append([]string{}, of[n.FacilityID]...)})
		}
		return nil
	})
	if err != nil {
		return RepositoryExport{}, err
	}
	return out, nil
}

// WriteJSON writes e to w as one indented JSON document, followed by a
// newline. Node and scope lists are written as [] when empty. An error
// means w failed.
func WriteJSON(w io.Writer, e RepositoryExport) error {
	if e.Nodes == nil {
		e.Nodes = []NodeExport{}
	}
	if e.Scopes == nil {
		e.Scopes = []ScopeExport{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // port maps ("->") stay readable
	if err := enc.Encode(e); err != nil {
		return fmt.Errorf("inventory: write JSON: %w", err)
	}
	return nil
}

// csvColumns returns the columns WriteCSV writes before the node
// variables.
func csvColumns() []string {
	return []string{"facility_id", "facility_name", "managed", "platform", "ip_version", "ipv4", "host_name", "node_name", "scopes"}
}

// WriteCSV writes the nodes of e to w as CSV (RFC 4180, through
// encoding/csv): a header row, then one row per node in the order of
// e.Nodes. The columns are, always in this order: facility_id,
// facility_name, managed ("true" or "false"), platform, ip_version (empty
// when unset), ipv4, host_name, node_name, scopes (the node's scopes
// joined with ";"), then one column per node variable name found in any
// node, sorted by name and headed by it, empty for nodes without that
// variable. Scopes themselves are not written: WriteJSON writes them.
//
// Spreadsheet programs run a cell that starts with "=", "+", "-" or "@"
// as a formula (CSV or formula injection), and node names and variables
// come from containers that anyone allowed to start one can name. So any
// cell, the header included, that starts with one of those characters, or
// with a tab or a carriage return, is written with a "'" before it, as the
// OWASP guidance on CSV injection advises: "=1+2" is written "'=1+2", and
// a facility ID "-web" is written "'-web". A program that reads the file
// back and needs the original value removes one leading "'" from such a
// cell.
//
// An error means w failed.
func WriteCSV(w io.Writer, e RepositoryExport) error {
	vars := map[string]bool{}
	for _, n := range e.Nodes {
		for k := range n.Variables {
			vars[k] = true
		}
	}
	names := slices.Sorted(maps.Keys(vars))
	cw := csv.NewWriter(w)
	row := make([]string, 0, len(csvColumns())+len(names))
	write := func() error {
		for i, c := range row {
			row[i] = csvCell(c)
		}
		return cw.Write(row)
	}
	row = append(append(row, csvColumns()...), names...)
	if err := write(); err != nil {
		return fmt.Errorf("inventory: write CSV: %w", err)
	}
	for _, n := range e.Nodes {
		ipv := ""
		if n.IPVersion != 0 {
			ipv = strconv.Itoa(n.IPVersion)
		}
		row = append(row[:0], n.FacilityID, n.FacilityName, strconv.FormatBool(n.Managed), n.Platform, ipv,
			n.IPv4, n.HostName, n.NodeName, strings.Join(n.Scopes, ";"))
		for _, k := range names {
			row = append(row, n.Variables[k])
		}
		if err := write(); err != nil {
			return fmt.Errorf("inventory: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("inventory: write CSV: %w", err)
	}
	return nil
}

// csvCell guards a cell against formula injection: see [WriteCSV].
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
