package aws

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/monitor"
)

// fakeEC2 is a function-field fake of ec2API: each call is recorded
// ("ReplaceRoute rtb-1 10.1.0.20/32 eni-B") and answered by its field; a
// nil field answers an error naming the unexpected call.
type fakeEC2 struct {
	mu    sync.Mutex
	calls []string

	describeVpcs              func(context.Context, *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error)
	describeNetworkInterfaces func(context.Context, *ec2.DescribeNetworkInterfacesInput) (*ec2.DescribeNetworkInterfacesOutput, error)
	describeRouteTables       func(context.Context, *ec2.DescribeRouteTablesInput) (*ec2.DescribeRouteTablesOutput, error)
	replaceRoute              func(context.Context, *ec2.ReplaceRouteInput) (*ec2.ReplaceRouteOutput, error)
	describeAddresses         func(context.Context, *ec2.DescribeAddressesInput) (*ec2.DescribeAddressesOutput, error)
	associateAddress          func(context.Context, *ec2.AssociateAddressInput) (*ec2.AssociateAddressOutput, error)
	disassociateAddress       func(context.Context, *ec2.DisassociateAddressInput) (*ec2.DisassociateAddressOutput, error)
	describeAvailabilityZones func(context.Context, *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error)
}

var _ ec2API = (*fakeEC2)(nil)

func (f *fakeEC2) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

// called returns the recorded calls whose text starts with prefix.
func (f *fakeEC2) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeEC2) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func ec2FakeUnexpected(op string) error { return fmt.Errorf("fake EC2: unexpected call %s", op) }

func (f *fakeEC2) DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	f.record("DescribeVpcs " + strings.Join(in.VpcIds, ","))
	if f.describeVpcs == nil {
		return nil, ec2FakeUnexpected("DescribeVpcs")
	}
	return f.describeVpcs(ctx, in)
}

func (f *fakeEC2) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	f.record("DescribeNetworkInterfaces " + strings.Join(in.NetworkInterfaceIds, ","))
	if f.describeNetworkInterfaces == nil {
		return nil, ec2FakeUnexpected("DescribeNetworkInterfaces")
	}
	return f.describeNetworkInterfaces(ctx, in)
}

func (f *fakeEC2) DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, _ ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	f.record("DescribeRouteTables")
	if f.describeRouteTables == nil {
		return nil, ec2FakeUnexpected("DescribeRouteTables")
	}
	return f.describeRouteTables(ctx, in)
}

func (f *fakeEC2) ReplaceRoute(ctx context.Context, in *ec2.ReplaceRouteInput, _ ...func(*ec2.Options)) (*ec2.ReplaceRouteOutput, error) {
	f.record(fmt.Sprintf("ReplaceRoute %s %s %s", sdkaws.ToString(in.RouteTableId), sdkaws.ToString(in.DestinationCidrBlock), sdkaws.ToString(in.NetworkInterfaceId)))
	if f.replaceRoute == nil {
		return nil, ec2FakeUnexpected("ReplaceRoute")
	}
	return f.replaceRoute(ctx, in)
}

func (f *fakeEC2) DescribeAddresses(ctx context.Context, in *ec2.DescribeAddressesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error) {
	f.record("DescribeAddresses " + strings.Join(in.AllocationIds, ","))
	if f.describeAddresses == nil {
		return nil, ec2FakeUnexpected("DescribeAddresses")
	}
	return f.describeAddresses(ctx, in)
}

func (f *fakeEC2) AssociateAddress(ctx context.Context, in *ec2.AssociateAddressInput, _ ...func(*ec2.Options)) (*ec2.AssociateAddressOutput, error) {
	f.record(fmt.Sprintf("AssociateAddress %s %s reassoc=%v", sdkaws.ToString(in.AllocationId), sdkaws.ToString(in.NetworkInterfaceId), sdkaws.ToBool(in.AllowReassociation)))
	if f.associateAddress == nil {
		return nil, ec2FakeUnexpected("AssociateAddress")
	}
	return f.associateAddress(ctx, in)
}

