package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Codes of the DNS resource's monitor (CLUSTERPRO's awsdnsw), in the Code of
// a Critical [monitor.Result] from [DNS.Check]. They add to the codes every
// resource shares: [ha.CodeFailed] (5: an AWS call failed; the detail is
// AWS's own message, such as "No hosted zone found with ID: Z…", or "Failed
// in the AWS CLI command." when AWS gave none) and [ha.CodeTimeout] (6
// "Timeout occurred."), which the monitor's response-failure action turns
// into warnings 105 and 106 by default.
const (
	// CodeDNSRecordMissing (7): the A record is not in the hosted zone.
	CodeDNSRecordMissing = 7
	// CodeDNSRecordChanged (8): the A record holds another address than
	// the configured one.
	CodeDNSRecordChanged = 8
	// CodeDNSResolveFailed (9): the name does not resolve through the
	// configured resolver (NXDOMAIN, no A answer, no answer in time).
	CodeDNSResolveFailed = 9
	// CodeDNSResolveMismatch (10): the name resolves, but not to the
	// configured address.
	CodeDNSResolveMismatch = 10
)

// Detail texts of the DNS monitor, verbatim from CLUSTERPRO's AWS guide.
const (
	dnsMsgRecordMissing   = "The resource record set in Amazon Route 53 does not exist."
	dnsMsgRecordChanged   = "IP address different from the setting is registered in the resource record set of Amazon Route 53."
	dnsMsgResolveFailed   = "Failed to resolve domain name."
	dnsMsgResolveMismatch = "IP address which is resolved domain name from the DNS resolver does not match setting."
)

// Defaults of [DNSConfig].
const (
	// DefaultDNSTTL is the record's TTL in seconds when DNSConfig.TTL is
	// 0. CLUSTERPRO's guide gives no default; 60 s keeps the time clients
	// hold the old address after a failover to about a minute (Route 53's
	// own propagation bound), while Pacemaker's aws-vpc-route53 uses 10 s
	// at six times the query volume.
	DefaultDNSTTL int64 = 60
	// DefaultDNSInSyncTimeout bounds the wait for Route 53 to report a
	// change INSYNC when DNSConfig.InSyncTimeout is 0: the guide says a
	// change takes up to 60 s to reach every authoritative server.
	DefaultDNSInSyncTimeout = 60 * time.Second
	// DNSMonitorStartWait is the wait time to start monitoring that the
	// DNS resource's monitor should have (ha.RecoveryPolicy.StartWait):
	// longer than Route 53's propagation, so that a resolver does not
	// cache NXDOMAIN for a name that is on its way (CLUSTERPRO's guide,
	// "name resolution takes time").
	DNSMonitorStartWait = 90 * time.Second
	// dnsMaxTTL is Route 53's largest TTL (2^31-1 s).
	dnsMaxTTL int64 = 2147483647
)

// Polling of GetChange while Activate waits for INSYNC.
const (
	dnsPollMin = 500 * time.Millisecond
	dnsPollMax = 5 * time.Second
)

