package aws

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

// preflightGuideInput is what node1 of the guide's topology uses: the
// three client-access patterns, an AZ monitor, the lease and fencing.
func preflightGuideInput(g awstest.Guide) PreflightInput {
	return PreflightInput{Node: "node1",
		VIPs:       []PreflightVIP{{Resource: "awsvip1", VIPConfig: VIPConfig{IP: g.VIP, VPC: g.VPC}}},
		EIPs:       []PreflightEIP{{Resource: "awseip1", EIPConfig: EIPConfig{AllocationID: g.AllocationID}}},
		DNS:        []PreflightDNS{{Resource: "awsdns1", DNSConfig: DNSConfig{HostedZoneID: g.HostedZoneID, Name: g.RecordName}}},
		AZs:        []PreflightAZ{{Resource: "awsazw1"}},
		LeaseTable: g.LeaseTable,
		Fence:      &FenceConfig{Instances: map[string]string{"node1": g.Instances[0], "node2": g.Instances[1]}},
	}
}

// preflightLine is a finding as one comparable line.
func preflightLine(f Finding) string {
	switch {
	case !f.OK:
		return f.Resource + " | " + f.Check + " | PROBLEM " + f.Problem
	case f.Untested:
		return f.Resource + " | " + f.Check + " | UNTESTED " + f.Detail
	}
	return f.Resource + " | " + f.Check + " | OK " + f.Detail
}

func preflightLines(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, preflightLine(f))
	}
	return strings.Join(s, "\n")
}

// preflightFind returns the finding of res and check, failing the test
// when there is none.
func preflightFind(t *testing.T, fs []Finding, res, check string) Finding {
	t.Helper()
	for _, f := range fs {
		if f.Resource == res && f.Check == check {
			return f
		}
	}
	t.Fatalf("no finding %s | %s in\n%s", res, check, preflightLines(fs))
	return Finding{}
}

// The guide's topology passes every check, through the real SDK and the
// wire; nothing is written.
func TestPreflightAWSTestGuide(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	c := vipAWSTestClients(t, srv, g.Instances[0], 5*time.Second)
	fs := c.Preflight(context.Background(), preflightGuideInput(g))
	want := `aws | credentials | OK from the environment (AWS_ACCESS_KEY_ID)
aws | region | OK ap-northeast-1
aws | instance | OK i-node1 in ap-northeast-1a, primary ENI eni-node1 (10.0.110.11) in vpc-guide
awsvip1 | VPC | OK vpc-guide (10.0.0.0/16)
awsvip1 | VIP outside the VPC | OK 10.1.0.20 is outside 10.0.0.0/16
awsvip1 | route tables | OK 10.1.0.20/32: rtb-private-a → eni-node1, rtb-private-b → eni-node1, rtb-public-ab → eni-node1
awsvip1 | ENI | OK eni-node1 (10.0.110.11) in vpc-guide, attached to i-node1
awsvip1 | Source/Dest. Check | OK disabled on eni-node1
awsvip1 | ReplaceRoute permission | UNTESTED cannot be tested without changing a route: ec2:ReplaceRoute must be allowed on every route table of vpc-guide that holds 10.1.0.20/32 (rtb-private-a, rtb-private-b, rtb-public-ab), or the activation fails with "You are not authorized to perform this operation."
awseip1 | allocation | OK eipalloc-guide (203.0.113.10) is associated with eni-node1 (10.0.110.11)
awseip1 | ENI | OK eni-node1 (10.0.110.11) in vpc-guide, attached to i-node1
awsdns1 | hosted zone | OK ZGUIDE: hz1.local. (private)
awsdns1 | VPC association | UNTESTED AWS did not list the VPCs of this private hosted zone. A private hosted zone answers only in its associated VPCs: the instances' VPC (vpc-guide) must be one of them, with DNS resolution enabled.
awsdns1 | record name | OK srv.hz1.local.
awsdns1 | record | OK srv.hz1.local. A 10.0.110.11, TTL 60
awsazw1 | availability zone | OK The availability zone ap-northeast-1a is available.
lease | lease table | OK minato-ha: key schema key (S, HASH)
fence | instance of node1 | OK i-node1 is running
fence | instance of node2 | OK i-node2 is running`
	if got := preflightLines(fs); got != want {
		t.Errorf("findings:\n%s\nwant\n%s", got, want)
	}
	rr := preflightFind(t, fs, "awsvip1", "ReplaceRoute permission")
	if want := "Allow ec2:ReplaceRoute on arn:aws:ec2:ap-northeast-1:*:route-table/rtb-private-a, arn:aws:ec2:ap-northeast-1:*:route-table/rtb-private-b, arn:aws:ec2:ap-northeast-1:*:route-table/rtb-public-ab (or on every route table of the VPC, with the condition ec2:Vpc)."; rr.Remedy != want {
		t.Errorf("ReplaceRoute remedy %q", rr.Remedy)
	}
	for _, a := range []string{"ReplaceRoute", "AssociateAddress", "DisassociateAddress", "ChangeResourceRecordSets", "PutItem", "UpdateItem", "DeleteItem", "StopInstances"} {
		if n := srv.Calls(a); n != 0 {
			t.Errorf("%d %s calls: the check wrote", n, a)
		}
	}
}

