package metering

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/minato-ops/minato/container"
)

// The container labels Discover reads. The application reconciler sets
// them on the replicas of an application whose metering is enabled.
const (
	// LabelApp names the application a container is a replica of.
	LabelApp = "minato.app"
	// LabelPort is the container port of the metrics endpoint (1-65535);
	// a container without it is not metered.
	LabelPort = "minato.metering.port"
	// LabelPath is the endpoint's path (default /metrics).
	LabelPath = "minato.metering.path"
	// LabelScheme is http (the default) or https.
	LabelScheme = "minato.metering.scheme"
	// LabelInterval, when set, is the application's own scrape interval
	// (a Go duration of at least 1s).
	LabelInterval = "minato.metering.interval"
)

// DefaultPath is the metrics path when LabelPath is absent.
const DefaultPath = "/metrics"

// Lister lists containers: *container.Client.
type Lister interface {
	List(ctx context.Context, o container.ListOptions) (container.ListResult, error)
}

// DiscoverOptions says how Discover addresses the containers it finds.
type DiscoverOptions struct {
	// Published scrapes through the host port the metering port is
	// published on (docker run -p), for a scraper that cannot reach the
	// containers' networks (an agent in a container on another network,
	// or on another host); by default the container's IP address is used
	// (its first network's, in name order), which a scraper on the
	// engine's host, or on the same network, reaches.
	Published bool
	// HostAddress is the host used with Published when the port is
	// published on all addresses (0.0.0.0 or ::); default 127.0.0.1.
	HostAddress string
	// Engine, when set, is appended to every container name as
	// "<name>@<engine>", so that replicas on several engines differ.
	Engine string
	// Labels keep only containers that also carry these labels (an
	// empty value: the label is present).
	Labels map[string]string
}

// Discover returns a target for every running container on l labelled
// LabelApp and LabelPort, sorted by application and container. A container
// whose labels are invalid, or that cannot be addressed (no IP address,
// or, with Published, the port not published), is left out and reported
// in the joined error, which names it and the label; the others are
// returned. A failing list call returns its error, wrapped.
func Discover(ctx context.Context, l Lister, o DiscoverOptions) ([]Target, error) {
	sel := map[string]string{LabelApp: "", LabelPort: ""}
	for k, v := range o.Labels {
		sel[k] = v
	}
	res, err := l.List(ctx, container.ListOptions{Labels: sel, States: []container.State{container.Running}})
	if err != nil {
		return nil, fmt.Errorf("metering: discovering containers: %w", err)
	}
	var (
		out  []Target
		errs []error
	)
	for _, c := range res.Containers {
		t, err := targetOf(c, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("metering: container %s (app %q): %w", c.Name, c.Labels[LabelApp], err))
			continue
		}
		out = append(out, t)
	}
	sortTargets(out)
	return out, errors.Join(errs...)
}

// targetOf builds the target of one container from its labels.
func targetOf(c container.Summary, o DiscoverOptions) (Target, error) {
	lb := c.Labels
	t := Target{App: lb[LabelApp], Container: c.Name}
	if o.Engine != "" {
		t.Container += "@" + o.Engine
	}
	var errs []error
	if t.App == "" {
		errs = append(errs, fmt.Errorf("label %s: empty: want the application's name", LabelApp))
	}
	port, err := strconv.Atoi(lb[LabelPort])
	if err != nil || port < 1 || port > 65535 {
		errs = append(errs, fmt.Errorf("label %s=%q: want a port number from 1 to 65535", LabelPort, lb[LabelPort]))
	}
	scheme := lb[LabelScheme]
	switch scheme {
	case "":
		scheme = "http"
	case "http", "https":
	default:
		errs = append(errs, fmt.Errorf("label %s=%q: want http or https", LabelScheme, scheme))
	}
	path := lb[LabelPath]
	if path == "" {
		path = DefaultPath
	}
	if u, err := url.Parse(path); err != nil || path[0] != '/' || u.Host != "" {
		errs = append(errs, fmt.Errorf("label %s=%q: want an absolute path such as /metrics", LabelPath, path))
	}
	if v, ok := lb[LabelInterval]; ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < MinInterval {
			errs = append(errs, fmt.Errorf("label %s=%q: want a duration of at least %s, such as 30s", LabelInterval, v, MinInterval))
		}
		t.Interval = d
	}
	if len(errs) > 0 {
		return Target{}, errors.Join(errs...)
	}
	hostport, err := address(c, uint16(port), o)
	if err != nil {
		return Target{}, err
	}
	t.URL = scheme + "://" + hostport + path
	return t, nil
}

// address is the host:port the container's metering port is reached on:
// its IP address, or with Published the port published on the host.
func address(c container.Summary, port uint16, o DiscoverOptions) (string, error) {
	if !o.Published {
		if c.IPAddress == "" {
			return "", errors.New("no IP address (network none?): publish the metering port and discover with published ports")
		}
		return net.JoinHostPort(c.IPAddress, strconv.Itoa(int(port))), nil
	}
	for _, p := range c.Ports {
		if p.PrivatePort != port || p.PublicPort == 0 || (p.Type != "" && p.Type != "tcp") {
			continue
		}
		host := p.IP
		if a, err := netip.ParseAddr(host); err != nil || a.IsUnspecified() {
			host = o.HostAddress
			if host == "" {
				host = "127.0.0.1"
			}
		}
		return net.JoinHostPort(host, strconv.Itoa(int(p.PublicPort))), nil
	}
	return "", fmt.Errorf("metering port %d/tcp is not published on the host (discovering with published ports)", port)
}

// sortTargets sorts by application and container.
func sortTargets(ts []Target) {
	slices.SortFunc(ts, func(a, b Target) int { return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Container, b.Container)) })
}
