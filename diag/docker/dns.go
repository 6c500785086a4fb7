package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
)

const refDNS = "Container Service FAQ §2.13 (DNS options and resolution)"

// cleanupTimeout bounds the removal of the DNS check's network and
// containers, which runs even when the check's context has ended.
const cleanupTimeout = 30 * time.Second

// lookup is one name resolved from inside a probe container.
type lookup struct {
	name     string
	self     bool // the probe container's own name: the embedded DNS
	tool     string
	exit     int
	took     time.Duration
	timedOut bool
	output   string
}

func (l lookup) ok() bool { return !l.timedOut && l.exit == 0 }

func (l lookup) evidence() string {
	what := l.name
	if l.self {
		what += " (the probe container's own name)"
	}
	res := fmt.Sprintf("exit code %d", l.exit)
	if l.timedOut {
		res = "no answer (stopped)"
	}
	s := fmt.Sprintf("%s %s: %s after %s", l.tool, what, res, roundDuration(l.took))
	if out := strings.Join(strings.Fields(l.output), " "); out != "" {
		if len(out) > 200 {
			out = out[:200] + "..."
		}
		s += ": " + out
	}
	return s
}

// errNoTool says the probe image lacks the tool.
var errNoTool = errors.New("executable not in the probe image")

// dns is D20: it resolves names from inside a container on a user-defined
// network, where the engine's embedded DNS server (127.0.0.11) answers
// container names and forwards the rest. The probe container's own name
// tests the embedded server; Options.DNSNames test the forwarding.
func (e *checker) dns(ctx context.Context) ([]diag.Finding, error) {
	if e.o.ProbeImage == "" {
		return []diag.Finding{{
			Code: CodeDNSNotChecked, Severity: diag.Info, Subject: e.engineSubject(),
			Title:     "DNS inside containers not checked: no probe image given",
			Detail:    "The check runs a short-lived container on a temporary network and resolves names in it; minato never pulls images, so it needs one the engine already has, with getent or nslookup.",
			Remedy:    "Give the DNS check an image present on the engine that has getent (glibc images: debian, ubuntu, centos) or nslookup (busybox, alpine)",
			Reference: refDNS,
		}}, nil
	}
	suffix := randomHex(4)
	labels := maps.Clone(e.o.ProbeLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ProbeLabel] = "dns-probe"
	netName := "minato-diag-dns-" + suffix
	if _, err := e.c.CreateNetwork(ctx, container.CreateNetworkOptions{Name: netName, Labels: labels}); err != nil {
		return nil, fmt.Errorf("create the DNS probe network: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = e.c.RemoveNetwork(cctx, netName) // best effort; labelled for a later sweep
	}()
	var results []lookup
	tools := []string{"getent", "nslookup"}
	names := append([]string{""}, e.o.DNSNames...)
	for i, n := range names {
		cname := fmt.Sprintf("minato-diag-dns-%s-%d", suffix, i)
		l := lookup{name: n, self: n == ""}
		if l.self {
			l.name = cname
		}
		var err error
		for j, t := range tools {
			err = e.probe(ctx, cname, netName, t, &l, labels)
			if errors.Is(err, errNoTool) {
				continue
			}
			tools = tools[j : j+1] // keep the tool that worked
			break
		}
		if errors.Is(err, errNoTool) {
			return []diag.Finding{{
				Code: CodeDNSNotChecked, Severity: diag.Info, Subject: e.engineSubject(),
				Title:     fmt.Sprintf("DNS inside containers not checked: image %s has neither getent nor nslookup", e.o.ProbeImage),
				Detail:    "The DNS check resolves names with getent or nslookup inside a container of the probe image.",
				Remedy:    "Give the DNS check an image present on the engine that has getent (glibc images: debian, ubuntu, centos) or nslookup (busybox, alpine)",
				Evidence:  []string{"probe image " + e.o.ProbeImage},
				Reference: refDNS,
			}}, nil
		}
		if err != nil {
			return nil, err
		}
		results = append(results, l)
	}
	return e.judgeDNS(results), nil
}

func (e *checker) judgeDNS(results []lookup) []diag.Finding {
	var out []diag.Finding
	const nscd = "in images that resolve often, install nscd and start it before the main process, and set dns_options such as use-vc in the run or template"
	for _, l := range results {
		f := diag.Finding{Code: "D20", Subject: e.engineSubject(), Evidence: []string{l.evidence()}, Reference: refDNS}
		switch {
		case l.self && !l.ok():
			f.Severity = diag.Critical
			f.Title = "The engine's embedded DNS does not answer container names"
			f.Detail = "Containers on user-defined networks resolve through the engine's DNS server at 127.0.0.11, which knows the containers by name; it did not resolve the probe container's own name, so containers cannot find each other by name."
			f.Remedy = "Look for resolver errors in the daemon log (`journalctl -u docker`); check that no firewall rule drops DNS to 127.0.0.11 inside containers (restarting the daemon restores its own nat rules); then run this check again"
		case !l.ok():
			f.Severity = diag.Critical
			f.Title = fmt.Sprintf("Containers cannot resolve %s", l.name)
			f.Detail = "The embedded DNS server (127.0.0.11) forwards names it does not know to the host's resolvers, or to the daemon's \"dns\" servers; the lookup from a container failed or timed out, so the service behind that name is unreachable from containers."
			f.Remedy = fmt.Sprintf("Resolve %s on the host (`getent hosts %s`): if it fails there, fix the host's resolvers; if not, give the engine working servers (\"dns\" in /etc/docker/daemon.json or --dns); %s", l.name, l.name, nscd)
		case l.took > e.o.DNSSlow:
			f.Severity = diag.Warning
			f.Title = fmt.Sprintf("DNS lookups from containers are slow: %s took %s", l.name, roundDuration(l.took))
			f.Detail = "A lookup that takes seconds is one that timed out and was retried: requests from containers stall or fail intermittently (the time includes starting the probe container)."
			f.Remedy = "Check the resolvers the engine forwards to (the host's /etc/resolv.conf or daemon.json \"dns\") for one that does not answer; " + nscd
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// probe runs tool for l.name in a new container cname on the network and
// fills l. errNoTool means the image lacks the tool.
func (e *checker) probe(ctx context.Context, cname, network, tool string, l *lookup, labels map[string]string) error {
	args := []string{l.name}
	if tool == "getent" {
		args = []string{"hosts", l.name}
	}
	cr, err := e.c.Create(ctx, container.CreateOptions{
		Name: cname, Image: e.o.ProbeImage, Entrypoint: []string{tool}, Cmd: args, Network: network, Labels: labels,
	})
	if err != nil {
		return fmt.Errorf("create the DNS probe container: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, _ = e.c.Remove(cctx, cr.ID, container.RemoveOptions{Force: true, Volumes: true})
	}()
	t0 := time.Now()
	if _, err := e.c.Start(ctx, cr.ID, container.StartOptions{}); err != nil {
		low := strings.ToLower(err.Error())
		if strings.Contains(low, "executable file not found") || strings.Contains(low, "no such file or directory") {
			return errNoTool
		}
		return fmt.Errorf("start the DNS probe container: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, e.o.DNSTimeout)
	defer cancel()
	w, err := e.c.Wait(wctx, cr.ID, container.WaitOptions{})
	l.tool, l.took = tool, time.Since(t0)
	switch {
	case err != nil && ctx.Err() == nil && wctx.Err() != nil:
		l.timedOut = true
	case err != nil:
		return fmt.Errorf("wait for the DNS probe container: %w", err)
	default:
		l.exit = w.ExitCode
	}
	var buf bytes.Buffer
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer lcancel()
	_ = e.c.Logs(lctx, cr.ID, container.LogsOptions{Stdout: &buf, Stderr: &buf, Tail: "20"}) // evidence only
	l.output = buf.String()
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