// The reads go out in parallel: with 200-250 ms per AWS call, the eleven
// reads of the guide's input take far less than they would one after
// the other (at least 2.2 s).
func TestPreflightAWSTestParallel(t *testing.T) {
	srv := awstest.New(awstest.Options{Latency: [2]time.Duration{200 * time.Millisecond, 250 * time.Millisecond}, Seed: 1})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	c := vipAWSTestClients(t, srv, g.Instances[0], 5*time.Second)
	t0 := time.Now()
	fs := c.Preflight(context.Background(), preflightGuideInput(g))
	took := time.Since(t0)
	for _, f := range fs {
		if !f.OK {
			t.Errorf("problem: %s", preflightLine(f))
		}
	}
	calls := 0
	for _, a := range []string{"DescribeVpcs", "DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeAddresses", "GetHostedZone", "ListResourceRecordSets", "DescribeAvailabilityZones", "DescribeTable", "DescribeInstances"} {
		calls += srv.Calls(a)
	}
	if calls < 11 {
		t.Fatalf("%d AWS reads, want at least 11", calls)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("Preflight took %s for %d reads of 200-250 ms each: not in parallel", took, calls)
	}
}

// Each problem of the guide's troubleshooting, made on the account or in
// the input: its finding in the guide's words, with the guide's fix.
func TestPreflightAWSTestProblems(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(srv *awstest.Server, g awstest.Guide)
		mod        func(in *PreflightInput)
		res, check string
		problem    string
		remedy     string
	}{
		{name: "VPC", mod: func(in *PreflightInput) { in.VIPs[0].VPC = "vpc-deadbeef" },
			res: "awsvip1", check: "VPC", problem: "The vpc ID 'vpc-deadbeef' does not exist", remedy: "Specify the correct VPC ID: the VPC the cluster's instances are in."},
		{name: "VIP ENI", mod: func(in *PreflightInput) { in.VIPs[0].ENI = "eni-deadbeef" },
			res: "awsvip1", check: "ENI", problem: "The networkInterface ID 'eni-deadbeef' does not exist", remedy: "Specify the correct ENI ID: each node's own ENI (set individually per node)."},
		{name: "VIP in the VPC", mod: func(in *PreflightInput) { in.VIPs[0].IP = "10.0.5.5" },
			res: "awsvip1", check: "VIP outside the VPC", problem: "The VIP address 10.0.5.5 belongs to a VPC subnet.",
			remedy: "Use an IP address outside the VPC's CIDR blocks (10.0.5.5 is inside 10.0.0.0/16): clients reach the VIP through the route tables, which cannot route an address of the VPC itself."},
		{name: "no route", setup: func(srv *awstest.Server, g awstest.Guide) {
			for _, rt := range g.RouteTables {
				srv.SetRoute(rt, g.VIP+"/32", "")
			}
		}, res: "awsvip1", check: "route tables", problem: "None of the route tables of vpc-guide has a route for 10.1.0.20/32.",
			remedy: "Add the route 10.1.0.20/32 to any cluster node's ENI to every route table of vpc-guide whose subnets' clients use the VIP: the AWS virtual IP resource re-points the routes that exist, it does not create them."},
		{name: "Source/Dest. Check", setup: func(srv *awstest.Server, g awstest.Guide) { srv.SetSourceDestCheck(g.ENIs[0], true) },
			res: "awsvip1", check: "Source/Dest. Check", problem: "Source/Dest. Check is enabled on eni-node1: the AWS virtual IP resource activates, but ping to the VIP fails.",
			remedy: "Disable Source/Dest. Check on the ENI (EC2 console: the network interface, Actions, Change source/dest. check; or aws ec2 modify-network-interface-attribute --network-interface-id eni-node1 --no-source-dest-check)."},
		{name: "ENI of another instance", mod: func(in *PreflightInput) { in.VIPs[0].ENI = "eni-node2" },
			res: "awsvip1", check: "ENI", problem: "The ENI eni-node2 is attached to instance i-node2, not to this instance i-node1: the traffic would go elsewhere.",
			remedy: "Specify the correct ENI ID: each node's own ENI (set individually per node)."},
		{name: "ENI of another VPC", setup: func(srv *awstest.Server, g awstest.Guide) {
			srv.AddVPC("vpc-other", "10.9.0.0/16")
			srv.AddSubnet("subnet-other", "vpc-other", "ap-northeast-1a", "10.9.0.0/24")
			srv.AddENI("eni-other", "subnet-other", g.Instances[0], "10.9.0.10")
		}, mod: func(in *PreflightInput) { in.VIPs[0].ENI = "eni-other" },
			res: "awsvip1", check: "ENI", problem: "The networkInterface ID 'eni-other' belongs to vpc-other, not to vpc-guide.", remedy: "Specify this node's ENI in vpc-guide, or the VPC of the ENI."},
		{name: "allocation", mod: func(in *PreflightInput) { in.EIPs[0].AllocationID = "eipalloc-missing" },
			res: "awseip1", check: "allocation", problem: "The allocation ID 'eipalloc-missing' does not exist", remedy: "Specify the correct EIP allocation ID (the EC2 console lists them under Elastic IPs)."},
		{name: "EIP ENI", mod: func(in *PreflightInput) { in.EIPs[0].ENI = "eni-deadbeef" },
			res: "awseip1", check: "ENI", problem: "The networkInterface ID 'eni-deadbeef' does not exist", remedy: "Specify the correct ENI ID: each node's own ENI (set individually per node)."},
		{name: "hosted zone", mod: func(in *PreflightInput) { in.DNS[0].HostedZoneID = "/hostedzone/ZMISSING" },
			res: "awsdns1", check: "hosted zone", problem: "No hosted zone found with ID: ZMISSING", remedy: "Specify the correct hosted zone ID (the Route 53 console lists them under Hosted zones)."},
		{name: "upper-case name", mod: func(in *PreflightInput) { in.DNS[0].Name = "SRV.hz1.local." },
			res: "awsdns1", check: "record name", problem: `The resource record set name cannot be used: "SRV.hz1.local.": specify the resource record set name in lower case ("srv.hz1.local."): an upper-case name makes the activation fail`,
			remedy: "Specify the resource record set name in lower case, as a fully qualified domain name with the trailing dot (srv.hz1.local.)."},
		{name: "no trailing dot", mod: func(in *PreflightInput) { in.DNS[0].Name = "srv.hz1.local" },
			res: "awsdns1", check: "record name", problem: `The resource record set name cannot be used: "srv.hz1.local": specify the resource record set name as a fully qualified domain name with the trailing dot ("srv.hz1.local.")`,
			remedy: "Specify the resource record set name in lower case, as a fully qualified domain name with the trailing dot (srv.hz1.local.)."},
		{name: "name outside the zone", mod: func(in *PreflightInput) { in.DNS[0].Name = "srv.hz2.local." },
			res: "awsdns1", check: "record name", problem: "srv.hz2.local. is not in the hosted zone ZGUIDE (hz1.local.).", remedy: "Give a name that ends in .hz1.local., or the hosted zone of the name's domain."},
		{name: "invalid zone", mod: func(in *PreflightInput) { in.AZs[0].Zone = "ap-northeast-1x" },
			res: "awsazw1", check: "availability zone", problem: "Invalid availability zone: [ap-northeast-1x]", remedy: "Specify the correct availability zone: each node's own (set individually per node)."},
		{name: "impaired zone", setup: func(srv *awstest.Server, g awstest.Guide) { srv.SetZoneState(g.Zones[0], "impaired") },
			res: "awsazw1", check: "availability zone", problem: "The availability zone ap-northeast-1a is impaired.", remedy: "Run the groups on a node in another zone until AWS reports this one available."},
		{name: "another node's zone", mod: func(in *PreflightInput) { in.AZs[0].Zone = "ap-northeast-1c" },
			res: "awsazw1", check: "availability zone", problem: "The AZ monitor watches ap-northeast-1c, but this instance runs in ap-northeast-1a.", remedy: "Specify the correct availability zone: each node's own (set individually per node)."},
		{name: "lease table", mod: func(in *PreflightInput) { in.LeaseTable = "minato-missing" },
			res: "lease", check: "lease table", problem: "The lease table minato-missing does not exist in region ap-northeast-1.",
			remedy: `Create it in the region of the other AWS calls with the partition key "key" of type String and no sort key, and enable Time to Live on the attribute "ttl" (aws dynamodb create-table --table-name minato-missing --attribute-definitions AttributeName=key,AttributeType=S --key-schema AttributeName=key,KeyType=HASH --billing-mode PAY_PER_REQUEST).`},
		{name: "lease key schema", setup: func(srv *awstest.Server, g awstest.Guide) { srv.AddTable("minato-id", "id") }, mod: func(in *PreflightInput) { in.LeaseTable = "minato-id" },
			res: "lease", check: "lease table", problem: `lease table minato-id: key schema is id (HASH); want the partition key "key" of type String and no sort key`,
			remedy: `Use a table whose only key is the partition key "key" of type String. Create it in the region of the other AWS calls with the partition key "key" of type String and no sort key, and enable Time to Live on the attribute "ttl" (aws dynamodb create-table --table-name minato-id --attribute-definitions AttributeName=key,AttributeType=S --key-schema AttributeName=key,KeyType=HASH --billing-mode PAY_PER_REQUEST).`},
		{name: "fenced instance", mod: func(in *PreflightInput) { in.Fence.Instances["node2"] = "i-gone" },
			res: "fence", check: "instance of node2", problem: "The instance ID 'i-gone' does not exist in region ap-northeast-1.", remedy: "Specify the node's instance ID (in the region of the other AWS calls)."},
		{name: "fencing this instance", mod: func(in *PreflightInput) {
			in.Fence.Instances = map[string]string{"node1": "i-node2", "node2": "i-node1"}
		},
			res: "fence", check: "instance of node2", problem: "Node node2's instance i-node1 is this instance, node node1's: fencing node2 would stop this node.", remedy: "Give each node its own instance ID."},
		{name: "own entry wrong", mod: func(in *PreflightInput) {
			in.Fence.Instances = map[string]string{"node1": "i-node2", "node2": "i-node1"}
		},
			res: "fence", check: "instance of node1", problem: "Node node1's instance is given as i-node2, but it runs on i-node1: a peer fencing node1 would stop another instance.", remedy: "Give each node its own instance ID."},
		{name: "denied", setup: func(srv *awstest.Server, g awstest.Guide) { srv.Deny("DescribeVpcs") },
			res: "awsvip1", check: "VPC", problem: "You are not authorized to perform this operation.", remedy: "Allow ec2:DescribeVpcs in the IAM policy of the instance's role (or IAM user)."},
		{name: "hosted zone not readable, missing", setup: func(srv *awstest.Server, g awstest.Guide) { srv.Deny("GetHostedZone") },
			mod: func(in *PreflightInput) { in.DNS[0].HostedZoneID = "ZMISSING" },
			res: "awsdns1", check: "record", problem: "No hosted zone found with ID: ZMISSING", remedy: "Specify the correct hosted zone ID (the Route 53 console lists them under Hosted zones)."},
		{name: "denied record read", setup: func(srv *awstest.Server, g awstest.Guide) { srv.Deny("ListResourceRecordSets") },
			res: "awsdns1", check: "record", problem: "You are not authorized to perform this operation.", remedy: "Allow route53:ListResourceRecordSets in the IAM policy of the instance's role (or IAM user)."},
		{name: "invalid VIP", mod: func(in *PreflightInput) { in.VIPs[0].IP = "10.1.0.20/32" },
			res: "awsvip1", check: "configuration", problem: `ip: "10.1.0.20/32": want an IPv4 address such as 10.1.0.20, without a prefix (the route is always /32)`, remedy: "Correct the configuration."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.New(awstest.Options{})
			t.Cleanup(srv.Close)
			g := srv.Guide(2)
			if tc.setup != nil {
				tc.setup(srv, g)
			}
			in := preflightGuideInput(g)
			if tc.mod != nil {
				tc.mod(&in)
			}
			fs := vipAWSTestClients(t, srv, g.Instances[0], 5*time.Second).Preflight(context.Background(), in)
			f := preflightFind(t, fs, tc.res, tc.check)
			if f.OK || f.Problem != tc.problem || f.Remedy != tc.remedy {
				t.Errorf("finding %+v\nwant problem %q\n     remedy  %q", f, tc.problem, tc.remedy)
			}
		})
	}
}

