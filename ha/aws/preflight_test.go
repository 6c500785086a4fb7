package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/minato-ops/minato/ha"
)

// preflightFake is a small account behind fakes: the guide's VIP world
// (vpc-1 10.0.0.0/16, eni-A and eni-B, three route tables holding
// 10.1.0.20/32), eipalloc-1 on eni-A, zones ap-northeast-1a and -1c
// available, hosted zone ZGUIDE (hz1.local.), the lease table
// minato-ha, and instance i-B's metadata (eni-B in vpc-1,
// ap-northeast-1c).
type preflightFake struct {
	ec2  *fakeEC2
	r53  *fakeR53
	ddb  *fakeDDB
	imds *imdsFake
	c    *Clients
}

func newPreflightFake() *preflightFake {
	w := vipWorld()
	w.addrs["eipalloc-1"] = &ec2FakeAddr{publicIP: "203.0.113.10", eni: "eni-A", privateIP: "10.0.110.10", assoc: "eipassoc-1"}
	for _, z := range []string{"ap-northeast-1a", "ap-northeast-1c"} {
		w.zones[z] = ec2types.AvailabilityZone{ZoneName: sdkaws.String(z), State: ec2types.AvailabilityZoneStateAvailable}
	}
	f := &preflightFake{ec2: &fakeEC2{}, r53: newFakeR53("ZGUIDE"), imds: &imdsFake{items: imdsItems()}}
	w.install(f.ec2)
	f.ddb = &fakeDDB{describe: func(in *dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
		if sdkaws.ToString(in.TableName) != "minato-ha" {
			return nil, &ddbtypes.ResourceNotFoundException{Message: sdkaws.String("Requested resource not found")}
		}
		return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: in.TableName, TableStatus: ddbtypes.TableStatusActive,
			KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: sdkaws.String("key"), KeyType: ddbtypes.KeyTypeHash}}}}, nil
	}}
	f.c = &Clients{ec2: f.ec2, route53: f.r53, dynamo: f.ddb, imds: f.imds, region: "ap-northeast-1", timeout: 2 * time.Second}
	return f
}

func TestPreflightNoClients(t *testing.T) {
	for _, c := range []*Clients{nil, {}} {
		fs := c.Preflight(context.Background(), PreflightInput{})
		if len(fs) != 1 || fs[0].OK || fs[0].Problem != "No AWS clients to check with." {
			t.Errorf("%+v", fs)
		}
	}
}

// preflightWithCredentials makes Preflight get its credentials from p.
func preflightWithCredentials(t *testing.T, p sdkaws.CredentialsProvider) {
	t.Helper()
	old := preflightCredentials
	preflightCredentials = func(*Clients) sdkaws.CredentialsProvider { return p }
	t.Cleanup(func() { preflightCredentials = old })
}

