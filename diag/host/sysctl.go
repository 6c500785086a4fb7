package host

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/minato-ops/minato/diag"
)

const confDir = "/proc/sys/net/ipv4/conf"

// sysctlName turns "/proc/sys/net/ipv4/conf/all/rp_filter" into
// "net.ipv4.conf.all.rp_filter".
func sysctlName(p string) string {
	return strings.ReplaceAll(strings.TrimPrefix(p, "/proc/sys/"), "/", ".")
}

// interfaces returns the interfaces whose rp_filter is checked.
func (h *hostChecks) interfaces() ([]string, error) {
	if h.o.Interfaces != nil {
		return h.o.Interfaces, nil
	}
	ents, err := os.ReadDir(h.path(confDir))
	if err != nil {
		return nil, hostErr(confDir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if n == "all" || n == "default" || n == "lo" || dockerInterface(n) {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// dockerInterface reports whether name is an interface Docker creates:
// its default bridge, user bridges and the containers' veth ends.
func dockerInterface(name string) bool {
	return name == "docker0" || name == "docker_gwbridge" || strings.HasPrefix(name, "br-") || strings.HasPrefix(name, "veth")
}

type sysctlValue struct {
	name  string
	value int
}

func (v sysctlValue) String() string { return fmt.Sprintf("%s = %d", v.name, v.value) }

// readConf reads key for each of the conf entries.
func (h *hostChecks) readConf(key string, entries []string) ([]sysctlValue, error) {
	var out []sysctlValue
	for _, e := range entries {
		p := confDir + "/" + e + "/" + key
		n, err := h.readInt(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sysctlValue{sysctlName(p), n})
	}
	return out, nil
}

func (h *hostChecks) lbSeverity() diag.Severity {
	if h.o.LoadBalanced {
		return diag.Warning
	}
	return diag.Info
}

// rpFilter is D10: the FAQ requires rp_filter = 0 for default, all and
// the primary interface when a layer-4 load balancer cannot reach the
// host.
func (h *hostChecks) rpFilter(context.Context) ([]diag.Finding, error) {
	ifs, err := h.interfaces()
	if err != nil {
		return nil, err
	}
	vals, err := h.readConf("rp_filter", append([]string{"default", "all"}, ifs...))
	if err != nil {
		return nil, err
	}
	var bad []sysctlValue
	lines := []string{"net.ipv4.conf.default.rp_filter = 0", "net.ipv4.conf.all.rp_filter = 0"}
	for _, v := range vals {
		if v.value != 0 {
			bad = append(bad, v)
			if line := v.name + " = 0"; !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
	}
	if len(bad) == 0 {
		return nil, nil
	}
	f := diag.Finding{
		Code: "D10", Severity: h.lbSeverity(), Subject: h.subject(),
		Title: "Reverse-path filtering is on: a layer-4 load balancer may not reach this host",
		Detail: "With rp_filter on, the kernel drops packets whose source would not be routed back through the interface " +
			"they came in on. When a layer-4 (TCP) load balancer forwards to this host and the two cannot communicate, " +
			"the Container Service FAQ requires rp_filter = 0 for default, all and the host's interface. " +
			"This matters only for hosts behind such a load balancer.",
		Remedy:    "Put these lines in /etc/sysctl.conf and apply them with `sysctl -p`: " + strings.Join(lines, "; "),
		Evidence:  valueStrings(bad),
		Reference: refSLB,
	}
	return []diag.Finding{f}, nil
}

// arpAnnounce is D11: instances of one subnet that cannot reach each
// other need arp_announce = 2 for default and all.
func (h *hostChecks) arpAnnounce(context.Context) ([]diag.Finding, error) {
	vals, err := h.readConf("arp_announce", []string{"default", "all"})
	if err != nil {
		return nil, err
	}
	var bad []sysctlValue
	for _, v := range vals {
		if v.value != 2 {
			bad = append(bad, v)
		}
	}
	if len(bad) == 0 {
		return nil, nil
	}
	f := diag.Finding{
		Code: "D11", Severity: h.lbSeverity(), Subject: h.subject(),
		Title: "arp_announce is not 2: hosts in the same subnet may fail to reach this one",
		Detail: "With arp_announce below 2 the kernel may answer ARP with a source address of another interface, so " +
			"hosts of the same intranet segment can learn a wrong address. When instances of one segment cannot " +
			"communicate, the Container Service FAQ requires arp_announce = 2 for default and all.",
		Remedy:    "Put these lines in /etc/sysctl.conf and apply them with `sysctl -p`: net.ipv4.conf.default.arp_announce = 2; net.ipv4.conf.all.arp_announce = 2",
		Evidence:  valueStrings(bad),
		Reference: refSLB,
	}
	return []diag.Finding{f}, nil
}

func valueStrings(vs []sysctlValue) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// ipForward: without IP forwarding the host does not route container
// traffic out of bridge networks. The engine turns it on when it starts;
// something that sets it back to 0 later (a sysctl file applied by hand,
// a hardening baseline) cuts the containers off.
func (h *hostChecks) ipForward(ctx context.Context) ([]diag.Finding, error) {
	const p = "/proc/sys/net/ipv4/ip_forward"
	n, err := h.readInt(p)
	if err != nil {
		return nil, err
	}
	if n != 0 {
		return nil, nil
	}
	f := diag.Finding{
		Code: CodeIPForward, Subject: h.subject(),
		Title:     "IP forwarding is off: containers on bridge networks have no outside network",
		Remedy:    "Run `sysctl -w net.ipv4.ip_forward=1` and keep it with `net.ipv4.ip_forward = 1` in /etc/sysctl.conf (or a file in /etc/sysctl.d); find what set it to 0 (a sysctl file, a hardening baseline), as restarting the engine only sets it once",
		Evidence:  []string{sysctlName(p) + " = 0"},
		Reference: refForward,
	}
	facts, ferr := h.engine(ctx)
	switch {
	case ferr != nil:
		f.Severity = diag.Warning
		f.Detail = "The host does not forward packets between interfaces, so containers on bridge networks reach neither other hosts nor the Internet. The engine could not be asked which bridge networks it has: " + ferr.Error()
	case h.o.Engine == nil:
		f.Severity = diag.Warning
		f.Detail = "The host does not forward packets between interfaces, so containers on bridge networks (Docker's default) reach neither other hosts nor the Internet."
	case len(facts.BridgeNetworks) > 0:
		f.Severity = diag.Critical
		f.Detail = "The host does not forward packets between interfaces, so the containers on the engine's bridge networks reach neither other hosts nor the Internet, and published ports may not answer from outside."
		f.Evidence = append(f.Evidence, "bridge networks: "+strings.Join(facts.BridgeNetworks, ", "))
	default:
		f.Severity = diag.Info
		f.Detail = "The host does not forward packets between interfaces. The engine has no bridge network now, so no container is affected, but one created on a bridge network would have no outside network."
	}
	return []diag.Finding{f}, nil
}
