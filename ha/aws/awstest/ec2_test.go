package awstest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: sdkaws.String(name), Values: values}
}

func TestDescribeVpcsAndSubnets(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	out, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vpcs) != 1 {
		t.Fatalf("got %d VPCs, want 1", len(out.Vpcs))
	}
	v := out.Vpcs[0]
	if sdkaws.ToString(v.VpcId) != "vpc-1" || sdkaws.ToString(v.CidrBlock) != "10.0.0.0/16" || v.State != types.VpcStateAvailable {
		t.Fatalf("VPC = %s %s %s", sdkaws.ToString(v.VpcId), sdkaws.ToString(v.CidrBlock), v.State)
	}
	var cidrs []string
	for _, a := range v.CidrBlockAssociationSet {
		cidrs = append(cidrs, sdkaws.ToString(a.CidrBlock))
		if a.CidrBlockState == nil || a.CidrBlockState.State != types.VpcCidrBlockStateCodeAssociated || sdkaws.ToString(a.AssociationId) == "" {
			t.Fatalf("association %+v not associated", a)
		}
	}
	if !slices.Equal(cidrs, []string{"10.0.0.0/16", "10.1.0.0/16"}) {
		t.Fatalf("CIDR blocks = %v", cidrs)
	}

	_, err = c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-x"}})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "The vpc ID 'vpc-x' does not exist")
	_, err = c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-x", "vpc-y"}})
	wantAPIError(t, err, "InvalidVpcID.NotFound", "The vpc IDs 'vpc-x, vpc-y' do not exist")

	sn, err := c.ec2.DescribeSubnets(ctx(t), &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", "vpc-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sn.Subnets) != 2 || sdkaws.ToString(sn.Subnets[0].SubnetId) != "subnet-a" || sdkaws.ToString(sn.Subnets[0].AvailabilityZone) != "ap-northeast-1a" ||
		sdkaws.ToString(sn.Subnets[1].CidrBlock) != "10.0.2.0/24" || sdkaws.ToString(sn.Subnets[1].AvailabilityZoneId) != "apne1-az3" {
		t.Fatalf("subnets = %+v", sn.Subnets)
	}
	sn, err = c.ec2.DescribeSubnets(ctx(t), &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", "vpc-2")}})
	if err != nil || len(sn.Subnets) != 0 {
		t.Fatalf("other VPC's subnets = %v, %v", sn, err)
	}
	_, err = c.ec2.DescribeSubnets(ctx(t), &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-x"}})
	wantAPIError(t, err, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-x' does not exist")
	_, err = c.ec2.DescribeSubnets(ctx(t), &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("no-such-filter", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'no-such-filter' is invalid")
}

func TestDescribeNetworkInterfaces(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.AddENI("eni-1b", "subnet-a", "i-1", "10.0.1.11")
	c.srv.SetSourceDestCheck("eni-1", false)
	c.srv.SetAssociation("eipalloc-1", "eni-1")

	out, err := c.ec2.DescribeNetworkInterfaces(ctx(t), &ec2.DescribeNetworkInterfacesInput{
		Filters: []types.Filter{filter("attachment.instance-id", "i-1"), filter("vpc-id", "vpc-1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NetworkInterfaces) != 2 {
		t.Fatalf("got %d ENIs of i-1, want 2", len(out.NetworkInterfaces))
	}
	e := out.NetworkInterfaces[0]
	if sdkaws.ToString(e.NetworkInterfaceId) != "eni-1" || sdkaws.ToString(e.VpcId) != "vpc-1" || sdkaws.ToString(e.SubnetId) != "subnet-a" ||
		sdkaws.ToString(e.AvailabilityZone) != "ap-northeast-1a" || sdkaws.ToString(e.PrivateIpAddress) != "10.0.1.10" ||
		sdkaws.ToBool(e.SourceDestCheck) || e.Status != types.NetworkInterfaceStatusInUse {
		t.Fatalf("ENI = %+v", e)
	}
	if e.Attachment == nil || sdkaws.ToString(e.Attachment.InstanceId) != "i-1" || sdkaws.ToInt32(e.Attachment.DeviceIndex) != 0 || e.Attachment.Status != types.AttachmentStatusAttached {
		t.Fatalf("attachment = %+v", e.Attachment)
	}
	if mac := sdkaws.ToString(e.MacAddress); len(mac) != 17 || !strings.HasPrefix(mac, "02:") {
		t.Fatalf("MAC = %q", mac)
	}
	if e.Association == nil || sdkaws.ToString(e.Association.PublicIp) != "203.0.113.10" || sdkaws.ToString(e.Association.AllocationId) != "eipalloc-1" {
		t.Fatalf("association = %+v", e.Association)
	}
	if len(e.PrivateIpAddresses) != 1 || !sdkaws.ToBool(e.PrivateIpAddresses[0].Primary) || sdkaws.ToString(e.PrivateIpAddresses[0].PrivateIpAddress) != "10.0.1.10" {
		t.Fatalf("private IPs = %+v", e.PrivateIpAddresses)
	}
	e2 := out.NetworkInterfaces[1]
	if sdkaws.ToInt32(e2.Attachment.DeviceIndex) != 1 || !sdkaws.ToBool(e2.SourceDestCheck) || e2.Association != nil {
		t.Fatalf("second ENI = %+v", e2)
	}

	_, err = c.ec2.DescribeNetworkInterfaces(ctx(t), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-x"}})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-x' does not exist")
	_, err = c.ec2.DescribeNetworkInterfaces(ctx(t), &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("bogus", "x")}})
	wantAPIError(t, err, "InvalidParameterValue", "The filter 'bogus' is invalid")
}

func routeOf(rt types.RouteTable, dest string) *types.Route {
	for i, r := range rt.Routes {
		if sdkaws.ToString(r.DestinationCidrBlock) == dest {
			return &rt.Routes[i]
		}
	}
	return nil
}

func TestRouteTablesReplaceRoute(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.AddVPC("vpc-2", "192.168.0.0/16")
	c.srv.AddRouteTable("rtb-other", "vpc-2")

	out, err := c.ec2.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		filter("vpc-id", "vpc-1"), filter("route.destination-cidr-block", "172.16.0.1/32"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.RouteTables) != 3 {
		t.Fatalf("got %d route tables, want 3", len(out.RouteTables))
	}
	rt := out.RouteTables[0]
	if sdkaws.ToString(rt.RouteTableId) != "rtb-1" || sdkaws.ToString(rt.VpcId) != "vpc-1" {
		t.Fatalf("table = %+v", rt)
	}
	local := routeOf(rt, "10.1.0.0/16")
	if local == nil || sdkaws.ToString(local.GatewayId) != "local" || local.Origin != types.RouteOriginCreateRouteTable || local.State != types.RouteStateActive {
		t.Fatalf("local route = %+v", local)
	}
	vip := routeOf(rt, "172.16.0.1/32")
	if vip == nil || sdkaws.ToString(vip.NetworkInterfaceId) != "eni-1" || sdkaws.ToString(vip.InstanceId) != "i-1" || vip.State != types.RouteStateActive || vip.Origin != types.RouteOriginCreateRoute {
		t.Fatalf("VIP route = %+v", vip)
	}
	if igw := routeOf(rt, "0.0.0.0/0"); igw == nil || sdkaws.ToString(igw.GatewayId) != "igw-1" {
		t.Fatalf("default route = %+v", igw)
	}

	_, err = c.ec2.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: sdkaws.String("rtb-2"), DestinationCidrBlock: sdkaws.String("172.16.0.1/32"), NetworkInterfaceId: sdkaws.String("eni-2")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.srv.RouteTarget("rtb-2", "172.16.0.1/32"); got != "eni-2" {
		t.Fatalf("after ReplaceRoute the route points to %q", got)
	}
	if got := c.srv.RouteTarget("rtb-1", "172.16.0.1/32"); got != "eni-1" {
		t.Fatalf("another table changed: %q", got)
	}

	cases := []struct {
		table, dest, eni, code, msg string
	}{
		{"rtb-1", "172.16.0.2/32", "eni-2", "InvalidRoute.NotFound", "There is no route defined for '172.16.0.2/32' in the route table. Please correct the destination and try again."},
		{"rtb-1", "172.16.0.1/32", "eni-x", "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-x' does not exist"},
		{"rtb-x", "172.16.0.1/32", "eni-2", "InvalidRouteTableID.NotFound", "The routeTable ID 'rtb-x' does not exist"},
		{"rtb-other", "172.16.0.1/32", "eni-2", "InvalidParameterValue", "route table rtb-other and network interface eni-2 belong to different networks"},
		{"rtb-1", "not-a-cidr", "eni-2", "InvalidParameterValue", "Value (not-a-cidr) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."},
	}
	for _, tc := range cases {
		_, err := c.ec2.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: sdkaws.String(tc.table), DestinationCidrBlock: sdkaws.String(tc.dest), NetworkInterfaceId: sdkaws.String(tc.eni)})
		wantAPIError(t, err, tc.code, tc.msg)
	}

	// Drift by another actor, and a route to an ENI that is gone.
	c.srv.SetRoute("rtb-3", "172.16.0.1/32", "eni-gone")
	out, err = c.ec2.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-3"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := routeOf(out.RouteTables[0], "172.16.0.1/32"); r == nil || sdkaws.ToString(r.NetworkInterfaceId) != "eni-gone" || r.State != types.RouteStateBlackhole {
		t.Fatalf("drifted route = %+v", r)
	}
	c.srv.SetRoute("rtb-3", "172.16.0.1/32", "")
	if got := c.srv.RouteTarget("rtb-3", "172.16.0.1/32"); got != "" {
		t.Fatalf("deleted route still points to %q", got)
	}
	out, err = c.ec2.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("route.destination-cidr-block", "172.16.0.1/32")}})
	if err != nil || len(out.RouteTables) != 2 {
		t.Fatalf("tables with the VIP after deletion: %v, %v", out, err)
	}
	_, err = c.ec2.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: sdkaws.String("rtb-3"), DestinationCidrBlock: sdkaws.String("172.16.0.1/32"), NetworkInterfaceId: sdkaws.String("eni-2")})
	wantAPIError(t, err, "InvalidRoute.NotFound", "")
	_, err = c.ec2.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-x"}})
	wantAPIError(t, err, "InvalidRouteTableID.NotFound", "The routeTable ID 'rtb-x' does not exist")
}