// DNSConfig is CLUSTERPRO's AWS DNS resource (awsdns): an A record in a
// Route 53 hosted zone that names the node holding the group. Durations are
// written "60s" in configuration files.
type DNSConfig struct {
	// HostedZoneID is the Route 53 hosted zone's ID ("Z0123456789ABC"; a
	// "/hostedzone/" prefix, as the API returns it, is accepted and
	// dropped). Required.
	HostedZoneID string `json:"hosted_zone_id"`
	// Name is the record's name: a fully qualified domain name in lower
	// case with the trailing dot ("srv.hz1.local."), as CLUSTERPRO
	// requires. Required.
	Name string `json:"name"`
	// IP is the IPv4 address the record holds while this node holds the
	// group: the node's own address, or a virtual IP or Elastic IP that
	// follows the group. Empty means this instance's private IPv4
	// address, from the instance metadata service at first use.
	IP string `json:"ip,omitempty"`
	// TTL is the record's time to live in seconds; 0 means DefaultDNSTTL
	// (60), -1 means a TTL of 0 (no caching); at most 2147483647.
	TTL int64 `json:"ttl,omitempty"`
	// KeepOnDeactivate leaves the record in the zone when the resource is
	// deactivated (CLUSTERPRO's "delete the resource record set at
	// deactivation" unchecked): clients keep resolving the name to the
	// last holder, and a failover only changes the address, which
	// resolvers pick up sooner than a deleted-then-created name (no
	// negative caching). Off by default: the record is deleted, so a
	// stopped group is not reachable by name. Turn it on when every node
	// registers the same address (a virtual IP or an Elastic IP): the
	// record then never changes, and a late deactivation on the old
	// holder cannot tell its record from the new holder's.
	KeepOnDeactivate bool `json:"keep_on_deactivate,omitempty"`
	// InSyncTimeout bounds how long Activate waits for Route 53 to report
	// the change INSYNC (on every authoritative server); 0 means
	// DefaultDNSInSyncTimeout (60 s), negative means no wait.
	InSyncTimeout time.Duration `json:"insync_timeout,omitempty"`
	// RequireInSync makes an activation whose change is not INSYNC within
	// InSyncTimeout fail with code 6 "Timeout occurred.". Off by default:
	// Route 53 has accepted the change and will propagate it, so the
	// activation succeeds with a logged warning and the monitor's wait
	// time to start (DNSMonitorStartWait) covers the rest.
	RequireInSync bool `json:"require_insync,omitempty"`
	// Resolver is the DNS server the monitor resolves the name through,
	// as "host:port" or an IP address (port 53): the VPC's resolver
	// ("10.0.0.2", "169.254.169.253"), or a test server. Empty means this
	// node's own resolver configuration, hosts file included, as clients
	// on the node see it.
	Resolver string `json:"resolver,omitempty"`
}

// DefaultDNSConfig returns a DNSConfig with every default spelled out;
// HostedZoneID, Name and IP remain to be given.
func DefaultDNSConfig() DNSConfig {
	return DNSConfig{TTL: DefaultDNSTTL, InSyncTimeout: DefaultDNSInSyncTimeout}
}

// Validate reports every problem of c, joined, each naming its json field
// and saying what is allowed.
func (c DNSConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := dnsValidZoneID(c.HostedZoneID); err != nil {
		add("hosted_zone_id: %w", err)
	}
	if err := ValidateDNSName(c.Name); err != nil {
		add("name: %w", err)
	}
	if err := dnsValidIP(c.IP); c.IP != "" && err != nil {
		add("ip: %w", err)
	}
	if c.TTL < -1 || c.TTL > dnsMaxTTL {
		add("ttl: %d: want 0 (the default, %d s), -1 (a TTL of 0) or 1 to %d seconds", c.TTL, DefaultDNSTTL, dnsMaxTTL)
	}
	if c.Resolver != "" {
		if _, err := dnsResolverAddr(c.Resolver); err != nil {
			add("resolver: %w", err)
		}
	}
	return errors.Join(errs...)
}

// WithDefaults returns c with its zero fields set to the defaults, the
// hosted zone ID without its "/hostedzone/" prefix, a TTL of -1 as 0, a
// negative InSyncTimeout as 0 (no wait) and the resolver with its port.
func (c DNSConfig) WithDefaults() DNSConfig {
	c.HostedZoneID = dnsZoneID(c.HostedZoneID)
	switch {
	case c.TTL == 0:
		c.TTL = DefaultDNSTTL
	case c.TTL < 0:
		c.TTL = 0
	}
	switch {
	case c.InSyncTimeout == 0:
		c.InSyncTimeout = DefaultDNSInSyncTimeout
	case c.InSyncTimeout < 0:
		c.InSyncTimeout = 0
	}
	if a, err := dnsResolverAddr(c.Resolver); err == nil {
		c.Resolver = a
	}
	return c
}