// Only the check reads the hosted zone itself (route53:GetHostedZone): a
// policy without it leaves the zone untested, not a problem, and the
// record is still read.
func TestPreflightAWSTestHostedZoneDenied(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	srv.Deny("GetHostedZone")
	fs := vipAWSTestClients(t, srv, g.Instances[0], 5*time.Second).Preflight(context.Background(), preflightGuideInput(g))
	for _, f := range fs {
		if !f.OK {
			t.Errorf("problem: %s", preflightLine(f))
		}
	}
	f := preflightFind(t, fs, "awsdns1", "hosted zone")
	if !f.Untested || f.Remedy != "Allow route53:GetHostedZone on arn:aws:route53:::hostedzone/ZGUIDE to have it checked." {
		t.Errorf("%+v", f)
	}
	if f := preflightFind(t, fs, "awsdns1", "record"); f.Detail != "srv.hz1.local. A 10.0.110.11, TTL 60" {
		t.Errorf("%+v", f)
	}
}

// AWS that does not answer in time, or not at all: the detail of codes 6
// and 5, and the guide's fixes (Route 53 adds the VPC endpoint's).
func TestPreflightAWSTestNoAnswer(t *testing.T) {
	vipAWSTestEnv(t)
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	in := preflightGuideInput(g)
	in.Remote = true // the metadata service answers at once: only the API is slow
	in.Fence = nil
	in.AZs[0].Zone = g.Zones[0]

	srv.SetLatency(3*time.Second, 3*time.Second)
	c, err := Load(context.Background(), Config{Region: srv.Region(), Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(g.Instances[0]), CallTimeout: 300 * time.Millisecond, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	fs := c.Preflight(context.Background(), in)
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("took %s with a call timeout of 300 ms", took)
	}
	f := preflightFind(t, fs, "awsvip1", "VPC")
	if f.Problem != "Timeout occurred." || f.Remedy != preflightFixTimeout || f.Detail == "" {
		t.Errorf("timeout: %+v", f)
	}
	f = preflightFind(t, fs, "awsdns1", "hosted zone")
	if f.Problem != "Timeout occurred." || f.Remedy != preflightFixTimeout+preflightFixRoute53 {
		t.Errorf("Route 53 timeout: %+v", f)
	}

	srv.SetLatency(0, 0)
	srv.SetOutage(true)
	fs = c.Preflight(context.Background(), in)
	for _, check := range [][2]string{{"awsvip1", "VPC"}, {"awseip1", "allocation"}, {"awsazw1", "availability zone"}, {"lease", "lease table"}} {
		f := preflightFind(t, fs, check[0], check[1])
		if f.OK || f.Remedy != preflightFixNoAnswer || f.Detail == "" {
			t.Errorf("outage: %+v", f)
		}
	}
	if f := preflightFind(t, fs, "awsdns1", "hosted zone"); !strings.HasSuffix(f.Remedy, preflightFixRoute53) {
		t.Errorf("Route 53 outage: %+v", f)
	}
}

// The credentials: the guide's "IAM role not set" when the instance has
// none and no access key is configured, and no other AWS call then; the
// role's name when it gives them.
func TestPreflightAWSTestCredentials(t *testing.T) {
	vipAWSTestEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)

	// An instance the endpoint does not know lists no role (404).
	c, err := Load(context.Background(), Config{Region: srv.Region(), Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS("i-norole"), CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Preflight(context.Background(), preflightGuideInput(g))
	f := preflightFind(t, fs, PreflightAWS, "credentials")
	if want := "IAM role not set on the instance: its metadata answers 404 Not Found at /latest/meta-data/iam/security-credentials/, and no access key is configured. The other AWS checks were not run."; f.Problem != want || f.Remedy != preflightFixCreds {
		t.Errorf("no role: %+v", f)
	}
	if len(fs) != 3 {
		t.Errorf("%d findings without credentials, want credentials, region, instance:\n%s", len(fs), preflightLines(fs))
	}
	if n := srv.Calls("DescribeVpcs") + srv.Calls("GetHostedZone") + srv.Calls("DescribeTable"); n != 0 {
		t.Errorf("%d AWS calls without credentials", n)
	}

	c, err = Load(context.Background(), Config{Region: srv.Region(), Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(g.Instances[1]), CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	in := preflightGuideInput(g)
	in.Node = "node2"
	in.VIPs[0].ENI = "eni-node2"
	in.AZs[0].Zone = g.Zones[1]
	fs = c.Preflight(context.Background(), in)
	if f := preflightFind(t, fs, PreflightAWS, "credentials"); f.Detail != "from the instance's IAM role "+awstest.RoleName {
		t.Errorf("role: %+v", f)
	}
	for _, f := range fs {
		if !f.OK {
			t.Errorf("node2: %s", preflightLine(f))
		}
	}
}

// Another node's values from this machine: its metadata is not asked, and
// what it learns from it (ENI, zone) is untested.
func TestPreflightAWSTestRemote(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	c := vipAWSTestClients(t, srv, g.Instances[0], 5*time.Second)
	in := preflightGuideInput(g)
	in.Node, in.Remote = "node2", true
	in.EIPs[0].ENI = "eni-node2"
	srv.ResetCalls()
	fs := c.Preflight(context.Background(), in)
	if n := srv.Calls("IMDS"); n != 0 {
		t.Errorf("%d metadata requests for another node", n)
	}
	for _, f := range fs {
		if f.Check == "instance" {
			t.Errorf("an instance finding for another node: %+v", f)
		}
		if !f.OK {
			t.Errorf("problem: %s", preflightLine(f))
		}
	}
	if f := preflightFind(t, fs, "awsvip1", "ENI"); !f.Untested || f.Remedy != "Run the check on node node2 itself, or give its ENI ID per node." {
		t.Errorf("VIP ENI: %+v", f)
	}
	if f := preflightFind(t, fs, "awseip1", "ENI"); f.Untested || f.Detail != "eni-node2 (10.0.120.12) in vpc-guide, attached to i-node2" {
		t.Errorf("EIP ENI: %+v", f)
	}
	if f := preflightFind(t, fs, "awsazw1", "availability zone"); !f.Untested {
		t.Errorf("AZ: %+v", f)
	}
	if slices.ContainsFunc(fs, func(f Finding) bool { return f.Check == "Source/Dest. Check" }) {
		t.Error("Source/Dest. Check of an ENI that is not known")
	}
}

// A region that is not the instance's.
func TestPreflightAWSTestRegion(t *testing.T) {
	vipAWSTestEnv(t)
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	c, err := Load(context.Background(), Config{Region: "us-east-1", Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(g.Instances[0])})
	if err != nil {
		t.Fatal(err)
	}
	f := preflightFind(t, c.Preflight(context.Background(), PreflightInput{}), PreflightAWS, "region")
	if f.Problem != "The AWS calls go to region us-east-1, but this instance runs in ap-northeast-1." ||
		f.Remedy != "Set the region to ap-northeast-1, or leave it unset: the instance's own region is then used." {
		t.Errorf("%+v", f)
	}
}

// Checking node1 of the guide's topology, whose ENI has its Source/Dest.
// Check enabled: the problems, in CLUSTERPRO's words, with the fix.
func ExampleClients_Preflight() {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	g := srv.Guide(2)
	srv.SetSourceDestCheck(g.ENIs[0], true)

	ctx := context.Background()
	c, err := Load(ctx, Config{Region: srv.Region(), Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(g.Instances[0])})
	if err != nil {
		log.Fatal(err)
	}
	findings := c.Preflight(ctx, PreflightInput{Node: "node1",
		VIPs: []PreflightVIP{{Resource: "awsvip1", VIPConfig: VIPConfig{IP: g.VIP, VPC: g.VPC}}},
		EIPs: []PreflightEIP{{Resource: "awseip1", EIPConfig: EIPConfig{AllocationID: "eipalloc-missing"}}},
	})
	for _, f := range findings {
		if !f.OK {
			fmt.Printf("%s %s: %s\n", f.Resource, f.Check, f.Problem)
		}
	}
	// Output:
	// awsvip1 Source/Dest. Check: Source/Dest. Check is enabled on eni-node1: the AWS virtual IP resource activates, but ping to the VIP fails.
	// awseip1 allocation: The allocation ID 'eipalloc-missing' does not exist
}