func (f *fakeEC2) DisassociateAddress(ctx context.Context, in *ec2.DisassociateAddressInput, _ ...func(*ec2.Options)) (*ec2.DisassociateAddressOutput, error) {
	f.record("DisassociateAddress " + sdkaws.ToString(in.AssociationId))
	if f.disassociateAddress == nil {
		return nil, ec2FakeUnexpected("DisassociateAddress")
	}
	return f.disassociateAddress(ctx, in)
}

func (f *fakeEC2) DescribeAvailabilityZones(ctx context.Context, in *ec2.DescribeAvailabilityZonesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	f.record("DescribeAvailabilityZones " + strings.Join(in.ZoneNames, ","))
	if f.describeAvailabilityZones == nil {
		return nil, ec2FakeUnexpected("DescribeAvailabilityZones")
	}
	return f.describeAvailabilityZones(ctx, in)
}

func (f *fakeEC2) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.record("DescribeInstances")
	return nil, ec2FakeUnexpected("DescribeInstances")
}

func (f *fakeEC2) StopInstances(context.Context, *ec2.StopInstancesInput, ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	f.record("StopInstances")
	return nil, ec2FakeUnexpected("StopInstances")
}

// ec2FakeErr is an error as the SDK returns an AWS error answer.
func ec2FakeErr(op, code, msg string) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: op,
		Err: &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}}
}

// imdsFake is a function-field fake of imdsAPI: metadata items by path,
// or err for every call.
type imdsFake struct {
	mu    sync.Mutex
	items map[string]string
	err   error
	calls int
}

var _ imdsAPI = (*imdsFake)(nil)

func (f *imdsFake) GetMetadata(_ context.Context, in *imds.GetMetadataInput, _ ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.items[in.Path]
	if !ok {
		return nil, &smithy.OperationError{ServiceID: "ec2imds", OperationName: "GetMetadata", Err: &imdsStatusErr{404}}
	}
	return &imds.GetMetadataOutput{Content: io.NopCloser(strings.NewReader(v))}, nil
}

func (f *imdsFake) GetRegion(context.Context, *imds.GetRegionInput, ...func(*imds.Options)) (*imds.GetRegionOutput, error) {
	return nil, fmt.Errorf("fake IMDS: GetRegion not expected")
}

// imdsItems are the metadata of instance i-B in ap-northeast-1c with
// its primary ENI eni-B and a second ENI eni-B2.
func imdsItems() map[string]string {
	return map[string]string{
		"instance-id":                 "i-B",
		"placement/availability-zone": "ap-northeast-1c",
		"placement/region":            "ap-northeast-1",
		"local-ipv4":                  "10.0.120.10",
		"network/interfaces/macs/":    "0a:00:00:00:00:02/\n0a:00:00:00:00:01/",
		"network/interfaces/macs/0a:00:00:00:00:01/interface-id":  "eni-B",
		"network/interfaces/macs/0a:00:00:00:00:01/device-number": "0",
		"network/interfaces/macs/0a:00:00:00:00:01/subnet-id":     "subnet-2b",
		"network/interfaces/macs/0a:00:00:00:00:01/vpc-id":        "vpc-1",
		"network/interfaces/macs/0a:00:00:00:00:01/local-ipv4s":   "10.0.120.10\n10.0.120.11",
		"network/interfaces/macs/0a:00:00:00:00:02/interface-id":  "eni-B2",
		"network/interfaces/macs/0a:00:00:00:00:02/device-number": "1",
		"network/interfaces/macs/0a:00:00:00:00:02/subnet-id":     "subnet-2b",
		"network/interfaces/macs/0a:00:00:00:00:02/vpc-id":        "vpc-1",
		"network/interfaces/macs/0a:00:00:00:00:02/local-ipv4s":   "10.0.120.20",
	}
}