// dnsZoneID drops the "/hostedzone/" (or "hostedzone/") prefix the Route 53
// API puts on zone IDs.
func dnsZoneID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "/")
	return strings.TrimPrefix(id, "hostedzone/")
}

// dnsValidZoneID checks a hosted zone ID: letters and digits, 1 to 32 of
// them (Route 53's length limit), after the optional prefix.
func dnsValidZoneID(raw string) error {
	id := dnsZoneID(raw)
	if id == "" {
		return fmt.Errorf("%q: required: the Route 53 hosted zone ID (such as Z0123456789ABCDEFGHIJ)", raw)
	}
	if len(id) > 32 {
		return fmt.Errorf("%q: a hosted zone ID has at most 32 characters", raw)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%q: a hosted zone ID has only letters and digits (optionally after /hostedzone/)", raw)
		}
	}
	return nil
}

// ValidateDNSName checks a resource record set name as CLUSTERPRO's AWS
// DNS resource wants it: a fully qualified domain name with the trailing
// dot, in lower case ("srv.hz1.local."), of labels of 1 to 63 letters,
// digits, hyphens (not first or last) and underscores, 254 characters at
// most. Wildcards and escapes are refused: the monitor resolves the name
// as written.
func ValidateDNSName(name string) error {
	if name == "" {
		return errors.New(`required: the record's fully qualified domain name with the trailing dot, such as "srv.hz1.local."`)
	}
	if name == "." {
		return errors.New(`".": the root cannot be the record's name; give a name inside the hosted zone, such as "srv.hz1.local."`)
	}
	if !strings.HasSuffix(name, ".") {
		return fmt.Errorf("%q: specify the resource record set name as a fully qualified domain name with the trailing dot (%q)", dnsShow(name), dnsShow(name)+".")
	}
	if strings.ToLower(name) != name {
		return fmt.Errorf("%q: specify the resource record set name in lower case (%q): an upper-case name makes the activation fail", dnsShow(name), dnsShow(strings.ToLower(name)))
	}
	if len(name) > 254 {
		return fmt.Errorf("%q: a domain name has at most 253 characters before the trailing dot, this one has %d", dnsShow(name), len(name)-1)
	}
	for i, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if err := dnsValidLabel(label); err != nil {
			return fmt.Errorf("%q: label %d: %w", dnsShow(name), i+1, err)
		}
	}
	return nil
}

func dnsValidLabel(label string) error {
	switch {
	case label == "":
		return errors.New("empty label (two dots in a row): want labels of 1 to 63 characters")
	case len(label) > 63:
		return fmt.Errorf("%d characters: a label has at most 63", len(label))
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("%q: a label must not begin or end with a hyphen", label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%q: character %q: want lower-case letters, digits, hyphens and underscores", dnsShow(label), dnsShow(string(c)))
		}
	}
	return nil
}