func TestAddresses(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	assoc, err := c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-1")})
	if err != nil {
		t.Fatal(err)
	}
	id1 := sdkaws.ToString(assoc.AssociationId)
	if !strings.HasPrefix(id1, "eipassoc-") || c.srv.Association("eipalloc-1") != "eni-1" {
		t.Fatalf("association %q, on %q", id1, c.srv.Association("eipalloc-1"))
	}
	out, err := c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-1"}})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Addresses[0]
	if sdkaws.ToString(a.AssociationId) != id1 || sdkaws.ToString(a.NetworkInterfaceId) != "eni-1" || sdkaws.ToString(a.InstanceId) != "i-1" ||
		sdkaws.ToString(a.PrivateIpAddress) != "10.0.1.10" || sdkaws.ToString(a.PublicIp) != "203.0.113.10" || a.Domain != types.DomainTypeVpc {
		t.Fatalf("address = %+v", a)
	}

	// Without AllowReassociation an associated address is refused.
	_, err = c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-2")})
	wantAPIError(t, err, "Resource.AlreadyAssociated", "resource eipalloc-1 is already associated with associate-id "+id1)
	assoc, err = c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-2"), AllowReassociation: sdkaws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	id2 := sdkaws.ToString(assoc.AssociationId)
	if id2 == id1 || c.srv.Association("eipalloc-1") != "eni-2" {
		t.Fatalf("reassociation: id %q, on %q", id2, c.srv.Association("eipalloc-1"))
	}

	out, err = c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{Filters: []types.Filter{filter("network-interface-id", "eni-2")}})
	if err != nil || len(out.Addresses) != 1 {
		t.Fatalf("filter by ENI: %v, %v", out, err)
	}
	out, err = c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{PublicIps: []string{"203.0.113.10"}, Filters: []types.Filter{filter("allocation-id", "eipalloc-1")}})
	if err != nil || len(out.Addresses) != 1 {
		t.Fatalf("by public IP: %v, %v", out, err)
	}

	_, err = c.ec2.DisassociateAddress(ctx(t), &ec2.DisassociateAddressInput{AssociationId: sdkaws.String(id1)})
	wantAPIError(t, err, "InvalidAssociationID.NotFound", "The association ID '"+id1+"' does not exist")
	if _, err := c.ec2.DisassociateAddress(ctx(t), &ec2.DisassociateAddressInput{AssociationId: sdkaws.String(id2)}); err != nil {
		t.Fatal(err)
	}
	if got := c.srv.Association("eipalloc-1"); got != "" {
		t.Fatalf("still associated with %q", got)
	}
	out, err = c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-1"}})
	if err != nil || out.Addresses[0].AssociationId != nil || out.Addresses[0].NetworkInterfaceId != nil {
		t.Fatalf("disassociated address = %+v, %v", out, err)
	}

	_, err = c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-x"}})
	wantAPIError(t, err, "InvalidAllocationID.NotFound", "The allocation ID 'eipalloc-x' does not exist")
	_, err = c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-x"), NetworkInterfaceId: sdkaws.String("eni-1")})
	wantAPIError(t, err, "InvalidAllocationID.NotFound", "The allocation ID 'eipalloc-x' does not exist")
	_, err = c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-x")})
	wantAPIError(t, err, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-x' does not exist")

	// Drift by another actor.
	c.srv.SetAssociation("eipalloc-1", "eni-2")
	out, err = c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-1"}})
	if err != nil || sdkaws.ToString(out.Addresses[0].NetworkInterfaceId) != "eni-2" {
		t.Fatalf("after drift: %+v, %v", out, err)
	}
}

