package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gosnmp/gosnmp"
)

// Errors a [Client] returns, matched with errors.Is. Each is wrapped with
// the agent's address and protocol version, and with the underlying
// gosnmp or network error where there is one. Context errors are wrapped
// as they are (errors.Is(err, context.Canceled)).
var (
	// ErrTimeout: no answer within Timeout × (Retries+1). SNMPv1/v2c
	// agents do not answer a wrong community at all, so this is also what
	// a wrong community looks like; so is a filtered port.
	ErrTimeout = errors.New("snmp: no answer from the agent")
	// ErrUnreachable: the request could not be sent or was refused at
	// the network level (name resolution failed, ICMP port unreachable:
	// no agent on that port).
	ErrUnreachable = errors.New("snmp: agent unreachable")
	// ErrAuth: an SNMPv3 agent refused the request's security (unknown
	// user, wrong authentication passphrase or protocol, unsupported
	// security level). A wrong privacy passphrase with the right
	// authentication is not answered by net-snmp at all, so it shows as
	// ErrTimeout.
	ErrAuth = errors.New("snmp: SNMPv3 security refused by the agent")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("snmp: client closed")
)

// maxOIDs is how many OIDs one GET request carries; longer lists are split.
// gosnmp refuses more than 60, and small requests fit in one UDP datagram.
const maxOIDs = 60

// Client polls one SNMP agent with GET requests. Create it with [New] and
// release it with [Client.Close].
//
// A Client is safe for concurrent use; requests to its agent are sent one
// at a time (a caller waits for the one in flight, or until its context
// ends). Every method takes a context first: a request ends when the
// agent answers, when Timeout × (Retries+1) has passed, or as soon as the
// context ends, whichever is first.
type Client struct {
	cfg    Config
	target string // "127.0.0.1:161 SNMPv2c", for errors and logs
	log    *slog.Logger
	sem    chan struct{}  // holds one token per request in flight (at most one)
	g      *gosnmp.GoSNMP // used only by the holder of sem

	mu     sync.Mutex
	conn   net.Conn // g's open socket, or nil
	closed bool
}

// Option configures optional collaborators of a Client.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger sets the logger for debug-level traces (reconnections,
// SNMPv1 noSuchName retries). The default discards everything. The
// community and passphrases are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// New returns a Client for the agent cfg describes. It validates cfg and
// prepares the request state (for SNMPv3 it localises the keys); it sends
// nothing, so an agent that cannot be reached is reported by the first
// request, not by New.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("snmp: invalid config: %w", err)
	}
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	cfg = cfg.withDefaults()
	g := &gosnmp.GoSNMP{
		Target:    cfg.host(),
		Port:      uint16(cfg.Port),
		Transport: "udp",
		Timeout:   cfg.Timeout,
		Retries:   cfg.Retries,
		MaxOids:   maxOIDs,
	}
	switch cfg.Version {
	case "1":
		g.Version = gosnmp.Version1
		g.Community = cfg.Community
	case "2c":
		g.Version = gosnmp.Version2c
		g.Community = cfg.Community
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags, g.SecurityParameters = cfg.V3.usm()
	}
	c := &Client{
		cfg:    cfg,
		target: net.JoinHostPort(cfg.host(), strconv.Itoa(cfg.Port)) + " SNMPv" + cfg.Version,
		log:    o.log,
		sem:    make(chan struct{}, 1),
		g:      g,
	}
	return c, nil
}

// usm maps a validated V3Config to gosnmp's settings.
func (v *V3Config) usm() (gosnmp.SnmpV3MsgFlags, *gosnmp.UsmSecurityParameters) {
	level, _ := v.level()
	p := &gosnmp.UsmSecurityParameters{UserName: v.User}
	flags := gosnmp.NoAuthNoPriv
	if level == AuthNoPriv || level == AuthPriv {
		flags = gosnmp.AuthNoPriv
		name, _ := normalise(v.AuthProtocol, authProtocols)
		p.AuthenticationProtocol = map[string]gosnmp.SnmpV3AuthProtocol{
			"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
			"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
		}[name]
		p.AuthenticationPassphrase = v.AuthPassphrase
	}
	if level == AuthPriv {
		flags = gosnmp.AuthPriv
		name, _ := normalise(v.PrivProtocol, privProtocols)
		p.PrivacyProtocol = map[string]gosnmp.SnmpV3PrivProtocol{
			"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
			"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
		}[name]
		p.PrivacyPassphrase = v.PrivPassphrase
	}
	return flags, p
}

// Close releases the Client's socket and makes a request in flight, and
// every later one, fail with ErrClosed. It does not block and is safe to
// call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	return nil
}