// dnsShow makes a configured text printable in an error (invalid UTF-8
// and control characters escaped by %q already; long texts cut).
func dnsShow(s string) string {
	const max = 300
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// dnsValidIP checks the record's address: IPv4 (an A record), not
// 0.0.0.0.
func dnsValidIP(s string) error {
	if s == "" {
		return errors.New("required: the IPv4 address the record holds while this node holds the group")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return fmt.Errorf("%q: want an IPv4 address such as 10.0.110.10 (the record is of type A)", dnsShow(s))
	}
	if a.IsUnspecified() {
		return fmt.Errorf("%q: 0.0.0.0 cannot be a client's destination; want this node's address", s)
	}
	return nil
}

// dnsResolverAddr returns the resolver as "host:port", port 53 when only
// an address is given.
func dnsResolverAddr(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(a.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", fmt.Errorf("%q: want host:port (such as 10.0.0.2:53) or an IP address", dnsShow(s))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("%q: port %q: want 1 to 65535", dnsShow(s), dnsShow(port))
	}
	return s, nil
}

// DNS is CLUSTERPRO's AWS DNS resource and its monitor as an [ha.Resource]:
// an A record in Route 53 that points the name at the node holding the
// group. It keeps no state between calls (Route 53 is the record), so it is
// safe for concurrent use.
type DNS struct {
	c        *Clients
	cfg      DNSConfig
	zone     string
	ipMu     sync.Mutex // guards learning ip (and cfg.IP) when IP was empty
	ip       netip.Addr
	log      *slog.Logger
	now      func() time.Time
	resolver dnsLookuper
	pollMin  time.Duration
	pollMax  time.Duration
}

var (
	_ ha.Resource         = (*DNS)(nil)
	_ ha.MessageFormatter = (*DNS)(nil)
)

// NewDNS returns the DNS resource cfg describes, calling Route 53 through
// c. It validates cfg; it makes no AWS call.
func NewDNS(c *Clients, cfg DNSConfig, opts ...Option) (*DNS, error) {
	if c == nil || c.route53 == nil {
		return nil, errors.New("aws: DNS resource: no Route 53 client (build the clients with aws.Load)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws: DNS resource: invalid config: %w", err)
	}
	cfg = cfg.WithDefaults()
	o := buildOptions(opts)
	d := &DNS{
		c:        c,
		cfg:      cfg,
		zone:     cfg.HostedZoneID,
		log:      o.log.With("hosted_zone", cfg.HostedZoneID, "name", cfg.Name),
		now:      o.now,
		resolver: dnsNewResolver(cfg.Resolver),
		pollMin:  dnsPollMin,
		pollMax:  dnsPollMax,
	}
	if cfg.IP != "" {
		d.ip = netip.MustParseAddr(cfg.IP)
	}
	return d, nil
}

// learnIP makes sure the record's address is known: the configured one,
// or this instance's private IPv4 address from the instance metadata
// service, asked once. Every method calls it first.
func (d *DNS) learnIP(ctx context.Context) error {
	d.ipMu.Lock()
	defer d.ipMu.Unlock()
	if d.ip.IsValid() {
		return nil
	}
	self, err := d.c.Self(ctx)
	if err != nil {
		re := apiError(err)
		if re.Code != ha.CodeTimeout {
			re = &ha.ResourceError{Code: ha.CodeFailed, Detail: "Could not learn this node's IP address from the instance metadata service: " + err.Error(), Err: err}
		}
		return re
	}
	a, err := netip.ParseAddr(self.PrivateIP)
	if err != nil || !a.Is4() {
		return &ha.ResourceError{Code: ha.CodeFailed, Detail: fmt.Sprintf("Instance %s has no private IPv4 address to register; set ip.", self.ID)}
	}
	d.ip, d.cfg.IP = a, a.String()
	d.log = d.log.With("ip", d.cfg.IP)
	return nil
}

// Config returns the resource's configuration with its defaults filled in.
func (d *DNS) Config() DNSConfig { return d.cfg }

// ActivateMessage is CLUSTERPRO's AWS DNS activation failure line, which
// has a space before the parenthesis:
// "Activating <resource> resource has failed. (<code> : <detail>)".
func (d *DNS) ActivateMessage(resource string, err error) string {
	return "Activating " + resource + " resource has failed. " + ha.AsResourceError(err).Error()
}

// DeactivateMessage is the deactivation failure line, in the same form:
// "Deactivating <resource> resource has failed. (<code> : <detail>)".
func (d *DNS) DeactivateMessage(resource string, err error) string {
	return "Deactivating " + resource + " resource has failed. " + ha.AsResourceError(err).Error()
}

// Activate points the record at this node: one UPSERT of the A record
// (name, TTL, IP), which creates it, changes its address or leaves it as
// it is, so activating twice is harmless. Route 53 applies a change batch
// atomically; no read comes first, so a failover costs one write.
//
// It then waits for Route 53 to report the change INSYNC (on every
// authoritative server), polling GetChange with backoff from 0.5 s to 5 s,
// for at most Config.InSyncTimeout and while ctx lasts. A change still
// PENDING then, or a GetChange that is not allowed (the IAM policy of
// CLUSTERPRO's guide lacks route53:GetChange) or fails, is logged as a
// warning and the activation succeeds: Route 53 has accepted the change
// and propagates it on its own. With Config.RequireInSync a change not
// INSYNC in time fails the activation with code 6 instead.
//
// Errors are *[ha.ResourceError]: 5 with AWS's message ("No hosted zone
// found with ID: Z…", an invalid change batch), 5 "You are not authorized
// to perform this operation." when IAM refuses, 5 "Failed in the AWS CLI
// command." when Route 53 gave no answer, 6 "Timeout occurred." when the
// call's time ran out. Route 53 cannot take the holder's epoch as a
// condition: the group's witness keeps a single writer.
func (d *DNS) Activate(ctx context.Context, node inventory.Target) error {
	if err := d.learnIP(ctx); err != nil {
		return err
	}
	if e, ok := ha.EpochFrom(ctx); ok {
		d.log.DebugContext(ctx, "activating", "node", node.Name, "epoch", uint64(e))
	}
	rrset := d.record()
	out, err := d.change(ctx, types.ChangeActionUpsert, rrset)
	if err != nil {
		return apiError(err)
	}
	d.log.InfoContext(ctx, "record upserted", "ip", d.cfg.IP, "ttl", d.cfg.TTL, "node", node.Name)
	if d.cfg.InSyncTimeout <= 0 || out.ChangeInfo == nil {
		return nil
	}
	return d.waitInSync(ctx, out.ChangeInfo)
}

// Deactivate deletes the record, unless Config.KeepOnDeactivate, when it
// still holds this node's address only: it reads the record first and
// never deletes a record another node has taken over. The DELETE names the
// record exactly as read, and Route 53 refuses it when the record has
// changed meanwhile; the record is then read again (at most three times).
// A record, or a hosted zone, that is not there is success. Errors are
// *[ha.ResourceError] with the codes of Activate.
func (d *DNS) Deactivate(ctx context.Context, node inventory.Target) error {
	if d.cfg.KeepOnDeactivate {
		d.log.DebugContext(ctx, "record kept at deactivation (keep_on_deactivate)", "node", node.Name)
		return nil
	}
	if err := d.learnIP(ctx); err != nil {
		return err
	}
	const attempts = 3
	var err error
	for range attempts {
		var rr *types.ResourceRecordSet
		rr, err = d.read(ctx)
		switch {
		case errorCode(err) == "NoSuchHostedZone":
			d.log.WarnContext(ctx, "hosted zone not found at deactivation: no record to delete")
			return nil
		case err != nil:
			return apiError(err)
		case rr == nil:
			d.log.DebugContext(ctx, "no record to delete")
			return nil
		case !d.holdsOurs(rr):
			d.log.InfoContext(ctx, "record left in place: it holds another holder's address", "values", dnsValues(rr))
			return nil
		}
		_, err = d.change(ctx, types.ChangeActionDelete, rr)
		switch {
		case err == nil:
			d.log.InfoContext(ctx, "record deleted", "ip", d.cfg.IP, "node", node.Name)
			return nil
		case errorCode(err) == "InvalidChangeBatch":
			// Deleted or changed since it was read: look again.
			d.log.DebugContext(ctx, "record changed since read; reading again", "err", err)
		case errorCode(err) == "NoSuchHostedZone":
			return nil
		default:
			return apiError(err)
		}
	}
	return apiError(fmt.Errorf("the record kept changing while it was being deleted: %w", err))
}

// Check is CLUSTERPRO's AWS DNS monitor (awsdnsw). It reads the record
// (ListResourceRecordSets from the name and type A, one item): missing →
// Critical 7 "The resource record set in Amazon Route 53 does not exist.";
// another address (or several, an alias, a routing policy) → Critical 8
// "IP address different from the setting is registered in the resource
// record set of Amazon Route 53.". Then it resolves the name through
// Config.Resolver, bounded by the per-call timeout: no answer, NXDOMAIN or
// no A record → Critical 9 "Failed to resolve domain name."; answers
// without the address → Critical 10 "IP address which is resolved domain
// name from the DNS resolver does not match setting.". OK otherwise.
//
// A resolution failure is a finding, not an AWS failure, so it is a
// Critical result that recovery acts on. An AWS call that fails is
// returned as the error (a *ha.ResourceError with code 5 or 6), so the
// monitor's response-failure action decides: a warning 105 or 106 by
// default, nothing, or recovery; an AWS outage never fails the group over
// by itself.
func (d *DNS) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	if err := d.learnIP(ctx); err != nil {
		return monitor.Result{}, err
	}
	rr, err := d.read(ctx)
	if err != nil {
		return monitor.Result{}, apiError(err)
	}
	crit := func(code int, msg string) (monitor.Result, error) {
		return monitor.Result{Time: d.now(), Status: monitor.Critical, Code: code, Message: msg}, nil
	}
	if rr == nil {
		return crit(CodeDNSRecordMissing, dnsMsgRecordMissing)
	}
	if !d.holdsOurs(rr) {
		d.log.DebugContext(ctx, "record holds another address", "values", dnsValues(rr))
		return crit(CodeDNSRecordChanged, dnsMsgRecordChanged)
	}
	rctx, cancel := d.c.call(ctx)
	addrs, err := d.resolver.LookupNetIP(rctx, "ip4", d.cfg.Name)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			// The check's own time ran out, not the resolver's: unknown.
			return monitor.Result{}, ha.AsResourceError(ctx.Err())
		}
		d.log.DebugContext(ctx, "name did not resolve", "resolver", d.cfg.Resolver, "err", err)
		return crit(CodeDNSResolveFailed, dnsMsgResolveFailed)
	}
	for _, a := range addrs {
		if a.Unmap() == d.ip {
			return monitor.Result{Time: d.now(), Status: monitor.OK,
				Message: fmt.Sprintf("%s A %s is registered in hosted zone %s and resolves to it", d.cfg.Name, d.cfg.IP, d.zone)}, nil
		}
	}
	if len(addrs) == 0 {
		return crit(CodeDNSResolveFailed, dnsMsgResolveFailed)
	}
	d.log.DebugContext(ctx, "name resolves to other addresses", "resolver", d.cfg.Resolver, "addresses", addrs)
	return crit(CodeDNSResolveMismatch, dnsMsgResolveMismatch)
}

