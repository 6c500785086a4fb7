package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
)

const refPorts = "Container Service FAQ §2.4 and §2.7 (host ports)"

// claim is one host port a container claims.
type claim struct {
	id, name string
	state    container.State
	selected bool
	proto    string
	ip       string // "" for every address
	port     int
	cport    uint16
}

func (c claim) String() string {
	ip := c.ip
	if ip == "" {
		ip = "0.0.0.0"
	}
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, c.port, c.cport, c.proto)
}

// overlaps says two host addresses can collide: equal, or either is a
// wildcard of the other's family (Docker's "" and "::" bind every
// address; a dual-stack [::] listener also takes IPv4).
func overlaps(a, b string) bool {
	if a == b || a == "" || b == "" || a == "::" || b == "::" {
		return true
	}
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	if errX != nil || errY != nil {
		return false
	}
	x, y = x.Unmap(), y.Unmap()
	if x == y {
		return true
	}
	return x.Is4() && y.Is4() && (x.IsUnspecified() || y.IsUnspecified())
}

// fixedPort parses a host port that is one number ("8080"); ranges and
// "", "0" (any free port) are not fixed and cannot collide.
func fixedPort(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 65535 {
		return 0, false
	}
	return n, true
}

// claimsOf returns the host ports a container claims from its settings.
func claimsOf(x inspected, selected bool) []claim {
	if x.set.NetworkMode == "host" {
		return nil // the engine ignores -p with the host network
	}
	var out []claim
	for _, b := range x.set.PortBindings {
		if p, ok := fixedPort(b.HostPort); ok {
			out = append(out, claim{id: x.ins.ID, name: x.ins.Name, state: x.ins.State, selected: selected,
				proto: b.Proto, ip: b.HostIP, port: p, cport: b.ContainerPort})
		}
	}
	return out
}

// ports is D03 and D04: a container claiming a host port another one
// claims fails to start with "port is already allocated" (the engine
// refuses only the second running one, so created and exited containers
// collide at their next start); and host ports on the reserved list.
func (e *checker) ports(ctx context.Context) ([]diag.Finding, error) {
	snap, err := e.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	err = snap.err
	var claims []claim
	for _, x := range snap.selected {
		claims = append(claims, claimsOf(x, true)...)
	}
	// Unselected containers: running ones' published ports are in the
	// listing; the others must be inspected for what they would claim.
	var others []container.Summary
	for _, s := range snap.all {
		if snap.isSel[s.ID] {
			continue
		}
		if s.State != container.Running {
			others = append(others, s)
			continue
		}
		for _, p := range s.Ports {
			if p.PublicPort != 0 {
				claims = append(claims, claim{id: s.ID, name: s.Name, state: s.State, proto: p.Type, ip: p.IP, port: int(p.PublicPort), cport: p.PrivatePort})
			}
		}
	}
	if len(others) > 0 {
		got, ierr := e.inspectAll(ctx, others)
		err = errors.Join(err, ierr)
		for _, x := range got {
			claims = append(claims, claimsOf(x, false)...)
		}
	}
	var out []diag.Finding
	out = append(out, e.reserved(claims)...)
	out = append(out, e.conflicts(claims)...)
	return out, err
}

func (e *checker) reserved(claims []claim) []diag.Finding {
	var out []diag.Finding
	for _, c := range claims {
		if !c.selected || !slices.Contains(e.o.ReservedPorts, c.port) {
			continue
		}
		detail := fmt.Sprintf("Host port %d is on the list of ports reserved on this engine's hosts.", c.port)
		if c.port == 9080 || c.port == 2376 || c.port == 3376 {
			detail += " On Container Service nodes 9080 carries the routing service (load balancer port 80 → node 9080 → routing container), and 2376 and 3376 are the engine's and the cluster manager's TLS ports: \"The host port cannot be set to 9080,2376,3376\"."
		}
		out = append(out, diag.Finding{
			Code: "D03", Severity: diag.Warning, Subject: e.containerSubject(c.id, c.name),
			Title:     fmt.Sprintf("Publishes reserved host port %d/%s", c.port, c.proto),
			Detail:    detail,
			Remedy:    fmt.Sprintf("Publish on another host port (for example -p 8080:%d) and recreate the container", c.cport),
			Evidence:  []string{"port binding " + c.String(), "reserved ports: " + joinInts(e.o.ReservedPorts)},
			Reference: refPorts,
		})
	}
	return out
}

// conflicts reports, for each selected container that is not running and
// claims a host port another container claims, that its next start
// fails; two running containers cannot hold one port, so such a pair is
// not reported.
func (e *checker) conflicts(claims []claim) []diag.Finding {
	type key struct {
		proto string
		port  int
	}
	groups := map[key][]claim{}
	var keys []key
	for _, c := range claims {
		k := key{c.proto, c.port}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.port != b.port {
			return a.port - b.port
		}
		return strings.Compare(a.proto, b.proto)
	})
	var out []diag.Finding
	for _, k := range keys {
		g := groups[k]
		slices.SortFunc(g, func(a, b claim) int { return strings.Compare(a.name+a.id, b.name+b.id) })
		reported := map[string]bool{}
		for _, c := range g {
			if !c.selected || c.state == container.Running || c.state == container.Paused || reported[c.id] {
				continue
			}
			var with []claim
			for _, o := range g {
				if (o.id == c.id && o.cport == c.cport) || !overlaps(c.ip, o.ip) {
					continue
				}
				with = append(with, o)
			}
			if len(with) == 0 {
				continue
			}
			reported[c.id] = true
			var names, ev []string
			runningHolder := ""
			ev = append(ev, fmt.Sprintf("%s (%s): %s", c.name, c.state, c))
			for _, o := range with {
				ev = append(ev, fmt.Sprintf("%s (%s): %s", o.name, o.state, o))
				if !slices.Contains(names, o.name) {
					names = append(names, o.name)
				}
				if o.state == container.Running || o.state == container.Paused {
					runningHolder = o.name
				}
			}
			detail := fmt.Sprintf("Host port %d/%s is also claimed by %s. ", k.port, k.proto, strings.Join(names, ", "))
			if runningHolder != "" {
				detail += fmt.Sprintf("%s holds it now, so starting %s fails with \"port is already allocated\".", runningHolder, c.name)
			} else {
				detail += "None of them runs now: whichever starts second fails with \"port is already allocated\" (after a reboot, at random)."
			}
			out = append(out, diag.Finding{
				Code: "D04", Severity: diag.Warning, Subject: e.containerSubject(c.id, c.name),
				Title:     fmt.Sprintf("Claims host port %d/%s, which %s also claims", k.port, k.proto, strings.Join(names, ", ")),
				Detail:    detail,
				Remedy:    fmt.Sprintf("Give each container its own host port (recreate %s with another -p HOSTPORT:%d), or remove the container that is no longer needed", c.name, c.cport),
				Evidence:  ev,
				Reference: refPorts,
			})
		}
	}
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
