package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// DefaultVIPVerifyTimeout is how long a virtual IP activation waits, by
// default, for every re-pointed route to read back as pointing to this
// node's ENI (EC2 is eventually consistent).
const DefaultVIPVerifyTimeout = 10 * time.Second

// Read-back polling of activations: the first wait, doubled up to the
// last.
const (
	vipPollMin = 200 * time.Millisecond
	vipPollMax = 2 * time.Second
)

// vipReplaceParallel bounds the ReplaceRoute calls in flight at once.
const vipReplaceParallel = 8

// vipMaxPages bounds the pages of one DescribeRouteTables listing.
const vipMaxPages = 100

// VIPConfig is one node's view of CLUSTERPRO's AWS virtual IP resource:
// the address, the VPC whose route tables carry it, and this node's ENI.
// Durations are written "10s" in configuration files.
type VIPConfig struct {
	// IP is the virtual IPv4 address (10.1.0.20). It must lie outside
	// every CIDR block of the VPC; its routes are IP/32.
	IP string `json:"ip"`
	// VPC is the ID of the VPC the nodes are in (vpc-…).
	VPC string `json:"vpc"`
	// ENI is this node's network interface that the routes must lead
	// to (eni-…; CLUSTERPRO's per-server ENI ID). Empty means the
	// instance's primary ENI, learnt from the instance metadata service
	// at first use.
	ENI string `json:"eni,omitempty"`
	// Interface, when set, is the local network interface (eth0) the
	// virtual IP is added to as IP/32 while the resource is active, so
	// that this node accepts the traffic the routes bring. Empty leaves
	// local addresses alone: the node must then accept the address some
	// other way (it may sit on lo of every node at boot, since the routes
	// alone decide which node gets the traffic). Linux only.
	Interface string `json:"interface,omitempty"`
	// VerifyTimeout bounds the wait for the re-pointed routes to read
	// back; default 10 s.
	VerifyTimeout time.Duration `json:"verify_timeout,omitempty"`
}

// Validate reports every problem of c, joined, each naming its json
// field: ip must be a unicast IPv4 address (not loopback, link-local,
// multicast, 0.0.0.0 or 255.255.255.255) written without a prefix; vpc
// must be a VPC ID (vpc-…); eni, when set, an ENI ID (eni-…); interface,
// when set, a network interface name; verify_timeout not negative.
func (c VIPConfig) Validate() error {
	var errs []error
	if _, err := vipParseIP(c.IP); err != nil {
		errs = append(errs, fmt.Errorf("ip: %w", err))
	}
	if err := vipCheckID(c.VPC, "vpc-", "a VPC ID such as vpc-0123456789abcdef0"); err != nil {
		errs = append(errs, fmt.Errorf("vpc: %w", err))
	}
	if c.ENI != "" {
		if err := vipCheckID(c.ENI, "eni-", "an ENI ID such as eni-0123456789abcdef0, or nothing for this instance's primary ENI"); err != nil {
			errs = append(errs, fmt.Errorf("eni: %w", err))
		}
	}
	if c.Interface != "" && !vipIfNameOK(c.Interface) {
		errs = append(errs, fmt.Errorf("interface: %q: want a network interface name such as eth0 (1 to 15 characters, no '/', ':' or space)", c.Interface))
	}
	if c.VerifyTimeout < 0 {
		errs = append(errs, fmt.Errorf("verify_timeout: %s: want a duration of 0 (the default %s) or more", c.VerifyTimeout, DefaultVIPVerifyTimeout))
	}
	return errors.Join(errs...)
}

// vipParseIP parses a virtual IP: a unicast IPv4 address.
func vipParseIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() || ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q: want an IPv4 address such as 10.1.0.20, without a prefix (the route is always /32)", s)
	}
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsMulticast() || ip.IsLinkLocalUnicast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.Addr{}, fmt.Errorf("%q: want a unicast address (not 0.0.0.0, loopback, link-local, multicast or broadcast)", s)
	}
	return ip, nil
}