// record is the A record this node registers.
func (d *DNS) record() *types.ResourceRecordSet {
	return &types.ResourceRecordSet{
		Name:            sdkaws.String(d.cfg.Name),
		Type:            types.RRTypeA,
		TTL:             sdkaws.Int64(d.cfg.TTL),
		ResourceRecords: []types.ResourceRecord{{Value: sdkaws.String(d.cfg.IP)}},
	}
}

// change submits one change of rr, bounded by the per-call timeout.
func (d *DNS) change(ctx context.Context, action types.ChangeAction, rr *types.ResourceRecordSet) (*route53.ChangeResourceRecordSetsOutput, error) {
	cctx, cancel := d.c.call(ctx)
	defer cancel()
	return d.c.route53.ChangeResourceRecordSets(cctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: sdkaws.String(d.zone),
		ChangeBatch: &types.ChangeBatch{
			Comment: sdkaws.String("minato: " + strings.ToLower(string(action)) + " by the AWS DNS resource"),
			Changes: []types.Change{{Action: action, ResourceRecordSet: rr}},
		},
	})
}

// read returns the A record of the name, or nil when there is none.
func (d *DNS) read(ctx context.Context) (*types.ResourceRecordSet, error) {
	cctx, cancel := d.c.call(ctx)
	defer cancel()
	out, err := d.c.route53.ListResourceRecordSets(cctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId:    sdkaws.String(d.zone),
		StartRecordName: sdkaws.String(d.cfg.Name),
		StartRecordType: types.RRTypeA,
		MaxItems:        sdkaws.Int32(1),
	})
	if err != nil {
		return nil, err
	}
	for i := range out.ResourceRecordSets {
		rr := &out.ResourceRecordSets[i]
		if rr.Type == types.RRTypeA && dnsSameName(sdkaws.ToString(rr.Name), d.cfg.Name) {
			return rr, nil
		}
	}
	return nil, nil
}

