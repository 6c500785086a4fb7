package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
)

// healthcheckTimeout bounds the whole healthcheck request.
const healthcheckTimeout = 2 * time.Second

// runHealthcheck is "minato healthcheck": the container image's
// HEALTHCHECK. It GETs the agent's /healthz on MINATO_LISTEN (an
// unspecified host, 0.0.0.0 or ::, is asked on loopback) and exits 0 when
// it answers 200, 1 otherwise, printing the answer's first line.
func runHealthcheck(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato healthcheck", "minato healthcheck [--url URL]",
		"Ask a running agent whether it is healthy: GET /healthz on the address of\n"+
			"MINATO_LISTEN (default "+agent.DefaultListen+"), over https when\n"+
			"MINATO_TLS_CERT_FILE is set (the certificate is not verified: the agent is\n"+
			"asked on loopback, and /healthz holds no secret). Exit 0 when it answers\n"+
			"200, 1 otherwise, within 2 s. It is the HEALTHCHECK of minato's container\n"+
			"image (docs/container.md).")
	var target string
	fs.StringVar(&target, "url", "", "the `URL` to GET instead (such as http://127.0.0.1:9464/healthz)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato healthcheck takes no arguments, got %q", pos[0]))
	}
	if target == "" {
		if target, err = healthzURL(env.Getenv); err != nil {
			return report(env, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return report(env, usagef("--url %q: %v", target, err))
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true} //nolint:gosec // loopback, no secret
	resp, err := (&http.Client{Transport: tr, Timeout: healthcheckTimeout}).Do(req)
	if err != nil {
		fmt.Fprintf(env.Stderr, "minato: healthcheck: %s: %v\n", target, err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.Stderr, "minato: healthcheck: %s: %s: %s\n", target, resp.Status, line)
		return 1
	}
	fmt.Fprintln(env.Stdout, line)
	return 0
}

// healthzURL is /healthz on MINATO_LISTEN, asked on loopback when the
// agent listens on every address.
func healthzURL(getenv func(string) string) (string, error) {
	listen := cmp.Or(getenv(agent.EnvListen), agent.DefaultListen)
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("%s=%q: want HOST:PORT such as 0.0.0.0:9464", agent.EnvListen, listen)
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && a.Is6() && !a.Is4In6() {
			host = "::1"
		}
	}
	scheme := "http"
	if getenv(agent.EnvTLSCert) != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz", nil
}