// Get sends GET requests for oids (numeric, with or without the leading
// dot; names are not resolved) and returns one Value per OID, in the
// order given. An OID the agent has no value for (noSuchObject,
// noSuchInstance, or noSuchName from an SNMPv1 agent, which Get then asks
// again without it) yields a Value of TypeAbsent, never an error and never
// 0. Lists longer than 60 OIDs are sent as several requests.
//
// The error wraps ErrTimeout, ErrUnreachable, ErrAuth, ErrClosed or the
// context's error when it is one of those; any other error-status from the
// agent (tooBig, genErr, ...) is an error naming it.
func (c *Client) Get(ctx context.Context, oids ...string) ([]Value, error) {
	if len(oids) == 0 {
		return nil, errors.New("snmp: get: no OIDs")
	}
	norm := make([]string, len(oids))
	var errs []error
	for i, o := range oids {
		n, err := normaliseOID(o)
		if err != nil {
			errs = append(errs, err)
		}
		norm[i] = n
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("snmp: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, c.wrap(ctx, err)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, c.wrap(ctx, ctx.Err())
	}
	defer func() { <-c.sem }()

	if err := c.connect(); err != nil {
		return nil, err
	}
	out := make([]Value, len(norm))
	for start := 0; start < len(norm); start += maxOIDs {
		end := min(start+maxOIDs, len(norm))
		if err := c.get(ctx, norm[start:end], out[start:end]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// connect opens the socket if there is none. The caller holds sem.
func (c *Client) connect() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.closedError()
	}
	if c.conn != nil {
		return nil
	}
	// Dialling UDP sends nothing and does not block; name resolution
	// may, briefly.
	c.g.Context = context.Background()
	if err := c.g.Connect(); err != nil {
		return &agentError{msg: "snmp: get from " + c.target + ": agent unreachable: " + err.Error(), errs: []error{ErrUnreachable, err}}
	}
	c.conn = c.g.Conn
	return nil
}

// get fills out with the values of oids, asking again without the
// offending OID when an SNMPv1 agent answers noSuchName. The caller holds
// sem.
func (c *Client) get(ctx context.Context, oids []string, out []Value) error {
	pending := make([]int, len(oids)) // indexes into oids still to ask for
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		names := make([]string, len(pending))
		for i, p := range pending {
			names[i] = oids[p]
		}
		pkt, err := c.send(ctx, names)
		if err != nil {
			return err
		}
		if pkt.Error == gosnmp.NoSuchName && pkt.ErrorIndex >= 1 && int(pkt.ErrorIndex) <= len(pending) {
			// SNMPv1 has no per-variable exceptions: the whole request
			// fails and error-index names the first missing variable.
			i := int(pkt.ErrorIndex) - 1
			c.log.Debug("snmp: noSuchName, asking again without it", "agent", c.target, "oid", oids[pending[i]])
			out[pending[i]] = Value{OID: oids[pending[i]], Type: TypeAbsent}
			pending = append(pending[:i], pending[i+1:]...)
			continue
		}
		if pkt.Error != gosnmp.NoError {
			return fmt.Errorf("snmp: get from %s: the agent answered %s (error-index %d)", c.target, pkt.Error, pkt.ErrorIndex)
		}
		got := make(map[string]gosnmp.SnmpPDU, len(pkt.Variables))
		for _, v := range pkt.Variables {
			if n, err := normaliseOID(v.Name); err == nil {
				got[n] = v
			}
		}
		for _, p := range pending {
			v, ok := got[oids[p]]
			if !ok {
				return fmt.Errorf("snmp: get from %s: the answer lacks %s", c.target, oids[p])
			}
			out[p] = fromPDU(oids[p], v)
		}
		return nil
	}
	return nil
}

// send performs one gosnmp GET, ending it as soon as ctx ends by closing
// the socket under it (gosnmp only looks at the context between attempts).
// The caller holds sem.
func (c *Client) send(ctx context.Context, names []string) (*gosnmp.SnmpPacket, error) {
	conn := c.g.Conn
	c.g.Context = ctx
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	pkt, err := c.g.Get(names)
	if !stop() {
		// ctx ended and the socket is closed: open a new one next time.
		c.dropConn()
		return nil, c.wrap(ctx, ctx.Err())
	}
	if err != nil {
		if ctx.Err() == nil && c.isClosed() {
			return nil, c.closedError()
		}
		return nil, c.wrap(ctx, err)
	}
	return pkt, nil
}

func (c *Client) dropConn() {
	_ = c.g.Close()
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
	c.log.Debug("snmp: request ended by its context; the socket will be reopened", "agent", c.target)
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// wrap classifies err and adds the agent. A context error is wrapped as it
// is; gosnmp's and the network's errors get the matching sentinel.
func (c *Client) wrap(ctx context.Context, err error) error {
	prefix := "snmp: get from " + c.target
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w", prefix, cerr)
	}
	kind := classify(err)
	if kind == nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	what := strings.TrimPrefix(kind.Error(), "snmp: ")
	if kind == ErrTimeout {
		hint := "agent down, port filtered, or community refused"
		if c.cfg.Version == "3" {
			hint = "agent down, port filtered, or privacy protocol or passphrase refused"
		}
		what = fmt.Sprintf("%s within %s × %d attempt(s) (%s)", what, c.cfg.Timeout, c.cfg.Retries+1, hint)
	}
	return &agentError{msg: prefix + ": " + what + ": " + err.Error(), errs: []error{kind, err}}
}

func (c *Client) closedError() error {
	return &agentError{msg: "snmp: get from " + c.target + ": client closed", errs: []error{ErrClosed}}
}

// agentError is a classified failure: it matches (errors.Is) its sentinel
// and unwraps to the underlying error.
type agentError struct {
	msg  string
	errs []error
}

func (e *agentError) Error() string   { return e.msg }
func (e *agentError) Unwrap() []error { return e.errs }

func classify(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil
	case errors.Is(err, gosnmp.ErrWrongDigest), errors.Is(err, gosnmp.ErrUnknownUsername),
		errors.Is(err, gosnmp.ErrDecryption), errors.Is(err, gosnmp.ErrUnknownSecurityLevel),
		errors.Is(err, gosnmp.ErrUnknownSecurityModels),
		// gosnmp reports the agent's unauthenticated usmStatsWrongDigests
		// or usmStatsUnknownUserNames report with these texts only.
		strings.Contains(err.Error(), "not authentic"),
		strings.Contains(err.Error(), "requires authentication"):
		return ErrAuth
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return ErrUnreachable
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		strings.Contains(err.Error(), "timeout"):
		return ErrTimeout
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ErrUnreachable
	}
	return nil
}
