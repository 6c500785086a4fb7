package aws

import (
	"context"
	"net"
	"net/netip"
)

// dnsLookuper resolves a name to addresses; *net.Resolver is one.
type dnsLookuper interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// dnsNewResolver returns the resolver the DNS monitor resolves its name
// through. With addr ("host:port") it is Go's own resolver sending every
// query to that server (UDP, and TCP when an answer is truncated), so
// the answer is the one that server gives; as with any resolver on the
// node, the hosts file is read first (nsswitch.conf's order), which is why
// CLUSTERPRO's guide tells to keep the name out of it (code 10). Without
// addr it is the node's own resolver (net.DefaultResolver): what clients
// on the node see. Each lookup is bounded by the context the caller gives
// (the per-call timeout).
func dnsNewResolver(addr string) dnsLookuper {
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}
