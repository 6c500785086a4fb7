package container

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/inventory"
)

// ListOptions selects what [Client.List] returns.
type ListOptions struct {
	// All includes containers that are not running (docker ps -a).
	All bool
	// Size fills Summary.SizeRw and SizeRootFs. It is slow on large
	// engines: the engine walks every container's writable layer.
	Size bool
	// Labels keeps only containers with all these labels; an empty value
	// means "label present". Applied by the engine.
	Labels map[string]string
	// States keeps only containers in one of these states. Applied by the
	// engine; implies All for non-running states.
	States []State
}

// Summary is one container as the list call reports it.
type Summary struct {
	// ID is the full 64-hex container ID.
	ID string `json:"id"`
	// Name is the container's primary name without Docker's leading "/".
	Name string `json:"name"`
	// Image is the image reference the container was created from.
	Image string `json:"image"`
	// ImageID is the image's content ID.
	ImageID string `json:"image_id"`
	// Command is the command line the engine reports, joined.
	Command string `json:"command"`
	// Created is when the container was created (second precision).
	Created time.Time `json:"created"`
	// State is the API's State field.
	State State `json:"state"`
	// Status is the human status text ("Up 35 minutes").
	Status string `json:"status"`
	// Labels are the container's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// SizeRw and SizeRootFs are filled when ListOptions.Size is set: bytes
	// in the writable layer, and in all layers.
	SizeRw     int64 `json:"size_rw,omitempty"`
	SizeRootFs int64 `json:"size_root_fs,omitempty"`
	// Ports are the container's exposed and published ports, in the
	// engine's order; [FormatPorts] renders them as docker ps does.
	Ports []Port `json:"ports,omitempty"`
	// Networks are the names of the networks the container is attached
	// to, sorted.
	Networks []string `json:"networks,omitempty"`
	// Mounts are the container's mounts (volumes, binds, tmpfs), in the
	// engine's order.
	Mounts []Mount `json:"mounts,omitempty"`
	// IPAddress is the container's first IPv4 address, taking the networks
	// in name order (the first global IPv6 address when it has no IPv4
	// one); empty when it has none (not running, or network "none").
	IPAddress string `json:"ip_address,omitempty"`
}

// Port is one exposed port of a container, as the list call reports it.
type Port struct {
	// IP is the host address the port is published on ("0.0.0.0", "::");
	// empty when the port is exposed but not published.
	IP string `json:"ip,omitempty"`
	// PrivatePort is the port inside the container.
	PrivatePort uint16 `json:"private_port"`
	// PublicPort is the port on the host; 0 when not published.
	PublicPort uint16 `json:"public_port,omitempty"`
	// Type is "tcp", "udp" or "sctp".
	Type string `json:"type"`
}

// Mount is one mount of a container, as the list call reports it.
type Mount struct {
	// Type is "volume", "bind", "tmpfs", "npipe" or "cluster".
	Type string `json:"type"`
	// Name is the volume name; empty for other types.
	Name string `json:"name,omitempty"`
	// Source is the host path (for volumes, the volume's directory);
	// empty for tmpfs.
	Source string `json:"source,omitempty"`
	// Destination is the path inside the container.
	Destination string `json:"destination"`
	// RW says the mount is writable.
	RW bool `json:"rw"`
}

// String renders the mount as "source:destination", with ":ro" appended
// when it is read-only. The source is the volume name for volumes, the
// host path for binds, and the type ("tmpfs") when there is neither.
func (m Mount) String() string {
	src := m.Name
	if src == "" {
		src = m.Source
	}
	if src == "" {
		src = m.Type
	}
	s := src + ":" + m.Destination
	if !m.RW {
		s += ":ro"
	}
	return s
}

