package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// DefaultEIPVerifyTimeout is how long an Elastic IP activation waits, by
// default, for the association to read back (EC2 is eventually
// consistent).
const DefaultEIPVerifyTimeout = 10 * time.Second

// AWS error codes the Elastic IP resource treats as "already done" when
// it deactivates.
const (
	eipCodeAllocationNotFound  = "InvalidAllocationID.NotFound"
	eipCodeAssociationNotFound = "InvalidAssociationID.NotFound"
)

// EIPConfig is one node's view of CLUSTERPRO's AWS Elastic IP resource:
// the Elastic IP's allocation and this node's ENI. Durations are written
// "10s" in configuration files.
type EIPConfig struct {
	// AllocationID is the Elastic IP's allocation ID (eipalloc-…).
	AllocationID string `json:"allocation_id"`
	// ENI is this node's network interface the address is associated
	// with (eni-…; CLUSTERPRO's per-server ENI ID). Empty means the
	// instance's primary ENI, learnt from the instance metadata service
	// at first use.
	ENI string `json:"eni,omitempty"`
	// PrivateIP is the private IPv4 address of the ENI the Elastic IP
	// maps to; empty means the ENI's primary one (AWS's choice).
	PrivateIP string `json:"private_ip,omitempty"`
	// VerifyTimeout bounds the wait for the association to read back;
	// default 10 s.
	VerifyTimeout time.Duration `json:"verify_timeout,omitempty"`
}

// Validate reports every problem of c, joined, each naming its json
// field: allocation_id must be an allocation ID (eipalloc-…); eni, when
// set, an ENI ID; private_ip, when set, an IPv4 address; verify_timeout
// not negative.
func (c EIPConfig) Validate() error {
	var errs []error
	if err := vipCheckID(c.AllocationID, "eipalloc-", "an Elastic IP allocation ID such as eipalloc-0123456789abcdef0"); err != nil {
		errs = append(errs, fmt.Errorf("allocation_id: %w", err))
	}
	if c.ENI != "" {
		if err := vipCheckID(c.ENI, "eni-", "an ENI ID such as eni-0123456789abcdef0, or nothing for this instance's primary ENI"); err != nil {
			errs = append(errs, fmt.Errorf("eni: %w", err))
		}
	}
	if c.PrivateIP != "" {
		if ip, err := netip.ParseAddr(c.PrivateIP); err != nil || !ip.Is4() || ip.Zone() != "" {
			errs = append(errs, fmt.Errorf("private_ip: %q: want an IPv4 address of the ENI such as 10.0.10.10, or nothing for its primary one", c.PrivateIP))
		}
	}
	if c.VerifyTimeout < 0 {
		errs = append(errs, fmt.Errorf("verify_timeout: %s: want a duration of 0 (the default %s) or more", c.VerifyTimeout, DefaultEIPVerifyTimeout))
	}
	return errors.Join(errs...)
}

// EIP is CLUSTERPRO's AWS Elastic IP resource (awseip) with its monitor
// (awseipw) as an [ha.Resource]: clients on the Internet reach the active
// node at the Elastic IP because it is associated with the active node's
// ENI. Its methods are safe for concurrent use.
type EIP struct {
	c   *Clients
	cfg EIPConfig
	log *slog.Logger
	now func() time.Time

	mu  sync.Mutex
	eni string
}

var _ ha.Resource = (*EIP)(nil)

// NewEIP returns the Elastic IP resource cfg describes, calling AWS
// through c. It validates cfg ([EIPConfig.Validate]); it calls nothing.
func NewEIP(c *Clients, cfg EIPConfig, opts ...Option) (*EIP, error) {
	if c == nil {
		return nil, errors.New("aws: Elastic IP: no AWS clients (build them with Load)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws: Elastic IP: invalid config: %w", err)
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = DefaultEIPVerifyTimeout
	}
	o := buildOptions(opts)
	return &EIP{c: c, cfg: cfg, log: o.log.With("allocation", cfg.AllocationID), now: o.now, eni: cfg.ENI}, nil
}

// Config returns the resource's configuration with its defaults filled
// in (ENI stays empty when it is learnt from the instance metadata).
func (e *EIP) Config() EIPConfig { return e.cfg }