func TestAvailabilityZones(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.SetZoneState("ap-northeast-1c", "impaired")
	c.srv.SetZoneState("ap-northeast-1d", "available")
	out, err := c.ec2.DescribeAvailabilityZones(ctx(t), &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"ap-northeast-1a", "ap-northeast-1c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AvailabilityZones) != 2 {
		t.Fatalf("got %d zones", len(out.AvailabilityZones))
	}
	a, cz := out.AvailabilityZones[0], out.AvailabilityZones[1]
	if sdkaws.ToString(a.ZoneName) != "ap-northeast-1a" || a.State != types.AvailabilityZoneStateAvailable || sdkaws.ToString(a.ZoneId) != "apne1-az1" ||
		sdkaws.ToString(a.RegionName) != "ap-northeast-1" || len(a.Messages) != 0 {
		t.Fatalf("zone a = %+v", a)
	}
	if cz.State != types.AvailabilityZoneStateImpaired || len(cz.Messages) != 1 || sdkaws.ToString(cz.Messages[0].Message) == "" {
		t.Fatalf("zone c = %+v", cz)
	}
	all, err := c.ec2.DescribeAvailabilityZones(ctx(t), &ec2.DescribeAvailabilityZonesInput{})
	if err != nil || len(all.AvailabilityZones) != 3 {
		t.Fatalf("all zones: %v, %v", all, err)
	}
	st, err := c.ec2.DescribeAvailabilityZones(ctx(t), &ec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("state", "impaired")}})
	if err != nil || len(st.AvailabilityZones) != 1 || sdkaws.ToString(st.AvailabilityZones[0].ZoneName) != "ap-northeast-1c" {
		t.Fatalf("impaired zones: %v, %v", st, err)
	}
	_, err = c.ec2.DescribeAvailabilityZones(ctx(t), &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"ap-northeast-1x"}})
	wantAPIError(t, err, "InvalidParameterValue", "Invalid availability zone: [ap-northeast-1x]")
}