// vipCheckID checks an AWS resource ID: prefix then letters and digits.
func vipCheckID(id, prefix, want string) error {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(id) > 64 || strings.IndexFunc(rest, func(r rune) bool {
		return (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
	}) >= 0 {
		return fmt.Errorf("%q: want %s", id, want)
	}
	return nil
}

// vipIfNameOK reports whether s can name a Linux network interface.
func vipIfNameOK(s string) bool {
	return len(s) >= 1 && len(s) <= 15 && s != "." && s != ".." && !strings.ContainsAny(s, "/: \t\n\x00")
}

// vipLocal puts the virtual IP on, and takes it off, a local interface.
type vipLocal interface {
	add(ifname string, ip netip.Addr) error
	del(ifname string, ip netip.Addr) error
	has(ifname string, ip netip.Addr) (bool, error)
}

// VIP is CLUSTERPRO's AWS virtual IP resource (awsvip) with its monitor
// (awsvipw) as an [ha.Resource]: clients in the VPC reach the active node
// at an address outside the VPC's CIDR blocks because every route table
// of the VPC that holds a route for IP/32 leads it to the active node's
// ENI.
//
// In a VPC, routing is done by the route tables, not by ARP: the VPC
// router ignores gratuitous ARP, so none is sent. The ENIs need their
// Source/Dest. Check disabled, or the instance drops the traffic for the
// virtual IP (the activation succeeds but ping fails; Activate logs a
// warning when it sees the check enabled).
//
// Its methods are safe for concurrent use.
type VIP struct {
	c     *Clients
	cfg   VIPConfig
	ip    netip.Addr
	dest  string
	log   *slog.Logger
	now   func() time.Time
	local vipLocal

	mu  sync.Mutex
	eni string
}

var _ ha.Resource = (*VIP)(nil)

// NewVIP returns the virtual IP resource cfg describes, calling AWS
// through c. It validates cfg ([VIPConfig.Validate]) and refuses an
// Interface where local addresses are not supported (other than Linux);
// it calls nothing.
func NewVIP(c *Clients, cfg VIPConfig, opts ...Option) (*VIP, error) {
	if c == nil {
		return nil, errors.New("aws: virtual IP: no AWS clients (build them with Load)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws: virtual IP: invalid config: %w", err)
	}
	if cfg.Interface != "" && !vipLocalSupported {
		return nil, fmt.Errorf("aws: virtual IP: interface: %w", vipOSLocal{}.del(cfg.Interface, netip.Addr{}))
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = DefaultVIPVerifyTimeout
	}
	ip, _ := vipParseIP(cfg.IP)
	o := buildOptions(opts)
	return &VIP{
		c: c, cfg: cfg, ip: ip, dest: ip.String() + "/32",
		log:   o.log.With("vip", ip.String(), "vpc", cfg.VPC),
		now:   o.now,
		local: vipOSLocal{},
		eni:   cfg.ENI,
	}, nil
}

// Config returns the resource's configuration with its defaults filled
// in (ENI stays empty when it is learnt from the instance metadata).
func (v *VIP) Config() VIPConfig { return v.cfg }

// ENI returns the ENI the routes must lead to: Config().ENI, or this
// instance's primary ENI from the instance metadata service (asked once,
// then remembered). Errors are *[ha.ResourceError]s.
func (v *VIP) ENI(ctx context.Context) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.eni != "" {
		return v.eni, nil
	}
	id, in, err := imdsPrimaryENI(ctx, v.c)
	if err != nil {
		return "", err
	}
	v.eni = id
	v.log.Info("virtual IP: this node's ENI learnt from the instance metadata", "eni", id, "instance", in)
	return v.eni, nil
}

// vipRoute is one IP/32 route of a route table of the VPC.
type vipRoute struct {
	table  string
	target string // the ENI, or another target (a gateway, an instance) for messages
	eni    string
	state  types.RouteState
}

// ok reports whether the route leads to eni.
func (r vipRoute) ok(eni string) bool {
	return r.eni == eni && r.state != types.RouteStateBlackhole
}

// describe says where the route leads, for messages.
func (r vipRoute) describe() string {
	t := r.target
	if t == "" {
		t = "nothing"
	}
	if r.state == types.RouteStateBlackhole {
		t += " (blackhole)"
	}
	return r.table + " → " + t
}