// ENI returns the ENI the address must be associated with: Config().ENI,
// or this instance's primary ENI from the instance metadata service
// (asked once, then remembered). Errors are *[ha.ResourceError]s.
func (e *EIP) ENI(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eni != "" {
		return e.eni, nil
	}
	id, in, err := imdsPrimaryENI(ctx, e.c)
	if err != nil {
		return "", err
	}
	e.eni = id
	e.log.Info("Elastic IP: this node's ENI learnt from the instance metadata", "eni", id, "instance", in)
	return e.eni, nil
}

// address returns the allocation's current state. An allocation AWS
// does not list is a *ha.ResourceError with AWS's text; other errors are
// AWS's.
func (e *EIP) address(ctx context.Context) (types.Address, error) {
	cctx, cancel := e.c.call(ctx)
	defer cancel()
	out, err := e.c.ec2.DescribeAddresses(cctx, &ec2.DescribeAddressesInput{AllocationIds: []string{e.cfg.AllocationID}})
	if err != nil {
		return types.Address{}, err
	}
	for _, a := range out.Addresses {
		if sdkaws.ToString(a.AllocationId) == e.cfg.AllocationID {
			return a, nil
		}
	}
	return types.Address{}, ha.Errorf(ha.CodeFailed, "The allocation ID '%s' does not exist", e.cfg.AllocationID)
}

// on reports whether a is associated with eni (and with the configured
// private IP, when there is one).
func (e *EIP) on(a types.Address, eni string) bool {
	return sdkaws.ToString(a.NetworkInterfaceId) == eni && sdkaws.ToString(a.AssociationId) != "" &&
		(e.cfg.PrivateIP == "" || sdkaws.ToString(a.PrivateIpAddress) == e.cfg.PrivateIP)
}

// eipWhere says where an address is associated, for messages and logs.
func eipWhere(a types.Address) string {
	if sdkaws.ToString(a.AssociationId) == "" {
		return "not associated"
	}
	w := "associated with " + sdkaws.ToString(a.NetworkInterfaceId)
	if ip := sdkaws.ToString(a.PrivateIpAddress); ip != "" {
		w += " (" + ip + ")"
	}
	return w
}

// Activate associates the Elastic IP with this node's ENI and returns
// once it reads back so:
//
//  1. DescribeAddresses of the allocation: an unknown one fails with
//     AWS's text (5 : The allocation ID 'eipalloc-…' does not exist).
//  2. DescribeNetworkInterfaces of the ENI: (5 : The networkInterface
//     ID 'eni-…' does not exist).
//  3. Already associated with the ENI (and the private IP, when one is
//     configured): nothing more.
//  4. AssociateAddress with AllowReassociation: one call moves the
//     address from the previous holder's ENI to this one, as Pacemaker's
//     awseip does. Disassociating first, as CLUSTERPRO describes its
//     failover, would leave the address on no instance between the two
//     calls (and, when the second fails, until the next activation);
//     reassociation has no such window, and the previous holder's own
//     deactivation leaves an address it no longer holds alone.
//  5. DescribeAddresses again until the association reads back, polling
//     from 200 ms with backoff, for at most VerifyTimeout; then (6 :
//     Timeout occurred.).
//
// The reads of steps 1 and 2 go out together; their failures are
// reported in that order. A deadline of ctx gives (6 : Timeout
// occurred.); other AWS failures give 5 with AWS's text. The epoch ctx carries is logged; EC2 cannot
// make the association conditional on it (the cluster's lease keeps two
// nodes from activating at once).
func (e *EIP) Activate(ctx context.Context, node inventory.Target) error {
	log := e.log
	if ep, ok := ha.EpochFrom(ctx); ok {
		log = log.With("epoch", uint64(ep))
	}
	eni, err := e.ENI(ctx)
	if err != nil {
		return err
	}
	log = log.With("eni", eni, "node", node.Name)
	// The two reads are independent: one round trip instead of two.
	var addr types.Address
	var addrErr, niErr error
	var wg sync.WaitGroup
	wg.Go(func() { addr, addrErr = e.address(ctx) })
	wg.Go(func() { _, niErr = vipDescribeENI(ctx, e.c, eni) })
	wg.Wait()
	if addrErr != nil {
		return apiError(addrErr)
	}
	if niErr != nil {
		return niErr
	}
	if e.on(addr, eni) {
		log.Debug("Elastic IP: already associated with this node's ENI", "public_ip", sdkaws.ToString(addr.PublicIp))
		return nil
	}
	in := &ec2.AssociateAddressInput{
		AllocationId:       sdkaws.String(e.cfg.AllocationID),
		NetworkInterfaceId: sdkaws.String(eni),
		AllowReassociation: sdkaws.Bool(true),
	}
	if e.cfg.PrivateIP != "" {
		in.PrivateIpAddress = sdkaws.String(e.cfg.PrivateIP)
	}
	cctx, cancel := e.c.call(ctx)
	_, err = e.c.ec2.AssociateAddress(cctx, in)
	cancel()
	if err != nil {
		return apiError(err)
	}
	log.Info("Elastic IP: associated with this node's ENI", "public_ip", sdkaws.ToString(addr.PublicIp), "was", eipWhere(addr))
	t0 := time.Now()
	return vipPoll(ctx, e.cfg.VerifyTimeout, fmt.Sprintf("the Elastic IP %s did not read back as associated with %s", e.cfg.AllocationID, eni), func(ctx context.Context) (bool, string, error) {
		a, err := e.address(ctx)
		if err != nil {
			return false, "", err
		}
		if !e.on(a, eni) {
			return false, "still " + eipWhere(a), nil
		}
		log.Info("Elastic IP: association verified", "verified_after", time.Since(t0).Round(time.Millisecond))
		return true, "", nil
	})
}

