package hinemos

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Scopes the sync creates, as the Hinemos Docker repository scripts name
// them.
const (
	// ScopeContainer holds every container node of every host.
	ScopeContainer = "docker_container"
	// ScopeHost holds every Docker host node.
	ScopeHost = "docker_host"
	// ScopeMap is the parent of the per-host scopes ([HostScopeID]).
	ScopeMap = "docker_map"
	// HostScopeSuffix ends the facility ID of a host's own scope:
	// "docker_host1" + "_scope".
	HostScopeSuffix = "_scope"
)

// ContainerSeparator joins the host facility ID and the container name in
// a container node's facility ID. The scripts' manual says "_", their
// execution logs show "-"; minato follows the logs.
const ContainerSeparator = "-"

// LabelAssignScope is the container label whose value lists the scopes
// (facility IDs, comma-separated) the container's node is assigned to.
const LabelAssignScope = "hinemosAssignScopeId"

// Node variables the sync sets on container nodes.
const (
	// VarContainerID is the 12-character container ID.
	VarContainerID = "DOCKER_CONTAINER_ID"
	// VarCommand is the container's command line.
	VarCommand = "DOCKER_COMMAND"
	// VarPorts lists the published port mappings, as docker ps shows them;
	// absent when the container publishes no port.
	VarPorts = "DOCKER_PORTS"
	// VarImage is the image the container was created from.
	VarImage = "DOCKER_IMAGE"
	// VarStatus is the container state word (running, exited, ...).
	VarStatus = "DOCKER_STATUS"
	// VarHost is the facility ID of the container's host node; the sync
	// touches only nodes whose VarHost is its own host.
	VarHost = "DOCKER_HOST"
)

// PlatformLinux is the platform of every node the sync creates.
const PlatformLinux = "LINUX"

// ContainerFacilityID returns the facility ID of the node of container
// name on host: "docker_host1-web". A leading "/" on the name is ignored.
// The result is not validated; see [inventory.ValidFacilityID].
func ContainerFacilityID(host, name string) string {
	return host + ContainerSeparator + strings.TrimPrefix(name, "/")
}

// HostScopeID returns the facility ID of host's own scope, the child of
// [ScopeMap] holding its container nodes: "docker_host1_scope".
func HostScopeID(host string) string {
	return host + HostScopeSuffix
}

// ParseScopeLabel splits a [LabelAssignScope] label value into scope
// facility IDs: entries are separated by ",", trimmed of white space;
// empty entries are dropped and repeated ones kept once, in first-seen
// order. "web1, web3" gives [web1 web3]; "" and " , " give nil. Entries
// are not validated: the sync skips those that name no scope.
func ParseScopeLabel(value string) []string {
	var out []string
	for _, f := range strings.Split(value, ",") {
		f = strings.TrimSpace(f)
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// pyList renders ids as Python 2 prints a list of unicode strings,
// [u'web1', u'web3'], the way the scripts' Japanese log shows label scopes.
func pyList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = pyRepr(id)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// plainList renders ids as [web1, web3].
func plainList(ids []string) string {
	return "[" + strings.Join(ids, ", ") + "]"
}

// pyRepr is Python 2's repr() of a unicode string: u'...' (u"..." when the
// text holds a ' and no "), with \\, the quote, \t, \n and \r escaped,
// other control and non-ASCII characters as \xNN, \uNNNN or \UNNNNNNNN.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte('u')
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			// Not UTF-8 (Python would have refused it): show the byte.
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		i += n
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r >= 0x7f && r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case r > 0xff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// publishedPorts keeps the published mappings ("0.0.0.0:8080->80/tcp")
// of a docker ps port list, joined with ", "; "" when none is published.
func publishedPorts(ports string) string {
	var out []string
	for _, p := range strings.Split(ports, ",") {
		if p = strings.TrimSpace(p); strings.Contains(p, "->") {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// stateOf returns the container state: Item.State, or, when a source left
// it empty, the state derived from the status text as the scripts'
// conv_docker_status does ("Up 4 minutes" running, "Up 2 minutes (Paused)"
// paused, "Restarting (1) ..." restarting, "Exited (0) ..." and "" exited,
// "Created" created, "Dead" dead, "Removal In Progress" removing); an
// unrecognised text gives "unknown".
func stateOf(state, status string) string {
	if state != "" {
		return strings.ToLower(state)
	}
	f := strings.Fields(status)
	switch {
	case len(f) == 0:
		return "exited"
	case f[0] == "Up" && f[len(f)-1] == "(Paused)":
		return "paused"
	case f[0] == "Up":
		return "running"
	case f[0] == "Restarting":
		return "restarting"
	case f[0] == "Exited":
		return "exited"
	case f[0] == "Created":
		return "created"
	case f[0] == "Dead":
		return "dead"
	case f[0] == "Removal":
		return "removing"
	}
	return "unknown"
}
