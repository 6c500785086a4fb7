package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/minato-ops/minato/container"
)

// Defaults of [GateOptions].
const (
	DefaultGateTimeout   = 60 * time.Second
	DefaultGateStableFor = 5 * time.Second
)

// GateOptions is the health gate a recreated container must pass before
// [Client.Update] keeps it. The gate is, in this order of precedence: the
// Probe when set; else the container's healthcheck (from its image or its
// config), which must report "healthy"; else the container must keep
// running for StableFor without exiting or restarting. A container that
// exits, restarts or turns unhealthy fails at once; one that has not
// passed after Timeout fails with "timeout after …".
type GateOptions struct {
	// Timeout bounds the whole gate of one container (of one batch, as
	// they are gated together). 0 means DefaultGateTimeout (60 s).
	Timeout time.Duration `json:"timeout,omitempty"`
	// StableFor is how long a container without healthcheck or probe
	// must run without restart or exit to pass. 0 means
	// DefaultGateStableFor (5 s). It must be shorter than Timeout.
	StableFor time.Duration `json:"stable_for,omitempty"`
	// Probe, when set, replaces the healthcheck as the gate.
	Probe *Probe `json:"probe,omitempty"`
}

// Probe is a check minato makes itself, repeated (every half second) until
// it passes once, the container stops running or the gate times out.
// Exactly one of Exec, TCP and HTTP is set, except that HTTP may be a bare
// path on the port TCP gives.
type Probe struct {
	// Exec is a command run in the container (argv, not a shell line; use
	// []string{"sh", "-c", "…"} for one); exit code 0 passes. Each attempt
	// may take up to 10 s.
	Exec []string `json:"exec,omitempty"`
	// TCP is a container port: the probe passes when a TCP connection to
	// the container's IP address on its network, at this port, is
	// accepted. The container's address must be reachable from where
	// minato runs (true for a local engine's bridge networks).
	TCP int `json:"tcp,omitempty"`
	// HTTP is a GET to the container's IP address: "PORT/PATH" (as
	// "8080/healthz", or ":8080/healthz"; the path defaults to "/"), or
	// "/PATH" on the port given by TCP. Status 200-399 passes.
	HTTP string `json:"http,omitempty"`
}

// validate checks p's shape; the error names the bad field.
func (p *Probe) validate() error {
	if p == nil {
		return nil
	}
	n := 0
	if len(p.Exec) > 0 {
		n++
	}
	if p.TCP != 0 && !(p.HTTP != "" && strings.HasPrefix(p.HTTP, "/")) {
		n++
	}
	if p.HTTP != "" {
		n++
	}
	switch {
	case n == 0:
		return errors.New("gate probe: set one of exec, tcp or http")
	case n > 1:
		return errors.New("gate probe: set only one of exec, tcp and http (http may be a /path on the tcp port)")
	case p.TCP < 0 || p.TCP > 65535:
		return fmt.Errorf("gate probe tcp %d: want a container port 1-65535", p.TCP)
	}
	if p.HTTP != "" {
		if _, _, err := parseHTTPProbe(p.HTTP, p.TCP); err != nil {
			return err
		}
	}
	return nil
}