func TestPreflightCredentials(t *testing.T) {
	const secret = "wJalrXUtnFEMI-SECRET"
	creds := func(src string) sdkaws.CredentialsProvider {
		return sdkaws.CredentialsProviderFunc(func(context.Context) (sdkaws.Credentials, error) {
			return sdkaws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret, SessionToken: secret, Source: src}, nil
		})
	}
	fail := func(err error) sdkaws.CredentialsProvider {
		return sdkaws.CredentialsProviderFunc(func(context.Context) (sdkaws.Credentials, error) { return sdkaws.Credentials{}, err })
	}
	roleMissing := fmt.Errorf("failed to refresh cached credentials, %w", fmt.Errorf("no EC2 IMDS role found, %w",
		&smithy.OperationError{ServiceID: "ec2imds", OperationName: "GetMetadata", Err: &imdsStatusErr{http.StatusNotFound}}))
	items := imdsItems()
	items["iam/security-credentials/"] = "ha-role\n"
	for _, tc := range []struct {
		prov    sdkaws.CredentialsProvider
		ok      bool
		detail  string
		problem string
	}{
		{creds("EnvConfigCredentials"), true, "from the environment (AWS_ACCESS_KEY_ID)", ""},
		{creds("SharedConfigCredentials: /root/.aws/credentials"), true, "from the shared credentials file /root/.aws/credentials", ""},
		{creds(ec2rolecreds.ProviderName), true, "from the instance's IAM role ha-role", ""},
		{creds(""), true, "from an unnamed source", ""},
		{creds("ProcessProvider"), true, "from ProcessProvider", ""},
		{fail(roleMissing), false, "", "IAM role not set on the instance: its metadata answers 404 Not Found at /latest/meta-data/iam/security-credentials/, and no access key is configured. The other AWS checks were not run."},
		{fail(fmt.Errorf("no EC2 IMDS role found, %w", context.DeadlineExceeded)), false, "", "Timeout occurred. Getting the credentials took too long; the other AWS checks were not run."},
		{fail(errors.New("no EC2 IMDS role found, dial tcp 169.254.169.254:80: connect: network is unreachable")), false, "",
			"No AWS credentials were found (the environment, the shared files under $HOME/.aws, the instance's IAM role). The other AWS checks were not run."},
	} {
		f := newPreflightFake()
		f.imds.items = items
		preflightWithCredentials(t, tc.prov)
		fs := f.c.Preflight(context.Background(), PreflightInput{Node: "node2", VIPs: []PreflightVIP{{Resource: "awsvip1", VIPConfig: VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"}}}})
		got := fs[0]
		if got.Check != "credentials" || got.OK != tc.ok || tc.ok && got.Detail != tc.detail || got.Problem != tc.problem {
			t.Errorf("credentials finding %+v\nwant ok=%v detail %q problem %q", got, tc.ok, tc.detail, tc.problem)
		}
		if !tc.ok && (len(f.ec2.called("Describe")) != 0 || got.Remedy == "") {
			t.Errorf("without credentials: calls %v, remedy %q", f.ec2.called(""), got.Remedy)
		}
		if tc.ok && len(f.ec2.called("DescribeVpcs")) != 1 {
			t.Errorf("with credentials: calls %v", f.ec2.called(""))
		}
		b, _ := json.Marshal(fs)
		if strings.Contains(string(b), secret) {
			t.Errorf("a secret in the findings: %s", b)
		}
	}
}

// failed words each kind of AWS failure with its fix.
func TestPreflightFailed(t *testing.T) {
	api := func(code, msg string) error {
		return &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeVpcs", Err: &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}}
	}
	const nf = "the not-found fix"
	for _, tc := range []struct {
		action  string
		err     error
		problem string
		remedy  string
		cause   bool
	}{
		{"ec2:DescribeVpcs", context.DeadlineExceeded, "Timeout occurred.", preflightFixTimeout, true},
		{"ec2:DescribeVpcs", api("UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: abc"), "You are not authorized to perform this operation.", "Allow ec2:DescribeVpcs in the IAM policy of the instance's role (or IAM user).", false},
		{"route53:GetHostedZone", api("AccessDenied", "User is not authorized"), "You are not authorized to perform this operation.", "Allow route53:GetHostedZone in the IAM policy of the instance's role (or IAM user).", false},
		{"ec2:DescribeVpcs", api("InvalidVpcID.NotFound", "The vpc ID 'vpc-x' does not exist"), "The vpc ID 'vpc-x' does not exist", nf, false},
		{"ec2:DescribeVpcs", api("InvalidVpcID.Malformed", "Invalid id: \"vpc-?\""), "Invalid id: \"vpc-?\"", nf, false},
		{"ec2:DescribeVpcs", ha.Errorf(ha.CodeFailed, "The allocation ID '%s' does not exist", "eipalloc-1"), "The allocation ID 'eipalloc-1' does not exist", nf, false},
		{"ec2:DescribeVpcs", api("RequestLimitExceeded", "Request limit exceeded."), "Request limit exceeded.", preflightFixNoAnswer, true},
		{"ec2:DescribeVpcs", api("AuthFailure", "AWS was not able to validate the provided access credentials"), "AWS was not able to validate the provided access credentials", preflightFixNoAnswer, true},
		{"ec2:DescribeVpcs", errors.New("dial tcp: connection refused"), "Failed in the AWS CLI command.", preflightFixNoAnswer, true},
		{"route53:GetHostedZone", errors.New("dial tcp: connection refused"), "Failed in the AWS CLI command.", preflightFixNoAnswer + preflightFixRoute53, true},
		{"route53:GetHostedZone", context.DeadlineExceeded, "Timeout occurred.", preflightFixTimeout + preflightFixRoute53, true},
	} {
		f := failed("r", "c", tc.action, tc.err, nf)
		if f.OK || f.Resource != "r" || f.Check != "c" || f.Problem != tc.problem || f.Remedy != tc.remedy || (f.Detail != "") != tc.cause {
			t.Errorf("%v: %+v\nwant problem %q remedy %q cause %v", tc.err, f, tc.problem, tc.remedy, tc.cause)
		}
	}
	long := errors.New(strings.Repeat("x", 2000))
	if f := failed("r", "c", "a", long, nf); len(f.Detail) > 700 {
		t.Errorf("cause of %d bytes", len(f.Detail))
	}
}

// The VPCs of a private hosted zone, when AWS lists them (it does for
// private zones), against the instance's; a public zone's name servers.
func TestPreflightHostedZone(t *testing.T) {
	zone := func(private bool, vpcs ...string) func(context.Context, *route53.GetHostedZoneInput) (*route53.GetHostedZoneOutput, error) {
		return func(_ context.Context, in *route53.GetHostedZoneInput) (*route53.GetHostedZoneOutput, error) {
			out := &route53.GetHostedZoneOutput{HostedZone: &r53types.HostedZone{Id: sdkaws.String("/hostedzone/" + sdkaws.ToString(in.Id)), Name: sdkaws.String("hz1.local"),
				Config: &r53types.HostedZoneConfig{PrivateZone: private}}}
			for _, v := range vpcs {
				out.VPCs = append(out.VPCs, r53types.VPC{VPCId: sdkaws.String(v), VPCRegion: r53types.VPCRegionApNortheast1})
			}
			if !private {
				out.DelegationSet = &r53types.DelegationSet{NameServers: []string{"ns-1.awsdns-01.org", "ns-2.awsdns-02.com"}}
			}
			return out, nil
		}
	}
	dns := []PreflightDNS{{Resource: "awsdns1", DNSConfig: DNSConfig{HostedZoneID: "ZGUIDE", Name: "srv.hz1.local."}}}
	for _, tc := range []struct {
		get    func(context.Context, *route53.GetHostedZoneInput) (*route53.GetHostedZoneOutput, error)
		remote bool
		check  string
		want   string
	}{
		{zone(true, "vpc-9", "vpc-1"), false, "VPC association", "OK associated with vpc-9, vpc-1"},
		{zone(true, "vpc-9"), false, "VPC association", "PROBLEM The instances' VPC vpc-1 has not been added to the VPCs of the hosted zone (vpc-9): clients and the monitor cannot resolve the name."},
		{zone(true, "vpc-9"), true, "VPC association", "UNTESTED associated with vpc-9; the instances' VPC is not known here and must be one of them"},
		{zone(true), true, "VPC association", "UNTESTED AWS did not list the VPCs of this private hosted zone. A private hosted zone answers only in its associated VPCs: the instances' VPC must be one of them, with DNS resolution enabled."},
		{zone(false), false, "hosted zone", "OK ZGUIDE: hz1.local. (public); the registrar's NS records for it must name its name servers ns-1.awsdns-01.org, ns-2.awsdns-02.com"},
		{zone(false), false, "record name", "OK srv.hz1.local."},
		{func(context.Context, *route53.GetHostedZoneInput) (*route53.GetHostedZoneOutput, error) {
			return &route53.GetHostedZoneOutput{}, nil
		}, false, "hosted zone", "PROBLEM No hosted zone found with ID: ZGUIDE"},
	} {
		f := newPreflightFake()
		f.r53.getHostedZone = tc.get
		fs := f.c.Preflight(context.Background(), PreflightInput{Node: "node2", Remote: tc.remote, DNS: dns})
		if got := preflightLine(preflightFind(t, fs, "awsdns1", tc.check)); got != "awsdns1 | "+tc.check+" | "+tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	// The record as it stands.
	f := newPreflightFake()
	f.r53.set("ZGUIDE", "srv.hz1.local.", 30, "10.0.120.10")
	fs := f.c.Preflight(context.Background(), PreflightInput{DNS: dns})
	if got := preflightLine(preflightFind(t, fs, "awsdns1", "record")); got != "awsdns1 | record | OK srv.hz1.local. A 10.0.120.10, TTL 30" {
		t.Error(got)
	}
	f.r53.list = func(context.Context, *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
		return nil, r53Err("AccessDenied", "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: route53:ListResourceRecordSets")
	}
	fs = f.c.Preflight(context.Background(), PreflightInput{DNS: dns})
	if got := preflightFind(t, fs, "awsdns1", "record"); got.Problem != detailUnauthorized || got.Remedy != "Allow route53:ListResourceRecordSets in the IAM policy of the instance's role (or IAM user)." {
		t.Errorf("%+v", got)
	}
}

// Configurations that cannot be checked are reported, and no AWS call is
// made for them.
func TestPreflightConfiguration(t *testing.T) {
	for _, tc := range []struct {
		in   PreflightInput
		res  string
		want string
	}{
		{PreflightInput{VIPs: []PreflightVIP{{Resource: "v", VIPConfig: VIPConfig{IP: "10.1.0.300", VPC: "vpc-1"}}}}, "v", `ip: "10.1.0.300": want an IPv4 address`},
		{PreflightInput{VIPs: []PreflightVIP{{Resource: "v", VIPConfig: VIPConfig{IP: "10.1.0.20", VPC: "vpc_1"}}}}, "v", `vpc: "vpc_1": want a VPC ID`},
		{PreflightInput{EIPs: []PreflightEIP{{Resource: "e", EIPConfig: EIPConfig{AllocationID: "alloc-1"}}}}, "e", `allocation_id: "alloc-1": want an Elastic IP allocation ID`},
		{PreflightInput{DNS: []PreflightDNS{{Resource: "d", DNSConfig: DNSConfig{HostedZoneID: "Z!", Name: "srv.hz1.local."}}}}, "d", `hosted_zone_id: "Z!"`},
		{PreflightInput{DNS: []PreflightDNS{{Resource: "d", DNSConfig: DNSConfig{HostedZoneID: "Z1", Name: "srv.hz1.local.", TTL: -5}}}}, "d", "ttl: -5"},
		{PreflightInput{AZs: []PreflightAZ{{Resource: "z", AZConfig: AZConfig{Zone: "AP-1"}}}}, "z", `zone: "AP-1"`},
		{PreflightInput{LeaseTable: "x"}, PreflightLease, `table: "x": want 3 to 255 letters`},
		{PreflightInput{Fence: &FenceConfig{Instances: map[string]string{"node1": "node1"}}}, PreflightFence, `instances.node1: "node1": want an EC2 instance ID`},
	} {
		f := newPreflightFake()
		fs := f.c.Preflight(context.Background(), tc.in)
		got := preflightFind(t, fs, tc.res, "configuration")
		if got.OK || !strings.Contains(got.Problem, tc.want) || got.Remedy != "Correct the configuration." {
			t.Errorf("%+v, want %q", got, tc.want)
		}
		if calls := f.ec2.called(""); len(calls) != 0 || f.r53.Calls("GetHostedZone") != 0 || len(f.ddb.ops()) != 0 {
			t.Errorf("AWS calls for a configuration that cannot be checked: %v", calls)
		}
	}
}

// Routes that lead elsewhere are shown; a table without the route is
// named; a read of many pages is followed.
func TestPreflightRouteTables(t *testing.T) {
	f := newPreflightFake()
	fs := f.c.Preflight(context.Background(), PreflightInput{Node: "node2", Remote: true,
		VIPs: []PreflightVIP{{Resource: "awsvip1", VIPConfig: VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"}}}})
	want := "awsvip1 | route tables | OK 10.1.0.20/32: rtb-PrivateA → eni-A, rtb-PrivateB → eni-A, rtb-PublicAB → eni-A; no route in rtb-x (their subnets' clients cannot reach the VIP)"
	if got := preflightLine(preflightFind(t, fs, "awsvip1", "route tables")); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The fake answers two tables a page: all five were read, and the
	// table of vpc-2 was left out.
	if n := len(f.ec2.called("DescribeRouteTables")); n != 3 {
		t.Errorf("%d pages read, want 3", n)
	}
	if got := preflightLine(preflightFind(t, fs, "awsvip1", "Source/Dest. Check")); got != "awsvip1 | Source/Dest. Check | OK disabled on eni-B" {
		t.Error(got)
	}
}

// The lease table's key schema and status.
func TestPreflightLeaseTable(t *testing.T) {
	f := newPreflightFake()
	f.ddb.describe = func(in *dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
		return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: in.TableName, TableStatus: ddbtypes.TableStatusCreating,
			KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: sdkaws.String("key"), KeyType: ddbtypes.KeyTypeHash}}}}, nil
	}
	got := preflightFind(t, f.c.Preflight(context.Background(), PreflightInput{LeaseTable: "minato-ha"}), PreflightLease, "lease table")
	if got.OK || got.Problem != "lease table minato-ha: status CREATING; want ACTIVE" {
		t.Errorf("%+v", got)
	}
	f.ddb.describe = func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
		return nil, fakeDDBAPIError("AccessDeniedException", "not authorized to perform: dynamodb:DescribeTable", smithy.FaultClient)
	}
	got = preflightFind(t, f.c.Preflight(context.Background(), PreflightInput{LeaseTable: "minato-ha"}), PreflightLease, "lease table")
	if got.Problem != detailUnauthorized || got.Remedy != "Allow dynamodb:DescribeTable in the IAM policy of the instance's role (or IAM user)." {
		t.Errorf("%+v", got)
	}
}

// A Finding's JSON, as "minato ha check --json" prints it.
func TestFindingJSON(t *testing.T) {
	b, err := json.Marshal([]Finding{
		{Resource: "awsvip1", Check: "VPC", OK: true, Detail: "vpc-1 (10.0.0.0/16)"},
		{Resource: "awsvip1", Check: "ReplaceRoute permission", OK: true, Untested: true, Detail: "d", Remedy: "r"},
		{Resource: "awseip1", Check: "allocation", Problem: "p", Remedy: "r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"resource":"awsvip1","check":"VPC","ok":true,"detail":"vpc-1 (10.0.0.0/16)"},` +
		`{"resource":"awsvip1","check":"ReplaceRoute permission","ok":true,"untested":true,"detail":"d","remedy":"r"},` +
		`{"resource":"awseip1","check":"allocation","ok":false,"problem":"p","remedy":"r"}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// The wrappers' JSON keeps the configuration's own field names.
	b, _ = json.Marshal(PreflightDNS{Resource: "awsdns1", DNSConfig: DNSConfig{HostedZoneID: "Z1", Name: "srv.hz1.local."}})
	if want := `{"resource":"awsdns1","hosted_zone_id":"Z1","name":"srv.hz1.local."}`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// Any input: no panic, every finding says what and which, OK exactly
// when there is no problem, and the same input gives the same findings.
func FuzzPreflight(f *testing.F) {
	f.Add("10.1.0.20", "vpc-1", "eni-A", "eipalloc-1", "ZGUIDE", "srv.hz1.local.", "ap-northeast-1a", "minato-ha", "i-B", false)
	f.Add("10.0.5.5", "vpc-2", "", "eipalloc-9", "/hostedzone/ZX", "SRV.hz1.local", "", "t", "", true)
	f.Add("", "", "eni-", "", "", ".", "x", "arn:aws:dynamodb:r:1:table/t", "i-", false)
	f.Add("255.255.255.255", "vpc-\x00", "eni-B", "eipalloc-1", "ZGUIDE", "a..b.", "ap-northeast-1c", "minato-ha", "i-A", false)
	f.Fuzz(func(t *testing.T, ip, vpc, eni, alloc, zone, name, az, table, inst string, remote bool) {
		in := PreflightInput{Node: "node2", Remote: remote,
			VIPs:       []PreflightVIP{{Resource: "awsvip1", VIPConfig: VIPConfig{IP: ip, VPC: vpc, ENI: eni}}},
			EIPs:       []PreflightEIP{{Resource: "awseip1", EIPConfig: EIPConfig{AllocationID: alloc, ENI: eni}}},
			DNS:        []PreflightDNS{{Resource: "awsdns1", DNSConfig: DNSConfig{HostedZoneID: zone, Name: name}}},
			AZs:        []PreflightAZ{{Resource: "awsazw1", AZConfig: AZConfig{Zone: az}}},
			LeaseTable: table,
		}
		if inst != "" {
			in.Fence = &FenceConfig{Instances: map[string]string{"node1": inst, "node2": "i-B"}}
		}
		run := func() string {
			fs := newPreflightFake().c.Preflight(context.Background(), in)
			for _, x := range fs {
				if x.Resource == "" || x.Check == "" || x.OK != (x.Problem == "") || !x.OK && x.Remedy == "" {
					t.Fatalf("bad finding %+v", x)
				}
			}
			return preflightLines(fs)
		}
		if a, b := run(), run(); a != b {
			t.Fatalf("not deterministic:\n%s\n---\n%s", a, b)
		}
	})
}