// ec2World is a small EC2 state behind a fakeEC2: VPCs with CIDRs, ENIs,
// route tables, addresses, zones. Its install method fills the fake's
// fields with handlers that read and change it.
type ec2World struct {
	mu     sync.Mutex
	vpcs   map[string][]string      // vpc → CIDR blocks (the first is the primary)
	enis   map[string]string        // eni → vpc
	sdc    map[string]bool          // eni → Source/Dest. Check on
	tables map[string]*ec2FakeTable // by ID
	addrs  map[string]*ec2FakeAddr  // by allocation ID
	zones  map[string]types.AvailabilityZone
	assoc  int
	// staleReads, when > 0, makes that many route-table or address
	// reads after a write answer the state before it.
	staleReads int
	stale      map[string]map[string]string // table → routes before the last write
	staleAddr  map[string]ec2FakeAddr
}

type ec2FakeTable struct {
	vpc    string
	routes map[string]string // destination → ENI ("" blackhole; "eni-x!" blackhole to eni-x)
}

type ec2FakeAddr struct {
	publicIP, eni, privateIP, assoc string
}

func newEC2World() *ec2World {
	return &ec2World{
		vpcs:   map[string][]string{},
		enis:   map[string]string{},
		sdc:    map[string]bool{},
		tables: map[string]*ec2FakeTable{},
		addrs:  map[string]*ec2FakeAddr{},
		zones:  map[string]types.AvailabilityZone{},
	}
}

// vipWorld is the guide's VIP example: vpc-1 10.0.0.0/16 with the route
// tables Public-AB, Private-A and Private-B holding 10.1.0.20/32 → eni-A,
// rtb-x without it, and vpc-2's rtb-other holding it too; ENIs eni-A and
// eni-B in vpc-1 and eni-C in vpc-2.
func vipWorld() *ec2World {
	w := newEC2World()
	w.vpcs["vpc-1"] = []string{"10.0.0.0/16"}
	w.vpcs["vpc-2"] = []string{"10.9.0.0/16"}
	w.enis["eni-A"], w.enis["eni-B"], w.enis["eni-C"] = "vpc-1", "vpc-1", "vpc-2"
	for _, id := range []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"} {
		w.tables[id] = &ec2FakeTable{vpc: "vpc-1", routes: map[string]string{"10.0.0.0/16": "local", "10.1.0.20/32": "eni-A"}}
	}
	w.tables["rtb-x"] = &ec2FakeTable{vpc: "vpc-1", routes: map[string]string{"10.0.0.0/16": "local"}}
	w.tables["rtb-other"] = &ec2FakeTable{vpc: "vpc-2", routes: map[string]string{"10.9.0.0/16": "local", "10.1.0.20/32": "eni-C"}}
	return w
}

func (w *ec2World) route(table, dest string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tables[table].routes[dest]
}

func (w *ec2World) setRoute(table, dest, eni string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tables[table].routes[dest] = eni
}

func (w *ec2World) setStale(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.staleReads = n
}

