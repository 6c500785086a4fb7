package sockproxy

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Proxy forwards the TCP connections made to a loopback address to a unix
// socket. It is safe for concurrent use.
type Proxy struct {
	target string
	addr   string

	mu       sync.Mutex
	ln       net.Listener // nil while refusing or closed
	conns    map[*pair]struct{}
	closed   bool
	accepted int
	wg       sync.WaitGroup
}

// pair is one proxied connection: the client's side and the socket's.
type pair struct {
	down *net.TCPConn
	up   net.Conn
	once sync.Once
}

// close ends both sides; with abort the client gets a RST instead of a
// FIN.
func (c *pair) close(abort bool) {
	c.once.Do(func() {
		if abort {
			_ = c.down.SetLinger(0)
		}
		_ = c.down.Close()
		_ = c.up.Close()
	})
}

// New listens on 127.0.0.1 (a free port) and forwards each connection to
// the unix socket at path. The socket is dialled once per accepted
// connection; when that fails the connection is closed at once.
func New(path string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: path, addr: ln.Addr().String(), conns: map[*pair]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the listening address, "127.0.0.1:PORT"; it stays the same
// across Refuse and Accept.
func (p *Proxy) Addr() string { return p.addr }

// Host is Addr in DOCKER_HOST form: "tcp://127.0.0.1:PORT".
func (p *Proxy) Host() string { return "tcp://" + p.addr }

// Accepted is the number of connections accepted so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Open is the number of connections being forwarded now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Cut closes every current connection, both sides, the client's with a
// FIN (it reads EOF), and returns how many there were. New connections
// are still accepted (unless Refuse was called).
func (p *Proxy) Cut() int { return p.cut(false) }

// Reset is Cut with a RST toward the client (it reads "connection reset
// by peer").
func (p *Proxy) Reset() int { return p.cut(true) }

func (p *Proxy) cut(abort bool) int {
	p.mu.Lock()
	cs := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.close(abort)
	}
	return len(cs)
}

// Refuse closes the listener: new connections are refused
// (ECONNREFUSED) until Accept. Current connections go on; Cut or Reset
// them as well for a full outage.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
}

// Accept listens again on Addr after Refuse; it does nothing when the
// proxy is listening. It fails when the port was taken meanwhile or the
// proxy is closed.
func (p *Proxy) Accept() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("sockproxy: closed")
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serveLocked(ln)
	return nil
}

// Close stops listening, cuts every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Refuse()
	p.Cut()
	p.wg.Wait()
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return // closed by Refuse or Close
			}
			p.handle(down.(*net.TCPConn))
		}
	}()
}

func (p *Proxy) handle(down *net.TCPConn) {
	up, err := net.Dial("unix", p.target)
	if err != nil {
		_ = down.Close()
		return
	}
	c := &pair{down: down, up: up}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close(false)
		return
	}
	p.conns[c] = struct{}{}
	p.accepted++
	p.wg.Add(2)
	p.mu.Unlock()
	go func() { // client → socket; a half-close is passed on
		defer p.wg.Done()
		if _, err := io.Copy(up, down); err == nil {
			if cw, ok := up.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
				return
			}
		}
		c.close(false)
	}()
	go func() { // socket → client; its end ends the pair
		defer p.wg.Done()
		_, _ = io.Copy(down, up)
		c.close(false)
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
}