// Activate makes every route for IP/32 in the VPC's route tables lead to
// this node's ENI and returns once they read back so. In order:
//
//  1. DescribeVpcs of the VPC: an unknown one fails with AWS's text
//     (5 : The vpc ID 'vpc-…' does not exist).
//  2. DescribeNetworkInterfaces of the ENI: (5 : The networkInterface ID
//     'eni-…' does not exist); an ENI of another VPC is refused (5).
//  3. The virtual IP inside any CIDR block of the VPC (primary or
//     associated) fails with (7 : The VIP address <ip> belongs to a VPC
//     subnet.), and no route is touched.
//  4. With Interface set, IP/32 is added to it, before the routes move,
//     so that the first packets they bring are accepted.
//  5. DescribeRouteTables filtered by the VPC: every table holding a
//     route for IP/32 that does not lead to the ENI (another ENI, a
//     blackhole) gets a ReplaceRoute to it, the tables in parallel.
//     Tables without such a route are not touched: as in CLUSTERPRO, the
//     routes must exist beforehand (the resource re-points them, it does
//     not create them), and a VPC where no table holds one fails with 5.
//     A refused ReplaceRoute fails with (5 : You are not authorized to
//     perform this operation.); the tables refused are in the error's
//     Err and the log, since the IAM policy must list every table that
//     holds the route.
//  6. The routes are read back until all lead to the ENI, polling from
//     200 ms with backoff, for at most VerifyTimeout (EC2 is eventually
//     consistent); then (6 : Timeout occurred.).
//
// The reads of steps 1, 2 and 5 go out together (one round trip to AWS
// instead of three); their failures are reported in the order above.
// Routes that already lead to the ENI cost no write: activating an active
// resource makes these three reads and nothing more. A deadline of ctx
// gives (6 : Timeout occurred.). The epoch ctx carries ([ha.EpochFrom])
// is logged; EC2 cannot make a write conditional on it, so the cluster's
// lease, not this resource, keeps two nodes from re-pointing at once.
func (v *VIP) Activate(ctx context.Context, node inventory.Target) error {
	log := v.log
	if e, ok := ha.EpochFrom(ctx); ok {
		log = log.With("epoch", uint64(e))
	}
	eni, err := v.ENI(ctx)
	if err != nil {
		return err
	}
	log = log.With("eni", eni, "node", node.Name)
	// The three reads are independent: one round trip instead of three.
	var (
		vpcs         *ec2.DescribeVpcsOutput
		ni           types.NetworkInterface
		routes       []vipRoute
		vpcErr       error
		niErr, rtErr error
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		cctx, cancel := v.c.call(ctx)
		defer cancel()
		vpcs, vpcErr = v.c.ec2.DescribeVpcs(cctx, &ec2.DescribeVpcsInput{VpcIds: []string{v.cfg.VPC}})
	})
	wg.Go(func() { ni, niErr = vipDescribeENI(ctx, v.c, eni) })
	wg.Go(func() { routes, rtErr = v.routes(ctx) })
	wg.Wait()
	if err := v.validate(log, eni, vpcs, vpcErr, ni, niErr); err != nil {
		return err
	}
	if v.cfg.Interface != "" {
		if err := v.local.add(v.cfg.Interface, v.ip); err != nil {
			return &ha.ResourceError{Code: ha.CodeFailed, Detail: fmt.Sprintf("Could not add the VIP address %s to interface %s of the own server: %v", v.ip, v.cfg.Interface, err), Err: err}
		}
	}
	if rtErr != nil {
		return apiError(rtErr)
	}
	if len(routes) == 0 {
		return ha.Errorf(ha.CodeFailed, "None of the route tables of %s has a route for %s. As in CLUSTERPRO, add it beforehand to every route table whose clients use the VIP (to any cluster node's ENI): the AWS virtual IP resource re-points it, it does not create it.", v.cfg.VPC, v.dest)
	}
	var todo []vipRoute
	for _, r := range routes {
		if !r.ok(eni) {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		log.Debug("virtual IP: every route already leads to this node's ENI", "tables", vipTables(routes))
		return nil
	}
	if err := v.replace(ctx, log, eni, todo); err != nil {
		return err
	}
	return v.verify(ctx, log, eni)
}