// holdsOurs reports whether rr is a plain A record of exactly this node's
// address (no alias, no routing policy).
func (d *DNS) holdsOurs(rr *types.ResourceRecordSet) bool {
	if rr.AliasTarget != nil || rr.SetIdentifier != nil || len(rr.ResourceRecords) != 1 {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(sdkaws.ToString(rr.ResourceRecords[0].Value)))
	return err == nil && a.Unmap() == d.ip
}

// waitInSync polls GetChange until the change is INSYNC, InSyncTimeout
// passes or ctx ends.
func (d *DNS) waitInSync(ctx context.Context, ch *types.ChangeInfo) error {
	if ch.Status == types.ChangeStatusInsync {
		return nil
	}
	id := sdkaws.ToString(ch.Id)
	start := d.now()
	wctx, cancel := context.WithTimeout(ctx, d.cfg.InSyncTimeout)
	defer cancel()
	wait := d.pollMin
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var lastErr error
	for {
		select {
		case <-wctx.Done():
			return d.notInSync(ctx, id, start, lastErr)
		case <-timer.C:
		}
		cctx, ccancel := d.c.call(wctx)
		out, err := d.c.route53.GetChange(cctx, &route53.GetChangeInput{Id: sdkaws.String(id)})
		ccancel()
		switch {
		case err == nil && out.ChangeInfo != nil && out.ChangeInfo.Status == types.ChangeStatusInsync:
			d.log.DebugContext(ctx, "change in sync", "change", id, "after", d.now().Sub(start))
			return nil
		case err != nil && !unavailable(err):
			// Not allowed (the guide's policy has no route53:GetChange), or
			// an unknown change: waiting cannot tell more.
			d.log.WarnContext(ctx, "cannot learn whether the change reached every Route 53 server; not waiting for it (allow route53:GetChange to wait)",
				"change", id, "err", err)
			if d.cfg.RequireInSync {
				return apiError(err)
			}
			return nil
		case err != nil:
			lastErr = err
		}
		wait = min(wait*2, d.pollMax)
		timer.Reset(wait)
	}
}