// parseHTTPProbe reads Probe.HTTP: "PORT[/PATH]", ":PORT[/PATH]", or
// "/PATH" when tcpPort is set. It returns the port and the path (starting
// with "/").
func parseHTTPProbe(s string, tcpPort int) (int, string, error) {
	if strings.HasPrefix(s, "/") {
		if tcpPort <= 0 || tcpPort > 65535 {
			return 0, "", fmt.Errorf("gate probe http %q: a bare path needs the port in tcp (1-65535); or write PORT/PATH, such as 8080/healthz", updTruncate(s, 60))
		}
		return tcpPort, s, nil
	}
	rest := strings.TrimPrefix(s, ":")
	portText, path, hasPath := strings.Cut(rest, "/")
	path = "/" + path
	if !hasPath {
		path = "/"
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 || portText != strconv.Itoa(port) {
		return 0, "", fmt.Errorf("gate probe http %q: want PORT/PATH with a port 1-65535, such as 8080/healthz", updTruncate(s, 60))
	}
	if strings.ContainsAny(path, " \t\r\n#") {
		return 0, "", fmt.Errorf("gate probe http %q: the path may not hold spaces, control characters or a fragment", updTruncate(s, 60))
	}
	return port, path, nil
}

// gateVerdict is the outcome of a gate.
type gateVerdict struct {
	passed bool
	// text is what ContainerUpdate.Gate shows.
	text string
}

// gatePoll is how often the gate looks at the container.
const gatePoll = 250 * time.Millisecond

// probeExecTimeout bounds one exec probe attempt.
const probeExecTimeout = 10 * time.Second

// gate waits until the container id passes the gate g or fails it. Its
// verdict is data; the error is for failures to look at the container at
// all (after which the caller rolls back too). A cancelled ctx fails the
// gate with "cancelled".
func (c *Client) gate(ctx context.Context, id string, g GateOptions) (gateVerdict, error) {
	start := time.Now()
	deadline := time.NewTimer(g.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(gatePoll)
	defer tick.Stop()
	// The engine's events for the container (health_status, die, restart)
	// wake the gate at once; the ticker remains for probes, for the
	// stable-run clock and in case the event stream fails.
	ectx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	evs, evErrs := c.api.Events(ectx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)), filters.Arg("container", id))})

	var (
		first     *dcontainer.InspectResponse
		stableAt  time.Time
		lastProbe string
		nextProbe time.Time
	)
	timeoutText := func() string {
		t := fmt.Sprintf("timeout after %s", updRound(g.Timeout))
		if lastProbe != "" {
			t += ": " + lastProbe
		}
		return t
	}
	for {
		ins, err := c.api.ContainerInspect(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return gateVerdict{text: "cancelled: " + ctx.Err().Error()}, nil
			}
			return gateVerdict{text: "could not inspect the new container: " + err.Error()}, fmt.Errorf("gate: inspect %s: %w", updShortID(id), err)
		}
		if ins.ContainerJSONBase == nil || ins.State == nil {
			return gateVerdict{text: "the engine reported no state"}, fmt.Errorf("gate: inspect %s: no state in the answer", updShortID(id))
		}
		if first == nil {
			first = &ins
		}
		st := ins.State
		elapsed := updRound(time.Since(start))
		switch {
		case st.Restarting || ins.RestartCount > first.RestartCount || (st.StartedAt != first.State.StartedAt && first.State.StartedAt != ""):
			return gateVerdict{text: fmt.Sprintf("restarted after exiting with code %d (restart count %d)", st.ExitCode, ins.RestartCount)}, nil
		case !st.Running:
			t := fmt.Sprintf("exited with code %d", st.ExitCode)
			if st.OOMKilled {
				t += " (OOM-killed)"
			}
			if st.Error != "" {
				t += ": " + st.Error
			}
			return gateVerdict{text: t}, nil
		}
		switch {
		case g.Probe != nil:
			if now := time.Now(); !now.Before(nextProbe) {
				ok, msg := c.probe(ctx, ins, *g.Probe)
				nextProbe = time.Now().Add(500 * time.Millisecond)
				if ok {
					return gateVerdict{passed: true, text: fmt.Sprintf("probe passed after %s", updRound(time.Since(start)))}, nil
				}
				lastProbe = "last probe: " + msg
			}
		case st.Health != nil && st.Health.Status != "" && st.Health.Status != dcontainer.NoHealthcheck:
			switch st.Health.Status {
			case dcontainer.Healthy:
				return gateVerdict{passed: true, text: fmt.Sprintf("healthy after %s", elapsed)}, nil
			case dcontainer.Unhealthy:
				return gateVerdict{text: "unhealthy: " + lastHealthOutput(st.Health)}, nil
			default:
				if out := lastHealthOutput(st.Health); out != "" {
					lastProbe = "still " + string(st.Health.Status) + ", last check: " + out
				} else {
					lastProbe = "still " + string(st.Health.Status)
				}
			}
		default:
			if stableAt.IsZero() {
				stableAt = time.Now()
			}
			if time.Since(stableAt) >= g.StableFor {
				return gateVerdict{passed: true, text: fmt.Sprintf("running for %s without restart", updRound(time.Since(stableAt)))}, nil
			}
		}
		select {
		case <-ctx.Done():
			return gateVerdict{text: "cancelled: " + ctx.Err().Error()}, nil
		case <-deadline.C:
			return gateVerdict{text: timeoutText()}, nil
		case <-tick.C:
		case <-evs:
		case <-evErrs:
			evs, evErrs = nil, nil // polling only from now on
		}
	}
}