// validate checks the answers about the VPC and the ENI, and the virtual
// IP against the VPC's CIDR blocks (steps 1-3 of Activate).
func (v *VIP) validate(log *slog.Logger, eni string, vpcs *ec2.DescribeVpcsOutput, vpcErr error, ni types.NetworkInterface, niErr error) error {
	if vpcErr != nil {
		return apiError(vpcErr)
	}
	if vpcs == nil {
		vpcs = &ec2.DescribeVpcsOutput{}
	}
	var vpc *types.Vpc
	for i := range vpcs.Vpcs {
		if sdkaws.ToString(vpcs.Vpcs[i].VpcId) == v.cfg.VPC {
			vpc = &vpcs.Vpcs[i]
		}
	}
	if vpc == nil {
		return ha.Errorf(ha.CodeFailed, "The vpc ID '%s' does not exist", v.cfg.VPC)
	}
	if niErr != nil {
		return niErr
	}
	if got := sdkaws.ToString(ni.VpcId); got != "" && got != v.cfg.VPC {
		return ha.Errorf(ha.CodeFailed, "The networkInterface ID '%s' belongs to %s, not to %s.", eni, got, v.cfg.VPC)
	}
	if sdkaws.ToBool(ni.SourceDestCheck) {
		log.Warn("virtual IP: the ENI has its Source/Dest. Check enabled: the routes will lead the VIP's traffic to it, but the instance will drop it (ping to the VIP fails); disable the check on the ENI")
	}
	if cidr, ok := vipInVPC(vpc, v.ip); ok {
		return &ha.ResourceError{Code: CodeVIPInVPC, Detail: fmt.Sprintf("The VIP address %s belongs to a VPC subnet.", v.ip),
			Err: fmt.Errorf("%s is inside %s, a CIDR block of %s: choose an address outside every CIDR block of the VPC", v.ip, cidr, v.cfg.VPC)}
	}
	return nil
}

// vipDescribeENI returns the ENI, or a *ha.ResourceError with AWS's text.
func vipDescribeENI(ctx context.Context, c *Clients, eni string) (types.NetworkInterface, error) {
	cctx, cancel := c.call(ctx)
	out, err := c.ec2.DescribeNetworkInterfaces(cctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	cancel()
	if err != nil {
		return types.NetworkInterface{}, apiError(err)
	}
	for _, ni := range out.NetworkInterfaces {
		if sdkaws.ToString(ni.NetworkInterfaceId) == eni {
			return ni, nil
		}
	}
	return types.NetworkInterface{}, ha.Errorf(ha.CodeFailed, "The networkInterface ID '%s' does not exist", eni)
}

// vipInVPC returns the VPC's IPv4 CIDR block (primary or associated, not
// disassociated) that contains ip, if any.
func vipInVPC(vpc *types.Vpc, ip netip.Addr) (string, bool) {
	blocks := []string{sdkaws.ToString(vpc.CidrBlock)}
	for _, a := range vpc.CidrBlockAssociationSet {
		if a.CidrBlockState != nil {
			switch a.CidrBlockState.State {
			case types.VpcCidrBlockStateCodeDisassociated, types.VpcCidrBlockStateCodeFailed:
				continue
			}
		}
		blocks = append(blocks, sdkaws.ToString(a.CidrBlock))
	}
	for _, b := range blocks {
		if p, err := netip.ParsePrefix(b); err == nil && p.Contains(ip) {
			return p.String(), true
		}
	}
	return "", false
}

// routes lists the IP/32 routes of the VPC's route tables.
func (v *VIP) routes(ctx context.Context) ([]vipRoute, error) {
	in := &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: sdkaws.String("vpc-id"), Values: []string{v.cfg.VPC}},
		{Name: sdkaws.String("route.destination-cidr-block"), Values: []string{v.dest}},
	}}
	var out []vipRoute
	for range vipMaxPages {
		cctx, cancel := v.c.call(ctx)
		page, err := v.c.ec2.DescribeRouteTables(cctx, in)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, rt := range page.RouteTables {
			if id := sdkaws.ToString(rt.VpcId); id != "" && id != v.cfg.VPC {
				continue // a table of another VPC: never touched
			}
			for _, r := range rt.Routes {
				if sdkaws.ToString(r.DestinationCidrBlock) != v.dest {
					continue
				}
				out = append(out, vipRoute{table: sdkaws.ToString(rt.RouteTableId), target: vipTarget(r), eni: sdkaws.ToString(r.NetworkInterfaceId), state: r.State})
			}
		}
		next := sdkaws.ToString(page.NextToken)
		if next == "" || next == sdkaws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = sdkaws.String(next)
	}
	return out, nil
}

// vipTarget names where a route leads.
func vipTarget(r types.Route) string {
	for _, s := range []*string{r.NetworkInterfaceId, r.InstanceId, r.GatewayId, r.NatGatewayId, r.TransitGatewayId, r.VpcPeeringConnectionId, r.LocalGatewayId, r.CarrierGatewayId, r.EgressOnlyInternetGatewayId} {
		if t := sdkaws.ToString(s); t != "" {
			return t
		}
	}
	return ""
}

