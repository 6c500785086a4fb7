package cluster

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// MemNetwork is an in-memory datagram network for tests, of this package
// and of others: each [MemNetwork.Listen] gives a [Transport] reachable at
// the addresses it was given, and Partition, Heal and Delay change what
// gets through. It works inside a testing/synctest bubble (create it and
// its transports inside the bubble): delays run on the bubble's clock and
// a blocked Receive is durably blocked. Like UDP it drops a datagram for
// an unknown address, a cut link or a full receiver (256 datagrams
// waiting). It is not for production use. Its methods are safe for
// concurrent use.
type MemNetwork struct {
	mu    sync.Mutex
	eps   map[string]*MemTransport
	cut   map[link]bool
	delay map[link]time.Duration
}

type link struct{ from, to string }

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{eps: map[string]*MemTransport{}, cut: map[link]bool{}, delay: map[link]time.Duration{}}
}

// Listen returns a Transport reachable at addrs, addrs[i] on network i.
// Its datagrams arrive From the sender's address on the same network. An
// address already in use is an error.
func (n *MemNetwork) Listen(addrs ...string) (*MemTransport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(addrs) == 0 {
		return nil, fmt.Errorf("cluster: mem listen: no address")
	}
	for i, a := range addrs {
		if _, used := n.eps[a]; used || slices.Contains(addrs[:i], a) {
			return nil, fmt.Errorf("cluster: mem listen: %s: address in use", a)
		}
	}
	t := &MemTransport{n: n, addrs: slices.Clone(addrs), ch: make(chan Datagram, 256), done: make(chan struct{})}
	for _, a := range addrs {
		n.eps[a] = t
	}
	return t, nil
}

// Partition cuts every link between an address in a and one in b, both
// ways, until [MemNetwork.Heal].
func (n *MemNetwork) Partition(a, b []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			n.cut[link{x, y}] = true
			n.cut[link{y, x}] = true
		}
	}
}

// Heal restores every link Partition cut.
func (n *MemNetwork) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

// Delay makes every datagram between an address in a and one in b (both
// ways) arrive d later; 0 removes the delay.
func (n *MemNetwork) Delay(a, b []string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			for _, l := range []link{{x, y}, {y, x}} {
				if d > 0 {
					n.delay[l] = d
				} else {
					delete(n.delay, l)
				}
			}
		}
	}
}

// MemTransport is one endpoint of a [MemNetwork].
type MemTransport struct {
	n     *MemNetwork
	addrs []string
	ch    chan Datagram
	done  chan struct{}
	once  sync.Once
}

// Addrs returns the endpoint's addresses, by network.
func (t *MemTransport) Addrs() []string { return slices.Clone(t.addrs) }

// Send implements [Transport].
func (t *MemTransport) Send(ctx context.Context, network int, addr string, b []byte) error {
	if network < 0 || network >= len(t.addrs) {
		return fmt.Errorf("cluster: mem send: no network %d", network)
	}
	select {
	case <-t.done:
		return fmt.Errorf("cluster: mem send: %w", net.ErrClosed)
	default:
	}
	from := t.addrs[network]
	n := t.n
	n.mu.Lock()
	to, ok := n.eps[addr]
	cut := n.cut[link{from, addr}]
	d := n.delay[link{from, addr}]
	n.mu.Unlock()
	if !ok || cut {
		return nil
	}
	dg := Datagram{Network: slices.Index(to.addrs, addr), From: from, Data: slices.Clone(b)}
	if d > 0 {
		time.AfterFunc(d, func() { to.deliver(dg) })
		return nil
	}
	to.deliver(dg)
	return nil
}

func (t *MemTransport) deliver(d Datagram) {
	select {
	case <-t.done:
	case t.ch <- d:
	default: // full: dropped, as UDP would
	}
}

// Receive implements [Transport].
func (t *MemTransport) Receive(ctx context.Context) (Datagram, error) {
	select {
	case d := <-t.ch:
		return d, nil
	case <-t.done:
		return Datagram{}, fmt.Errorf("cluster: mem receive: %w", net.ErrClosed)
	case <-ctx.Done():
		return Datagram{}, ctx.Err()
	}
}

// Close detaches the endpoint from the network and frees its addresses;
// it is idempotent.
func (t *MemTransport) Close() error {
	t.once.Do(func() {
		t.n.mu.Lock()
		for _, a := range t.addrs {
			if t.n.eps[a] == t {
				delete(t.n.eps, a)
			}
		}
		t.n.mu.Unlock()
		close(t.done)
	})
	return nil
}