// lastHealthOutput returns the output of the latest health check, trimmed
// to one readable line of at most 200 bytes.
func lastHealthOutput(h *dcontainer.Health) string {
	if h == nil || len(h.Log) == 0 {
		return ""
	}
	l := h.Log[len(h.Log)-1]
	out := strings.Join(strings.Fields(l.Output), " ")
	if out == "" {
		out = fmt.Sprintf("(no output, exit code %d)", l.ExitCode)
	}
	return updTruncate(out, 200)
}

// probe runs one attempt of p against the running container ins.
func (c *Client) probe(ctx context.Context, ins dcontainer.InspectResponse, p Probe) (bool, string) {
	if len(p.Exec) > 0 {
		var out bytes.Buffer
		w := &updLimitedWriter{w: &out, n: 512}
		res, err := c.cc.Exec(ctx, ins.ID, container.ExecOptions{Cmd: p.Exec, Stdout: w, Stderr: w, Timeout: probeExecTimeout})
		if err != nil {
			return false, "exec: " + err.Error()
		}
		if res.TimedOut {
			return false, fmt.Sprintf("exec %s: no answer within %s", p.Exec[0], probeExecTimeout)
		}
		if res.ExitCode != 0 {
			msg := fmt.Sprintf("exec %s: exit code %d", p.Exec[0], res.ExitCode)
			if s := strings.Join(strings.Fields(out.String()), " "); s != "" {
				msg += ": " + updTruncate(s, 200)
			}
			return false, msg
		}
		return true, ""
	}
	ip := gateContainerIP(ins)
	if ip == "" {
		return false, "the container has no IP address to probe (network mode " + string(ins.HostConfig.NetworkMode) + ")"
	}
	port, path := p.TCP, ""
	if p.HTTP != "" {
		var err error
		if port, path, err = parseHTTPProbe(p.HTTP, p.TCP); err != nil {
			return false, err.Error()
		}
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if path == "" {
		var d net.Dialer
		conn, err := d.DialContext(actx, "tcp", addr)
		if err != nil {
			return false, "tcp " + addr + ": " + err.Error()
		}
		_ = conn.Close()
		return true, ""
	}
	url := "http://" + addr + path
	req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
	if err != nil {
		return false, "http " + url + ": " + err.Error()
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return false, "http " + url + ": " + err.Error()
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return false, fmt.Sprintf("http %s: status %s", url, resp.Status)
	}
	return true, ""
}

// gateContainerIP returns the container's IP address on its primary network
// (the one of its network mode), else on any network; 127.0.0.1 for host
// networking; "" when it has none.
func gateContainerIP(ins dcontainer.InspectResponse) string {
	if ins.HostConfig != nil && ins.HostConfig.NetworkMode.IsHost() {
		return "127.0.0.1"
	}
	if ins.NetworkSettings == nil {
		return ""
	}
	if ins.HostConfig != nil {
		if ep := ins.NetworkSettings.Networks[string(ins.HostConfig.NetworkMode)]; ep != nil && ep.IPAddress != "" {
			return ep.IPAddress
		}
	}
	for _, name := range updSortedKeys(ins.NetworkSettings.Networks) {
		if ep := ins.NetworkSettings.Networks[name]; ep != nil && ep.IPAddress != "" {
			return ep.IPAddress
		}
	}
	return ""
}

// updLimitedWriter keeps the first n bytes written to it and drops the rest.
type updLimitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *updLimitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		if len(p) > room {
			l.w.Write(p[:room])
		} else {
			l.w.Write(p)
		}
	}
	return len(p), nil
}

// updRound rounds d for messages: tenths of a second under a minute,
// whole seconds above.
func updRound(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