// vipTables lists the tables of routes, for messages and logs.
func vipTables(routes []vipRoute) string {
	var t []string
	for _, r := range routes {
		t = append(t, r.table)
	}
	return strings.Join(t, ", ")
}

// replace re-points the routes to eni, the tables in parallel, and
// returns the first failure worded for the operator (an authorisation
// failure first: it is the one the IAM policy fixes).
func (v *VIP) replace(ctx context.Context, log *slog.Logger, eni string, todo []vipRoute) error {
	errs := make([]error, len(todo))
	var g errgroup.Group
	g.SetLimit(vipReplaceParallel)
	for i, r := range todo {
		g.Go(func() error {
			cctx, cancel := v.c.call(ctx)
			defer cancel()
			_, err := v.c.ec2.ReplaceRoute(cctx, &ec2.ReplaceRouteInput{
				RouteTableId:         sdkaws.String(r.table),
				DestinationCidrBlock: sdkaws.String(v.dest),
				NetworkInterfaceId:   sdkaws.String(eni),
			})
			if err != nil {
				errs[i] = err
				log.Warn("virtual IP: ReplaceRoute failed", "table", r.table, "aws_code", errorCode(err), "err", err)
				return nil
			}
			log.Info("virtual IP: route re-pointed", "table", r.table, "from", r.describe())
			return nil
		})
	}
	_ = g.Wait()
	var denied, failed []string
	var firstDenied, first error
	for i, err := range errs {
		if err == nil {
			continue
		}
		if apiError(err).Detail == detailUnauthorized {
			denied = append(denied, todo[i].table)
			firstDenied = vipFirstErr(firstDenied, err)
			continue
		}
		failed = append(failed, todo[i].table)
		first = vipFirstErr(first, err)
	}
	switch {
	case len(denied) > 0:
		return &ha.ResourceError{Code: ha.CodeFailed, Detail: detailUnauthorized,
			Err: fmt.Errorf("ReplaceRoute of %s refused in route tables %s: the IAM policy must allow ec2:ReplaceRoute on every route table of %s that holds the route: %w",
				v.dest, strings.Join(denied, ", "), v.cfg.VPC, firstDenied)}
	case len(failed) > 0:
		re := apiError(first)
		return &ha.ResourceError{Code: re.Code, Detail: re.Detail, Err: fmt.Errorf("ReplaceRoute of %s failed in route tables %s: %w", v.dest, strings.Join(failed, ", "), first)}
	}
	return nil
}

// vipFirstErr returns a when it is set, else b.
func vipFirstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// verify reads the routes back until all lead to eni, within
// VerifyTimeout and ctx.
func (v *VIP) verify(ctx context.Context, log *slog.Logger, eni string) error {
	t0 := time.Now()
	return vipPoll(ctx, v.cfg.VerifyTimeout, fmt.Sprintf("routes for %s did not all read back as leading to %s", v.dest, eni), func(ctx context.Context) (bool, string, error) {
		routes, err := v.routes(ctx)
		if err != nil {
			return false, "", err
		}
		if len(routes) == 0 {
			return false, "no route for " + v.dest + " is left", nil
		}
		var wrong []string
		for _, r := range routes {
			if !r.ok(eni) {
				wrong = append(wrong, r.describe())
			}
		}
		if len(wrong) > 0 {
			return false, "still " + strings.Join(wrong, ", "), nil
		}
		log.Info("virtual IP: every route leads to this node's ENI", "tables", vipTables(routes), "verified_after", time.Since(t0).Round(time.Millisecond))
		return true, "", nil
	})
}

// vipPoll calls probe until it reports done, polling from 200 ms with
// backoff, for at most timeout and within ctx. A probe error that means
// AWS did not answer is retried; another one ends the wait with its
// *ha.ResourceError. The end of the wait gives (6 : Timeout occurred.),
// its Err saying what (and how things last stood).
func vipPoll(ctx context.Context, timeout time.Duration, what string, probe func(context.Context) (done bool, state string, err error)) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	delay := vipPollMin
	last := "no answer yet"
	for {
		done, state, err := probe(pctx)
		switch {
		case err != nil && pctx.Err() == nil && !unavailable(err):
			return apiError(err)
		case err != nil:
			last = "the last read failed: " + err.Error()
		case done:
			return nil
		default:
			last = state
		}
		select {
		case <-pctx.Done():
			if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return apiError(err)
			}
			return &ha.ResourceError{Code: ha.CodeTimeout, Detail: detailTimeout,
				Err: fmt.Errorf("%s within %s (%s): %w", what, time.Since(t0).Round(time.Millisecond), last, context.DeadlineExceeded)}
		case <-time.After(delay):
		}
		delay = min(2*delay, vipPollMax)
	}
}

