package witness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/minato-ops/minato/ha"
)

// Defaults of [PingConfig].
const (
	// DefaultCount is how many echo requests a probe sends at most.
	DefaultCount = 3
	// DefaultInterval is the time between two echo requests of a probe.
	DefaultInterval = time.Second
	// MaxCount bounds PingConfig.Count.
	MaxCount = 100
)

// pingMagic follows the random token in each request's data, so that a
// capture shows whose echo it is.
const pingMagic = "minato-w"

// PingConfig configures a [PingWitness]: CLUSTERPRO's ping network
// partition resolution, ICMP echo requests to a device both nodes can
// reach (a router, a core switch), healthy as soon as one reply comes
// back. It is plain data with json tags; zero fields mean their defaults.
type PingConfig struct {
	// Host is the IPv4 address or host name to ping; a name is resolved
	// at each probe and its first IPv4 address is pinged. Required.
	Host string `json:"host"`
	// Timeout bounds a probe, name resolution included: without a reply
	// by then the witness is unhealthy. Default 5 s ([DefaultTimeout]).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Count is how many echo requests a probe sends at most, Interval
	// apart, stopping at the first reply, as CLUSTERPRO pings a few
	// times before it concludes. Default 3, at most 100.
	Count int `json:"count,omitempty"`
	// Interval is the time between two requests. Default 1 s. Requests
	// that would leave after the timeout are not sent.
	Interval time.Duration `json:"interval,omitempty"`
}

// DefaultPingConfig returns the defaults: up to 3 requests 1 s apart, a
// reply expected within 5 s. Host is empty and must be set.
func DefaultPingConfig() PingConfig {
	return PingConfig{Timeout: DefaultTimeout, Count: DefaultCount, Interval: DefaultInterval}
}

func (c PingConfig) withDefaults() PingConfig {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Count == 0 {
		c.Count = DefaultCount
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	return c
}

// Validate checks the configuration and returns every problem found,
// joined, each naming the field by its json name.
func (c PingConfig) Validate() error {
	var errs []error
	host := strings.TrimSpace(c.Host)
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().Is4() {
			errs = append(errs, fmt.Errorf("host %q: an IPv6 address; want an IPv4 address or a host name", c.Host))
		}
	} else if host == "" {
		errs = append(errs, errors.New(`host: empty; want an IPv4 address or a host name, such as "10.0.0.1"`))
	} else if len(host) > 253 || strings.ContainsAny(host, " :/\\@\x00") {
		errs = append(errs, fmt.Errorf("host %q: neither an IPv4 address nor a host name (no port, no URL)", c.Host))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.Count < 0 || c.Count > MaxCount {
		errs = append(errs, fmt.Errorf("count %d: want 1 to %d requests, or 0 for the default %d", c.Count, MaxCount, DefaultCount))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %s: want a positive duration, or 0 for the default %s", c.Interval, DefaultInterval))
	}
	return errors.Join(errs...)
}

// PingWitness is an [ha.Witness] that sends ICMP echo requests to a host
// and counts any echo reply in time as healthy.
//
// Each probe opens its own ICMP socket: on Linux an unprivileged datagram
// socket (allowed when the process's group is in sysctl
// net.ipv4.ping_group_range, which Docker opens to every group in
// containers, as systemd's defaults do on many distributions), otherwise
// a raw socket, which needs root or CAP_NET_RAW. It is safe for concurrent use: replies are matched
// to their probe by a random token in the request's data.
type PingWitness struct {
	cfg PingConfig
	log *slog.Logger
}

var _ ha.Witness = (*PingWitness)(nil)

// Ping returns the witness cfg describes. It opens no socket and resolves
// no name.
func Ping(cfg PingConfig, opts ...Option) (*PingWitness, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("witness: ping: %w", err)
	}
	cfg = cfg.withDefaults()
	cfg.Host = strings.TrimSpace(cfg.Host)
	return &PingWitness{cfg: cfg, log: buildOptions(opts).log}, nil
}

// String returns "ping " and the host.
func (w *PingWitness) String() string { return "ping " + w.cfg.Host }