// notInSync reports a change not INSYNC in time: a warning, or code 6
// with RequireInSync.
func (d *DNS) notInSync(ctx context.Context, id string, start time.Time, lastErr error) error {
	if d.cfg.RequireInSync {
		err := fmt.Errorf("change %s not INSYNC after %s: %w", id, d.now().Sub(start).Round(time.Millisecond), context.DeadlineExceeded)
		if lastErr != nil {
			err = fmt.Errorf("%w (last GetChange error: %w)", err, lastErr)
		}
		return &ha.ResourceError{Code: ha.CodeTimeout, Detail: detailTimeout, Err: err}
	}
	d.log.WarnContext(ctx, "change accepted but not yet on every Route 53 server; activation done, propagation goes on",
		"change", id, "waited", d.now().Sub(start).Round(time.Millisecond), "insync_timeout", d.cfg.InSyncTimeout, "last_err", lastErr)
	return nil
}

// dnsSameName compares two domain names as DNS does: case-insensitive,
// the trailing dot optional.
func dnsSameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// dnsValues lists a record's values for logs.
func dnsValues(rr *types.ResourceRecordSet) []string {
	if rr.AliasTarget != nil {
		return []string{"alias " + sdkaws.ToString(rr.AliasTarget.DNSName)}
	}
	vs := make([]string, 0, len(rr.ResourceRecords))
	for _, r := range rr.ResourceRecords {
		vs = append(vs, sdkaws.ToString(r.Value))
	}
	return vs
}