func TestInstancesAndStop(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.SetAssociation("eipalloc-1", "eni-1")
	out, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("reservations = %+v", out.Reservations)
	}
	in := out.Reservations[0].Instances[0]
	if sdkaws.ToString(in.InstanceId) != "i-1" || in.State == nil || in.State.Name != types.InstanceStateNameRunning || sdkaws.ToInt32(in.State.Code) != 16 ||
		in.Placement == nil || sdkaws.ToString(in.Placement.AvailabilityZone) != "ap-northeast-1a" || sdkaws.ToString(in.PrivateIpAddress) != "10.0.1.10" ||
		sdkaws.ToString(in.PublicIpAddress) != "203.0.113.10" || sdkaws.ToString(in.VpcId) != "vpc-1" {
		t.Fatalf("instance = %+v", in)
	}
	if len(in.NetworkInterfaces) != 1 || sdkaws.ToString(in.NetworkInterfaces[0].NetworkInterfaceId) != "eni-1" ||
		sdkaws.ToInt32(in.NetworkInterfaces[0].Attachment.DeviceIndex) != 0 || sdkaws.ToString(in.NetworkInterfaces[0].MacAddress) == "" {
		t.Fatalf("instance ENIs = %+v", in.NetworkInterfaces)
	}

	stop, err := c.ec2.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{"i-2"}, Force: sdkaws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	sc := stop.StoppingInstances[0]
	if sdkaws.ToString(sc.InstanceId) != "i-2" || sc.PreviousState.Name != types.InstanceStateNameRunning || sc.CurrentState.Name != types.InstanceStateNameStopping ||
		sdkaws.ToInt32(sc.CurrentState.Code) != 64 {
		t.Fatalf("state change = %+v %+v", sc.PreviousState, sc.CurrentState)
	}
	if got := c.srv.InstanceState("i-2"); got != "stopping" {
		t.Fatalf("state right after stop = %q", got)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.srv.InstanceState("i-2") != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("instance never stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{Filters: []types.Filter{filter("instance-state-name", "stopped")}})
	if err != nil || len(st.Reservations) != 1 || sdkaws.ToString(st.Reservations[0].Instances[0].InstanceId) != "i-2" {
		t.Fatalf("stopped instances: %+v, %v", st, err)
	}
	if c.srv.InstanceState("i-1") != "running" {
		t.Fatal("the other instance stopped too")
	}
	_, err = c.ec2.StopInstances(ctx(t), &ec2.StopInstancesInput{InstanceIds: []string{"i-x"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance ID 'i-x' does not exist")
	_, err = c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{"i-x"}})
	wantAPIError(t, err, "InvalidInstanceID.NotFound", "The instance ID 'i-x' does not exist")
}