// Probe pings the host and returns nil at the first echo reply. It sends
// up to Count requests Interval apart and returns an error wrapping
// [ErrNoReply] and [context.DeadlineExceeded] when no reply came within
// the timeout; ctx's own end returns ctx's error. It fails at once when
// the name does not resolve to an IPv4 address, when no ICMP socket can
// be opened (the error says what would allow one), or when no request
// could be sent at all (a network unreachable from here).
func (w *PingWitness) Probe(ctx context.Context) error {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	ip, err := resolve4(pctx, w.cfg.Host)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("witness: ping %s: %w", w.cfg.Host, ctx.Err())
		}
		return fmt.Errorf("witness: ping %s: %w", w.cfg.Host, err)
	}
	conn, kind, err := listenICMP()
	if err != nil {
		return fmt.Errorf("witness: ping %s: %w", w.cfg.Host, err)
	}

	var token [8]byte
	_, _ = rand.Read(token[:])
	id := binary.BigEndian.Uint16(token[:2]) // the kernel replaces it on a datagram socket
	data := append(token[:], pingMagic...)
	var dst net.Addr = &net.IPAddr{IP: ip.AsSlice()}
	if kind == "datagram" {
		dst = &net.UDPAddr{IP: ip.AsSlice()}
	}

	// The reader stops when the probe's context ends or the socket is
	// closed; the deadline makes a blocked read return.
	stop := context.AfterFunc(pctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	replies := make(chan uint16, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if seq, ok := readReply(conn, kind, ip, id, data, w.cfg.Count); ok {
			replies <- seq
		}
	}()
	defer func() { _ = conn.Close(); <-done }()

	var sendErr error
	sent, delivered := 0, 0
	tick := time.NewTimer(0)
	defer tick.Stop()
	for {
		select {
		case seq := <-replies:
			w.log.Debug("witness: healthy", "target", w.cfg.Host, "address", ip.String(), "socket", kind,
				"sent", sent, "reply_seq", seq, "took", time.Since(start))
			return nil
		case <-pctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("witness: ping %s (%s): %w", w.cfg.Host, ip, ctx.Err())
			}
			err := fmt.Errorf("%w: ping %s (%s): %d requests sent, none answered within %s (%w)",
				ErrNoReply, w.cfg.Host, ip, sent, w.cfg.Timeout, context.DeadlineExceeded)
			if sendErr != nil {
				err = fmt.Errorf("%w; the last send failed: %v", err, sendErr)
			}
			return err
		case <-tick.C:
			seq := uint16(sent + 1)
			msg := echo{Type: icmpEchoRequest, ID: id, Seq: seq, Data: data}.marshal()
			if _, err := conn.WriteTo(msg, dst); err != nil {
				sendErr = err
			} else {
				delivered++
			}
			sent++
			if sent < w.cfg.Count {
				tick.Reset(w.cfg.Interval)
			} else if delivered == 0 {
				// Nothing left this host: no reply can come.
				return fmt.Errorf("%w: ping %s (%s): no request could be sent: %w", ErrNoReply, w.cfg.Host, ip, sendErr)
			}
		}
	}
}

// listenICMP opens an ICMP socket: a datagram one when the system allows
// it, else a raw one. kind is "datagram" or "raw".
func listenICMP() (conn net.PacketConn, kind string, err error) {
	conn, dgErr := listenDatagram()
	if dgErr == nil {
		return conn, "datagram", nil
	}
	conn, rawErr := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if rawErr == nil {
		return conn, "raw", nil
	}
	return nil, "", fmt.Errorf("no ICMP socket: %s (datagram socket: %v; raw socket: %v)", socketHint(), dgErr, rawErr)
}

// readReply reads until an echo reply to this probe arrives, returning
// its sequence number, or until the socket fails (closed, read
// deadline), returning false. A reply is this probe's when it carries
// the probe's data and a sequence number it sent, and, on a raw socket
// (which sees every ICMP message the host receives), comes from ip with
// the probe's identifier.
func readReply(conn net.PacketConn, kind string, ip netip.Addr, id uint16, data []byte, count int) (uint16, bool) {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return 0, false
		}
		e, err := parseEcho(buf[:n])
		if err != nil || e.Type != icmpEchoReply || e.Seq == 0 || int(e.Seq) > count || !bytes.Equal(e.Data, data) {
			continue
		}
		if kind == "raw" {
			if e.ID != id || addrOf(from) != ip {
				continue
			}
		}
		return e.Seq, true
	}
}

// addrOf returns the IPv4 address of a socket address.
func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

// resolve4 returns host as an IPv4 address, resolving a name to its
// first IPv4 address.
func resolve4(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a = a.Unmap(); a.Is4() {
			return a, nil
		}
		return netip.Addr{}, fmt.Errorf("%s is not an IPv4 address", host)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv4 address", host)
}