// Deactivate takes the virtual IP off the local interface, when one is
// configured; an address already gone is not an error. The routes stay
// as they are, as Pacemaker's aws-vpc-move-ip leaves them: the next
// holder re-points them, and removing them would cut the VIP for every
// client until then, while leaving them costs nothing (this node no
// longer accepts the address). Deactivate makes no AWS call.
func (v *VIP) Deactivate(ctx context.Context, node inventory.Target) error {
	if v.cfg.Interface == "" {
		return nil
	}
	if err := v.local.del(v.cfg.Interface, v.ip); err != nil {
		return &ha.ResourceError{Code: ha.CodeFailed, Detail: fmt.Sprintf("Could not remove the VIP address %s from interface %s of the own server: %v", v.ip, v.cfg.Interface, err), Err: err}
	}
	v.log.Info("virtual IP: removed from the local interface", "interface", v.cfg.Interface, "node", node.Name)
	return nil
}

// Check is the AWS virtual IP monitor (awsvipw). It reads the VPC's
// route tables and, with Interface set, the local interface:
//
//   - a route for IP/32 that leads elsewhere (another ENI, a blackhole),
//     or no such route left in any table: Critical,
//     [CodeVIPRouteChanged], "The routing for VIP <ip> was changed.";
//   - the virtual IP missing from the interface: Critical,
//     [CodeVIPNotLocal], "The VIP address <ip> does not exist on the own
//     server." (reported even while AWS cannot be asked);
//   - otherwise OK, naming the tables.
//
// When AWS cannot be asked, or refuses, Check returns the error as a
// *[ha.ResourceError] (5 with AWS's text or "Failed in the AWS CLI
// command.", 6 "Timeout occurred."), so the member's
// [ha.RecoveryPolicy].OnUnreachable decides (a warning 105 or 106 by
// default), not a recovery. The Target is not used.
func (v *VIP) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	eni, err := v.ENI(ctx)
	if err != nil {
		return monitor.Result{}, err
	}
	var localMissing string
	if v.cfg.Interface != "" {
		ok, err := v.local.has(v.cfg.Interface, v.ip)
		switch {
		case err != nil:
			localMissing = err.Error()
		case !ok:
			localMissing = "not an address of interface " + v.cfg.Interface
		}
	}
	notLocal := monitor.Result{Time: v.now(), Status: monitor.Critical, Code: CodeVIPNotLocal,
		Message: fmt.Sprintf("The VIP address %s does not exist on the own server.", v.ip)}
	routes, err := v.routes(ctx)
	if err != nil {
		if localMissing != "" {
			v.log.Warn("virtual IP: missing on the own server", "reason", localMissing)
			return notLocal, nil
		}
		return monitor.Result{}, apiError(err)
	}
	var wrong []string
	for _, r := range routes {
		if !r.ok(eni) {
			wrong = append(wrong, r.describe())
		}
	}
	if len(routes) == 0 || len(wrong) > 0 {
		if len(routes) == 0 {
			wrong = []string{"no route for " + v.dest + " in any route table of " + v.cfg.VPC}
		}
		v.log.Warn("virtual IP: routing changed", "eni", eni, "wrong", strings.Join(wrong, ", "))
		return monitor.Result{Time: v.now(), Status: monitor.Critical, Code: CodeVIPRouteChanged,
			Message: fmt.Sprintf("The routing for VIP %s was changed.", v.ip)}, nil
	}
	if localMissing != "" {
		v.log.Warn("virtual IP: missing on the own server", "reason", localMissing)
		return notLocal, nil
	}
	msg := fmt.Sprintf("The routing for VIP %s leads to %s in %s.", v.ip, eni, vipTables(vipSorted(routes)))
	if v.cfg.Interface != "" {
		msg += fmt.Sprintf(" The VIP address is on interface %s.", v.cfg.Interface)
	}
	return monitor.Result{Time: v.now(), Status: monitor.OK, Message: msg}, nil
}

// vipSorted returns routes sorted by table.
func vipSorted(routes []vipRoute) []vipRoute {
	s := slices.Clone(routes)
	slices.SortFunc(s, func(a, b vipRoute) int { return strings.Compare(a.table, b.table) })
	return s
}
