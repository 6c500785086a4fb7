package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Transport carries heartbeat datagrams over one or more networks (the
// index of a network is the index of an address in [NodeConfig].Addresses).
// [ListenUDP] is the real one; [MemNetwork] gives in-memory ones for
// tests. A [Cluster] uses a Transport it is given but never closes it.
//
// Send sends b as one datagram to addr over network. Delivery is best
// effort, as with UDP: a datagram may be lost, delayed or reordered, and
// nil only means it was handed to the network. An error means it could
// not be (the transport is closed, addr cannot be resolved, no such
// network). Send must not keep b after it returns, and may be called from
// several goroutines at once, also while Receive is blocked.
//
// Receive blocks until a datagram arrives on any network and returns it
// (its Data is the caller's), or returns ctx's error when ctx ends, or an
// error wrapping [net.ErrClosed] once the transport is closed. One
// goroutine calls Receive at a time.
type Transport interface {
	Send(ctx context.Context, network int, addr string, b []byte) error
	Receive(ctx context.Context) (Datagram, error)
}

// Datagram is one datagram a [Transport] received.
type Datagram struct {
	// Network is the index of the network it arrived on.
	Network int
	// From is the sender's address, for logs; a heartbeat is
	// authenticated by its MAC, never by its source address.
	From string
	// Data is the payload.
	Data []byte
}

// UDPTransport is the UDP [Transport]: one socket per network. Create it
// with [ListenUDP]; it is safe for concurrent use.
type UDPTransport struct {
	conns []*net.UDPConn
	ch    chan Datagram
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	mu       sync.Mutex
	resolved map[string]resolved
}

type resolved struct {
	ap  netip.AddrPort
	at  time.Time
	err error
}

// resolveTTL is how long a resolved host name is reused.
const resolveTTL = 30 * time.Second

// ListenUDP opens one UDP socket per address (network i listens on
// addrs[i], a host:port; port 0 picks a free port, see
// [UDPTransport.Addrs]) and starts reading them. Close releases them.
func ListenUDP(addrs []string) (*UDPTransport, error) {
	if len(addrs) == 0 || len(addrs) > MaxNetworks {
		return nil, fmt.Errorf("cluster: listen: %d addresses, want 1 to %d", len(addrs), MaxNetworks)
	}
	t := &UDPTransport{ch: make(chan Datagram, 64), done: make(chan struct{}), resolved: map[string]resolved{}}
	for _, a := range addrs {
		pc, err := net.ListenPacket("udp", a)
		if err != nil {
			for _, c := range t.conns {
				c.Close()
			}
			return nil, fmt.Errorf("cluster: listen: %w", err)
		}
		t.conns = append(t.conns, pc.(*net.UDPConn))
	}
	for i, c := range t.conns {
		t.wg.Go(func() { t.read(i, c) })
	}
	return t, nil
}

func (t *UDPTransport) read(network int, c *net.UDPConn) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-t.done:
				return
			case <-time.After(10 * time.Millisecond): // a transient error (ICMP unreachable): go on
			}
			continue
		}
		d := Datagram{Network: network, From: from.String(), Data: append([]byte(nil), buf[:n]...)}
		select {
		case t.ch <- d:
		case <-t.done:
			return
		}
	}
}

// Addrs returns the addresses the sockets are bound to, by network.
func (t *UDPTransport) Addrs() []string {
	out := make([]string, len(t.conns))
	for i, c := range t.conns {
		out[i] = c.LocalAddr().String()
	}
	return out
}

// Send implements [Transport]. A host name in addr is resolved (with ctx)
// and reused for 30 s.
func (t *UDPTransport) Send(ctx context.Context, network int, addr string, b []byte) error {
	if network < 0 || network >= len(t.conns) {
		return fmt.Errorf("cluster: send: no network %d", network)
	}
	select {
	case <-t.done:
		return fmt.Errorf("cluster: send: %w", net.ErrClosed)
	default:
	}
	c := t.conns[network]
	ap, err := t.resolve(ctx, c, addr)
	if err != nil {
		return err
	}
	if _, err := c.WriteToUDPAddrPort(b, ap); err != nil {
		return fmt.Errorf("cluster: send to %s: %w", addr, err)
	}
	return nil
}

func (t *UDPTransport) resolve(ctx context.Context, c *net.UDPConn, addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap, nil
	}
	t.mu.Lock()
	r, ok := t.resolved[addr]
	t.mu.Unlock()
	if ok && time.Since(r.at) < resolveTTL {
		return r.ap, r.err
	}
	r = resolved{at: time.Now()}
	host, portStr, err := net.SplitHostPort(addr)
	port, perr := strconv.ParseUint(portStr, 10, 16)
	switch {
	case err != nil || perr != nil:
		r.err = fmt.Errorf("cluster: send: %q: want host:port", addr)
	default:
		family := "ip"
		if la, ok := c.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() != nil {
			family = "ip4"
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, family, host)
		switch {
		case err != nil:
			r.err = fmt.Errorf("cluster: send: resolve %s: %w", host, err)
		case len(ips) == 0:
			r.err = fmt.Errorf("cluster: send: resolve %s: no address", host)
		default:
			r.ap = netip.AddrPortFrom(ips[0].Unmap(), uint16(port))
		}
	}
	if ctx.Err() == nil { // do not remember a lookup the caller cut short
		t.mu.Lock()
		t.resolved[addr] = r
		t.mu.Unlock()
	}
	return r.ap, r.err
}

// Receive implements [Transport].
func (t *UDPTransport) Receive(ctx context.Context) (Datagram, error) {
	select {
	case d := <-t.ch:
		return d, nil
	case <-t.done:
		return Datagram{}, fmt.Errorf("cluster: receive: %w", net.ErrClosed)
	case <-ctx.Done():
		return Datagram{}, ctx.Err()
	}
}

// Close closes the sockets and waits for their readers to stop. It is
// idempotent.
func (t *UDPTransport) Close() error {
	var errs []error
	t.once.Do(func() {
		close(t.done)
		for _, c := range t.conns {
			errs = append(errs, c.Close())
		}
		t.wg.Wait()
	})
	return errors.Join(errs...)
}
