package awstest

import (
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a [Server].
type Options struct {
	// Region is the region the server plays; default "ap-northeast-1".
	Region string
	// Latency makes every API call (not IMDS) sleep a uniformly random
	// time in [Latency[0], Latency[1]] before it is answered; zero means
	// none.
	Latency [2]time.Duration
	// Seed seeds the random latency, so that a run can be repeated.
	Seed int64
	// Host is the address every listener binds (the API's and each
	// instance's IMDS, each on a port of its own); default 127.0.0.1.
	Host string
	// Listen, when set, replaces net.Listen for every listener: a test
	// that runs its nodes in network namespaces listens in the one its
	// nodes reach.
	Listen func(network, address string) (net.Listener, error)
	// ListenPacket, when set, replaces net.ListenPacket for the DNS
	// resolver's socket (see Listen).
	ListenPacket func(network, address string) (net.PacketConn, error)
}

// DefaultRegion is the region of a Server whose Options name none.
const DefaultRegion = "ap-northeast-1"

// accountID is the account every resource of the server belongs to.
const accountID = "123456789012"

// Server is a wire-level AWS endpoint for tests: EC2 (Query protocol),
// Route 53 (REST-XML) and DynamoDB (JSON 1.0) on one URL, and IMDSv2 on
// one listener per instance, over an in-memory state model. Its methods
// are safe for concurrent use.
type Server struct {
	opts Options

	mu          sync.Mutex
	rng         *rand.Rand
	latency     [2]time.Duration
	consistency time.Duration
	seq         uint64
	closed      chan struct{}
	closeOnce   sync.Once

	vpcs      map[string]*vpcRec
	subnets   map[string]*subnetRec
	instances map[string]*instanceRec
	enis      map[string]*eniRec
	tables    map[string]*routeTableRec
	addresses map[string]*addressRec
	azs       map[string]*azRec
	zones     map[string]*hostedZoneRec
	changes   map[string]*changeRec
	dynTables map[string]*tableRec

	faults faults
	calls  map[string]int
	tokens map[string]imdsToken

	main *listener
	imds map[string]*listener

	dnsConn net.PacketConn
	dnsAddr string
}

type listener struct {
	url string
	srv *http.Server
}

// New starts a server on Options.Host (127.0.0.1) with an empty state; Close stops it. It
// panics when no local port can be had, as httptest.NewServer does.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Listen == nil {
		opts.Listen = net.Listen
	}
	s := &Server{
		opts:      opts,
		rng:       rand.New(rand.NewSource(opts.Seed)),
		latency:   opts.Latency,
		closed:    make(chan struct{}),
		vpcs:      map[string]*vpcRec{},
		subnets:   map[string]*subnetRec{},
		instances: map[string]*instanceRec{},
		enis:      map[string]*eniRec{},
		tables:    map[string]*routeTableRec{},
		addresses: map[string]*addressRec{},
		azs:       map[string]*azRec{},
		zones:     map[string]*hostedZoneRec{},
		changes:   map[string]*changeRec{},
		dynTables: map[string]*tableRec{},
		calls:     map[string]int{},
		tokens:    map[string]imdsToken{},
		imds:      map[string]*listener{},
	}
	s.main = s.listen(http.HandlerFunc(s.serveAPI))
	return s
}

func (s *Server) listen(h http.Handler) *listener {
	ln, err := s.opts.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
	if err != nil {
		panic(fmt.Sprintf("awstest: listening on %s: %v", s.opts.Host, err))
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &listener{url: "http://" + ln.Addr().String(), srv: srv}
}

// URL returns the base endpoint of EC2, Route 53 and DynamoDB
// ("http://127.0.0.1:port"), for the SDK's BaseEndpoint.
func (s *Server) URL() string { return s.main.url }

// Region returns the region the server plays.
func (s *Server) Region() string { return s.opts.Region }

// IMDS returns the URL of the instance metadata service (IMDSv2) of
// instance instanceID, a listener of its own started on the first call;
// give it to the SDK as the IMDS endpoint. The instance need not be added
// yet: answers are built from the state at request time.
func (s *Server) IMDS(instanceID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.imds[instanceID]; l != nil {
		return l.url
	}
	select {
	case <-s.closed:
		return "http://127.0.0.1:1"
	default:
	}
	l := s.listen(s.imdsHandler(instanceID))
	s.imds[instanceID] = l
	return l.url
}

// Close stops the server and its IMDS listeners, dropping open
// connections; calls sleeping their latency end at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.mu.Lock()
		ls := []*listener{s.main}
		for _, l := range s.imds {
			ls = append(ls, l)
		}
		if s.dnsConn != nil {
			_ = s.dnsConn.Close()
		}
		s.mu.Unlock()
		for _, l := range ls {
			_ = l.srv.Close()
		}
	})
}

func (s *Server) now() time.Time { return time.Now() }

// apiErr is an error answer of any protocol.
type apiErr struct {
	status int
	code   string
	msg    string
	item   item // DynamoDB ConditionalCheckFailedException with ALL_OLD
}

func (e *apiErr) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, format string, args ...any) *apiErr {
	return &apiErr{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// Protocols, for fault rendering.
const (
	protoEC2     = "ec2"
	protoRoute53 = "route53"
	protoDynamo  = "dynamodb"
)

// serveAPI dispatches a request to its protocol by its shape.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/2013-04-01/"):
		s.serveRoute53(w, r)
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810."):
		s.serveDynamo(w, r)
	case r.Method == http.MethodPost:
		s.serveEC2(w, r)
	default:
		http.Error(w, "awstest: no AWS API at "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// admit runs the per-call pipeline every API call goes through before its
// handler: count it, sleep the latency, then answer the outage, a missing
// signature, throttling, an injected failure or a denial, in that order.
// ids are the resources the call names (for Deny); params, when not nil,
// are the call's parameters by name (for the messages of Fail).
func (s *Server) admit(r *http.Request, proto, action string, ids []string, params map[string]string) *apiErr {
	s.mu.Lock()
	s.calls[action]++
	s.calls[""]++
	d := s.latency[0]
	if span := s.latency[1] - s.latency[0]; span > 0 {
		d += time.Duration(s.rng.Int63n(int64(span) + 1))
	}
	s.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.closed:
			t.Stop()
		case <-r.Context().Done():
			t.Stop()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.outage {
		return outageError(proto)
	}
	if !signed(r) {
		return authError(proto)
	}
	return s.faults.take(proto, s.opts.Region, action, ids, params)
}

// signed reports whether r carries a SigV4 Authorization header (the
// signature itself is not checked).
func signed(r *http.Request) bool {
	a := r.Header.Get("Authorization")
	return strings.HasPrefix(a, "AWS4-HMAC-SHA256 ") && strings.Contains(a, "Credential=") && strings.Contains(a, "Signature=")
}

func authError(proto string) *apiErr {
	switch proto {
	case protoEC2:
		return errf(http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials")
	case protoRoute53:
		return errf(http.StatusForbidden, "MissingAuthenticationToken", "Missing Authentication Token")
	default:
		return errf(http.StatusBadRequest, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
	}
}

// requestID returns a fresh request ID in AWS's UUID shape.
func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(s.seq), uint16(s.seq>>32), 0, 0, s.seq)
}

// maxBody bounds a request body.
const maxBody = 4 << 20