// Deactivate disassociates the Elastic IP when, and only when, it is
// associated with this node's ENI: an address already moved to another
// node (by its activation's reassociation) is never taken from it, and an
// address not associated, or an allocation that no longer exists, is
// already inactive here. The disassociation names the association ID this
// node read, so a reassociation that happens in between makes AWS answer
// that the association is gone (also success) instead of taking the
// address from the new holder.
func (e *EIP) Deactivate(ctx context.Context, node inventory.Target) error {
	eni, err := e.ENI(ctx)
	if err != nil {
		return err
	}
	log := e.log.With("eni", eni, "node", node.Name)
	addr, err := e.address(ctx)
	switch {
	case errorCode(err) == eipCodeAllocationNotFound:
		log.Warn("Elastic IP: the allocation does not exist; nothing to disassociate")
		return nil
	case err != nil:
		var re *ha.ResourceError
		if errors.As(err, &re) {
			log.Warn("Elastic IP: the allocation is not listed; nothing to disassociate")
			return nil
		}
		return apiError(err)
	}
	if sdkaws.ToString(addr.NetworkInterfaceId) != eni || sdkaws.ToString(addr.AssociationId) == "" {
		log.Debug("Elastic IP: not on this node's ENI; left as it is", "state", eipWhere(addr))
		return nil
	}
	cctx, cancel := e.c.call(ctx)
	_, err = e.c.ec2.DisassociateAddress(cctx, &ec2.DisassociateAddressInput{AssociationId: addr.AssociationId})
	cancel()
	switch {
	case errorCode(err) == eipCodeAssociationNotFound:
		log.Info("Elastic IP: the association was already gone")
		return nil
	case err != nil:
		return apiError(err)
	}
	log.Info("Elastic IP: disassociated from this node's ENI", "public_ip", sdkaws.ToString(addr.PublicIp))
	return nil
}

// Check is the AWS Elastic IP monitor (awseipw): OK when the allocation is
// associated with this node's ENI (and private IP, when configured);
// Critical, [CodeEIPNotAssociated], "The EIP address does not exist. (EIP
// ALLOCATION ID=<id>)" when it is not associated or is on another ENI.
// When AWS cannot be asked, or refuses (an unknown allocation included),
// Check returns the error as a *[ha.ResourceError], so the member's
// [ha.RecoveryPolicy].OnUnreachable decides, not a recovery. The Target is
// not used.
func (e *EIP) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	eni, err := e.ENI(ctx)
	if err != nil {
		return monitor.Result{}, err
	}
	addr, err := e.address(ctx)
	if err != nil {
		return monitor.Result{}, apiError(err)
	}
	if !e.on(addr, eni) {
		e.log.Warn("Elastic IP: not associated with this node's ENI", "eni", eni, "state", eipWhere(addr))
		return monitor.Result{Time: e.now(), Status: monitor.Critical, Code: CodeEIPNotAssociated,
			Message: fmt.Sprintf("The EIP address does not exist. (EIP ALLOCATION ID=%s)", e.cfg.AllocationID)}, nil
	}
	return monitor.Result{Time: e.now(), Status: monitor.OK,
		Message: fmt.Sprintf("The EIP address %s (EIP ALLOCATION ID=%s) is %s.", sdkaws.ToString(addr.PublicIp), e.cfg.AllocationID, eipWhere(addr))}, nil
}