// install makes f answer from w. The route-table listing ignores the
// filters on purpose (the resource must check the VPC itself), except
// that it answers in pages of two tables.
func (w *ec2World) install(f *fakeEC2) {
	f.describeVpcs = func(_ context.Context, in *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		out := &ec2.DescribeVpcsOutput{}
		for _, id := range in.VpcIds {
			cidrs, ok := w.vpcs[id]
			if !ok {
				return nil, ec2FakeErr("DescribeVpcs", "InvalidVpcID.NotFound", fmt.Sprintf("The vpc ID '%s' does not exist", id))
			}
			v := types.Vpc{VpcId: sdkaws.String(id), CidrBlock: sdkaws.String(cidrs[0])}
			for _, c := range cidrs {
				v.CidrBlockAssociationSet = append(v.CidrBlockAssociationSet, types.VpcCidrBlockAssociation{CidrBlock: sdkaws.String(c), CidrBlockState: &types.VpcCidrBlockState{State: types.VpcCidrBlockStateCodeAssociated}})
			}
			out.Vpcs = append(out.Vpcs, v)
		}
		return out, nil
	}
	f.describeNetworkInterfaces = func(_ context.Context, in *ec2.DescribeNetworkInterfacesInput) (*ec2.DescribeNetworkInterfacesOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		out := &ec2.DescribeNetworkInterfacesOutput{}
		for _, id := range in.NetworkInterfaceIds {
			vpc, ok := w.enis[id]
			if !ok {
				return nil, ec2FakeErr("DescribeNetworkInterfaces", "InvalidNetworkInterfaceID.NotFound", fmt.Sprintf("The networkInterface ID '%s' does not exist", id))
			}
			out.NetworkInterfaces = append(out.NetworkInterfaces, types.NetworkInterface{NetworkInterfaceId: sdkaws.String(id), VpcId: sdkaws.String(vpc), SourceDestCheck: sdkaws.Bool(w.sdc[id])})
		}
		return out, nil
	}
	f.describeRouteTables = func(_ context.Context, in *ec2.DescribeRouteTablesInput) (*ec2.DescribeRouteTablesOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		ids := slices.Sorted(maps.Keys(w.tables))
		start := 0
		if t := sdkaws.ToString(in.NextToken); t != "" {
			fmt.Sscanf(t, "page-%d", &start)
		}
		end := min(start+2, len(ids))
		out := &ec2.DescribeRouteTablesOutput{}
		stale := w.staleReads > 0 && w.stale != nil
		for _, id := range ids[start:end] {
			t := w.tables[id]
			routes := t.routes
			if stale && w.stale[id] != nil {
				routes = w.stale[id]
			}
			rt := types.RouteTable{RouteTableId: sdkaws.String(id), VpcId: sdkaws.String(t.vpc)}
			for _, d := range slices.Sorted(maps.Keys(routes)) {
				r := types.Route{DestinationCidrBlock: sdkaws.String(d), State: types.RouteStateActive}
				switch target := routes[d]; {
				case target == "local":
					r.GatewayId = sdkaws.String("local")
				case target == "":
					r.State = types.RouteStateBlackhole
				case strings.HasSuffix(target, "!"): // an ENI detached or deleted
					r.NetworkInterfaceId, r.State = sdkaws.String(strings.TrimSuffix(target, "!")), types.RouteStateBlackhole
				default:
					r.NetworkInterfaceId = sdkaws.String(target)
				}
				rt.Routes = append(rt.Routes, r)
			}
			out.RouteTables = append(out.RouteTables, rt)
		}
		if end < len(ids) {
			out.NextToken = sdkaws.String(fmt.Sprintf("page-%d", end))
		} else if stale {
			w.staleReads--
		}
		return out, nil
	}
	f.replaceRoute = func(_ context.Context, in *ec2.ReplaceRouteInput) (*ec2.ReplaceRouteOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		t, ok := w.tables[sdkaws.ToString(in.RouteTableId)]
		if !ok {
			return nil, ec2FakeErr("ReplaceRoute", "InvalidRouteTableID.NotFound", fmt.Sprintf("The routeTable ID '%s' does not exist", sdkaws.ToString(in.RouteTableId)))
		}
		d := sdkaws.ToString(in.DestinationCidrBlock)
		if _, ok := t.routes[d]; !ok {
			return nil, ec2FakeErr("ReplaceRoute", "InvalidRoute.NotFound", "no route with destination-cidr-block "+d)
		}
		if w.stale == nil {
			w.stale = map[string]map[string]string{}
		}
		if w.stale[sdkaws.ToString(in.RouteTableId)] == nil {
			w.stale[sdkaws.ToString(in.RouteTableId)] = maps.Clone(t.routes)
		}
		t.routes[d] = sdkaws.ToString(in.NetworkInterfaceId)
		return &ec2.ReplaceRouteOutput{}, nil
	}
	f.describeAddresses = func(_ context.Context, in *ec2.DescribeAddressesInput) (*ec2.DescribeAddressesOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		out := &ec2.DescribeAddressesOutput{}
		for _, id := range in.AllocationIds {
			a, ok := w.addrs[id]
			if !ok {
				return nil, ec2FakeErr("DescribeAddresses", "InvalidAllocationID.NotFound", fmt.Sprintf("The allocation ID '%s' does not exist", id))
			}
			cur := *a
			if w.staleReads > 0 && w.staleAddr != nil {
				if s, ok := w.staleAddr[id]; ok {
					cur = s
					w.staleReads--
				}
			}
			ad := types.Address{AllocationId: sdkaws.String(id), PublicIp: sdkaws.String(cur.publicIP), Domain: types.DomainTypeVpc}
			if cur.assoc != "" {
				ad.AssociationId, ad.NetworkInterfaceId, ad.PrivateIpAddress = sdkaws.String(cur.assoc), sdkaws.String(cur.eni), sdkaws.String(cur.privateIP)
			}
			out.Addresses = append(out.Addresses, ad)
		}
		return out, nil
	}
	f.associateAddress = func(_ context.Context, in *ec2.AssociateAddressInput) (*ec2.AssociateAddressOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		id := sdkaws.ToString(in.AllocationId)
		a, ok := w.addrs[id]
		if !ok {
			return nil, ec2FakeErr("AssociateAddress", "InvalidAllocationID.NotFound", fmt.Sprintf("The allocation ID '%s' does not exist", id))
		}
		if a.assoc != "" && !sdkaws.ToBool(in.AllowReassociation) {
			return nil, ec2FakeErr("AssociateAddress", "Resource.AlreadyAssociated", "resource "+id+" is already associated")
		}
		if w.staleAddr == nil {
			w.staleAddr = map[string]ec2FakeAddr{}
		}
		w.staleAddr[id] = *a
		w.assoc++
		a.eni, a.assoc = sdkaws.ToString(in.NetworkInterfaceId), fmt.Sprintf("eipassoc-%d", w.assoc)
		a.privateIP = sdkaws.ToString(in.PrivateIpAddress)
		if a.privateIP == "" {
			a.privateIP = "10.0.0.1"
		}
		return &ec2.AssociateAddressOutput{AssociationId: sdkaws.String(a.assoc)}, nil
	}
	f.disassociateAddress = func(_ context.Context, in *ec2.DisassociateAddressInput) (*ec2.DisassociateAddressOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, a := range w.addrs {
			if a.assoc != "" && a.assoc == sdkaws.ToString(in.AssociationId) {
				a.assoc, a.eni, a.privateIP = "", "", ""
				return &ec2.DisassociateAddressOutput{}, nil
			}
		}
		return nil, ec2FakeErr("DisassociateAddress", "InvalidAssociationID.NotFound", fmt.Sprintf("The association ID '%s' does not exist", sdkaws.ToString(in.AssociationId)))
	}
	f.describeAvailabilityZones = func(_ context.Context, in *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		out := &ec2.DescribeAvailabilityZonesOutput{}
		for _, z := range in.ZoneNames {
			az, ok := w.zones[z]
			if !ok {
				return nil, ec2FakeErr("DescribeAvailabilityZones", "InvalidParameterValue", fmt.Sprintf("Invalid availability zone: [%s]", z))
			}
			out.AvailabilityZones = append(out.AvailabilityZones, az)
		}
		return out, nil
	}
}

// ec2FakeClients returns Clients with f (and md, when not nil) behind them and
// a per-call timeout.
func ec2FakeClients(f *fakeEC2, md *imdsFake) *Clients {
	c := &Clients{ec2: f, region: "ap-northeast-1", timeout: 2 * time.Second}
	if md != nil {
		c.imds = md
	}
	return c
}

// vipCritLine is the monitor error line a Critical result makes.
func vipCritLine(mon string, r monitor.Result) string {
	return ha.MonitorErrorMessage(mon, &ha.ResourceError{Code: r.Code, Detail: r.Message})
}

// vipAsRE returns err as a *ha.ResourceError, failing the test when it is
// not one.
func vipAsRE(t *testing.T, err error) *ha.ResourceError {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	re, ok := err.(*ha.ResourceError)
	if !ok {
		t.Fatalf("error %T %v, want a *ha.ResourceError", err, err)
	}
	return re
}