// FormatPorts renders ports the way docker ps prints its PORTS column:
// "0.0.0.0:8080->80/tcp, 443/tcp". Ports published on the same port number
// they expose are grouped into ranges per address and protocol
// ("0.0.0.0:7000-7002->7000-7002/tcp"), exposed-only ports into ranges per
// protocol ("5000-5001/udp"), and ports published on another number are
// listed one by one after the groups. IPv6 addresses are bracketed. ports
// is not modified; nil or empty gives "".
func FormatPorts(ports []Port) string {
	sorted := slices.Clone(ports)
	slices.SortFunc(sorted, comparePorts)
	type span struct{ first, last uint16 }
	var (
		groups  = map[string]*span{}
		order   []string // group keys in the order they were first seen
		out     []string
		remaps  []string // published on another port number
		closeUp = func(key string, g *span) { out = append(out, formatSpan(key, g.first, g.last)) }
	)
	for _, p := range sorted {
		key := p.Type
		if p.IP != "" {
			if p.PublicPort != p.PrivatePort {
				remaps = append(remaps, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(p.IP, strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
				continue
			}
			key = p.IP + "/" + p.Type
		}
		g, ok := groups[key]
		switch {
		case !ok:
			groups[key] = &span{p.PrivatePort, p.PrivatePort}
			order = append(order, key)
		case p.PrivatePort == g.last+1:
			g.last = p.PrivatePort
		default:
			// A gap ends the group; a new one starts under the same key.
			closeUp(key, g)
			groups[key] = &span{p.PrivatePort, p.PrivatePort}
		}
	}
	for _, key := range order {
		closeUp(key, groups[key])
	}
	return strings.Join(append(out, remaps...), ", ")
}

// formatSpan renders one group: "80/tcp", "7000-7002/tcp" or, for a key
// "IP/TYPE", "IP:7000-7002->7000-7002/tcp".
func formatSpan(key string, first, last uint16) string {
	ip, typ, published := strings.Cut(key, "/")
	if !published {
		ip, typ = "", key
	}
	r := strconv.Itoa(int(first))
	if first != last {
		r += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		r = net.JoinHostPort(ip, r) + "->" + r
	}
	return r + "/" + typ
}

// comparePorts orders ports as docker ps does: by private port, host
// address (IPv4 before IPv6), public port, then protocol.
func comparePorts(a, b Port) int {
	if c := cmp.Compare(a.PrivatePort, b.PrivatePort); c != 0 {
		return c
	}
	if a.IP != b.IP {
		x, errX := netip.ParseAddr(a.IP)
		y, errY := netip.ParseAddr(b.IP)
		if errX == nil && errY == nil {
			return x.Compare(y)
		}
		return strings.Compare(a.IP, b.IP)
	}
	return cmp.Or(cmp.Compare(a.PublicPort, b.PublicPort), strings.Compare(a.Type, b.Type))
}

// Target returns the container as an [inventory.Target] on the given engine.
func (s Summary) Target(engine string) inventory.Target {
	return inventory.Target{Kind: inventory.KindContainer, ID: s.ID, Name: s.Name, Engine: engine, Labels: s.Labels}
}

// ListResult is what [Client.List] returns.
type ListResult struct {
	// Containers in the engine's order (newest first).
	Containers []Summary
}

// List returns the containers the options select.
func (c *Client) List(ctx context.Context, o ListOptions) (ListResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	f := labelFilters(o.Labels)
	all := o.All
	for _, s := range o.States {
		f.Add("status", string(s))
		if s != Running {
			all = true
		}
	}
	raw, err := c.api.ContainerList(ctx, container.ListOptions{All: all, Size: o.Size, Filters: f})
	if err != nil {
		return ListResult{}, c.wrap("list containers", "", err)
	}
	out := ListResult{Containers: make([]Summary, 0, len(raw))}
	for _, r := range raw {
		out.Containers = append(out.Containers, summaryFrom(r))
	}
	return out, nil
}

func summaryFrom(r container.Summary) Summary {
	s := Summary{
		ID: r.ID, Image: r.Image, ImageID: r.ImageID, Command: r.Command,
		Created: time.Unix(r.Created, 0), State: State(strings.ToLower(r.State)), Status: r.Status,
		Labels: r.Labels, SizeRw: r.SizeRw, SizeRootFs: r.SizeRootFs,
	}
	for _, p := range r.Ports {
		s.Ports = append(s.Ports, Port{IP: p.IP, PrivatePort: p.PrivatePort, PublicPort: p.PublicPort, Type: p.Type})
	}
	for _, m := range r.Mounts {
		s.Mounts = append(s.Mounts, Mount{Type: string(m.Type), Name: m.Name, Source: m.Source, Destination: m.Destination, RW: m.RW})
	}
	if ns := r.NetworkSettings; ns != nil && len(ns.Networks) > 0 {
		s.Networks = slices.Sorted(maps.Keys(ns.Networks))
		var v6 string
		for _, name := range s.Networks {
			ep := ns.Networks[name]
			if ep == nil {
				continue
			}
			if ep.IPAddress != "" && s.IPAddress == "" {
				s.IPAddress = ep.IPAddress
			}
			if ep.GlobalIPv6Address != "" && v6 == "" {
				v6 = ep.GlobalIPv6Address
			}
		}
		if s.IPAddress == "" {
			s.IPAddress = v6
		}
	}
	if len(r.Names) > 0 {
		// The primary name is the one without a further "/": linked
		// containers also appear as "/other/alias".
		s.Name = inventory.TrimName(r.Names[0])
		for _, n := range r.Names {
			if n = inventory.TrimName(n); !strings.Contains(n, "/") {
				s.Name = n
				break
			}
		}
	}
	if s.State == "" {
		// Engines before API 1.21 had no State field: derive it from Status.
		if st, err := ParseStatus(r.Status); err == nil {
			s.State = st
		}
	}
	return s
}

// Select returns every container (running or not) that sel matches, State
// filters included, sorted by ID. Labels are filtered by the engine, the
// ID and name patterns here. An invalid Selector returns its validation
// error; matching nothing is not an error (an empty, non-nil slice).
func (c *Client) Select(ctx context.Context, sel inventory.Selector) ([]Summary, error) {
	if sel.Kind != "" && sel.Kind != inventory.KindContainer {
		return nil, fmt.Errorf("container: select: kind %q: this resolver only knows %q", sel.Kind, inventory.KindContainer)
	}
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if len(sel.Scopes) > 0 {
		return nil, fmt.Errorf("container: select %s: %w (configure one with the inventory repository)", sel, inventory.ErrScopes)
	}
	res, err := c.List(ctx, ListOptions{All: true, Labels: sel.Labels})
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, s := range res.Containers {
		if sel.Match(s.Target(c.Host())) && sel.MatchState(string(s.State)) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Resolve implements [inventory.Resolver] over the engine's containers:
// [Client.Select] turned into Targets.
func (c *Client) Resolve(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
	ss, err := c.Select(ctx, sel)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.Target, len(ss))
	for i, s := range ss {
		out[i] = s.Target(c.Host())
	}
	return out, nil
}

var _ inventory.Resolver = (*Client)(nil)
