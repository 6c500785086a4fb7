package aws

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var policyUpdate = flag.Bool("policy.update", false, "rewrite ha/aws/testdata/policy-*.json")

// The guide's custom policy (§8.1), as printed there.
const guideAllActionsPolicy = `{
"Version": "2012-10-17",
"Statement": [
{
"Action": [
"ec2:Describe*",
"ec2:ReplaceRoute",
"ec2:AssociateAddress",
"ec2:DisassociateAddress",
"route53:ChangeResourceRecordSets",
"route53:ListResourceRecordSets"
],
"Effect": "Allow",
"Resource": "*"
}
]
}`

// Guide §6.2 item 35: per type, the actions of the guide's table; DNS adds
// route53:GetChange (documented as beyond the guide).
func TestIAMPolicyActionsPerType(t *testing.T) {
	for _, tc := range []struct {
		name string
		uses PolicyUses
		want []string
	}{
		{"awsvip", PolicyUses{VIPs: []VIPUse{{VPC: "vpc-1"}}},
			[]string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables", "ec2:DescribeVpcs", "ec2:ReplaceRoute"}},
		{"awseip", PolicyUses{EIPs: []EIPUse{{AllocationID: "eipalloc-1"}}},
			[]string{"ec2:AssociateAddress", "ec2:DescribeAddresses", "ec2:DescribeNetworkInterfaces", "ec2:DisassociateAddress"}},
		{"awsdns", PolicyUses{DNS: []DNSUse{{HostedZoneID: "Z123"}}},
			[]string{"route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHostedZone", "route53:ListResourceRecordSets"}},
		{"awsazw", PolicyUses{AZ: true}, []string{"ec2:DescribeAvailabilityZones"}},
		{"lease", PolicyUses{LeaseTables: []string{"minato-lease"}},
			[]string{"dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}},
		{"fence", PolicyUses{FenceInstances: []string{"i-1"}}, []string{"ec2:DescribeInstances", "ec2:StopInstances"}},
		{"nothing", PolicyUses{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := IAMPolicy(tc.uses)
			if got := doc.Actions(); !slices.Equal(got, tc.want) {
				t.Errorf("actions = %q\nwant      %q", got, tc.want)
			}
			if doc.Version != "2012-10-17" {
				t.Errorf("version %q", doc.Version)
			}
			for _, s := range doc.Statement {
				if s.Effect != "Allow" || s.Sid == "" || len(s.Resource) == 0 {
					t.Errorf("statement %+v", s)
				}
				// EC2 Describe actions have no resource-level permissions.
				for _, a := range s.Action {
					if strings.HasPrefix(a, "ec2:Describe") && !slices.Equal(s.Resource, PolicyValues{"*"}) {
						t.Errorf("%s on %v, want *", a, s.Resource)
					}
				}
			}
		})
	}
	// The guide's DNS actions are there; GetChange and GetHostedZone are the only extras.
	dns := IAMPolicy(PolicyUses{DNS: []DNSUse{{HostedZoneID: "Z123"}}}).Actions()
	extra := slices.DeleteFunc(slices.Clone(dns), func(a string) bool {
		return a == "route53:ChangeResourceRecordSets" || a == "route53:ListResourceRecordSets"
	})
	if !slices.Equal(extra, []string{"route53:GetChange", "route53:GetHostedZone"}) {
		t.Errorf("DNS actions beyond the guide: %q", extra)
	}
}

// statementBySid finds a statement.
func statementBySid(t *testing.T, doc PolicyDocument, sid string) PolicyStatement {
	t.Helper()
	for _, s := range doc.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("no statement %s in %+v", sid, doc.Statement)
	return PolicyStatement{}
}

func TestIAMPolicyResources(t *testing.T) {
	doc := IAMPolicy(PolicyUses{
		VIPs: []VIPUse{
			{VPC: "vpc-1", RouteTables: []string{"rtb-private-b", "rtb-public-ab", "rtb-private-a"}},
			{VPC: "vpc-2"},
			{VPC: "vpc-3"},
			{VPC: "vpc-2"},
		},
		EIPs:           []EIPUse{{AllocationID: "eipalloc-1", ENIs: []string{"eni-b", "eni-a"}}},
		DNS:            []DNSUse{{HostedZoneID: "/hostedzone/Z123"}, {HostedZoneID: "Z456"}, {HostedZoneID: "Z123"}},
		LeaseTables:    []string{"minato-lease"},
		FenceInstances: []string{"i-2", "i-1"},
		Region:         "ap-northeast-1",
		Account:        "123456789012",
	})
	routes := statementBySid(t, doc, "VirtualIPRoutes")
	if want := (PolicyValues{
		"arn:aws:ec2:ap-northeast-1:123456789012:route-table/rtb-private-a",
		"arn:aws:ec2:ap-northeast-1:123456789012:route-table/rtb-private-b",
		"arn:aws:ec2:ap-northeast-1:123456789012:route-table/rtb-public-ab",
	}); !slices.Equal(routes.Resource, want) || routes.Condition != nil || !slices.Equal(routes.Action, PolicyValues{"ec2:ReplaceRoute"}) {
		t.Errorf("known tables: %+v", routes)
	}
	// VPCs whose tables are unknown: any table of that VPC, one statement
	// per VPC, each VPC once.
	for i, vpc := range []string{"vpc-2", "vpc-3"} {
		s := statementBySid(t, doc, fmt.Sprintf("VirtualIPRoutesInVPC%d", i+1))
		want := map[string]map[string]PolicyValues{"ArnEquals": {"ec2:Vpc": {"arn:aws:ec2:ap-northeast-1:123456789012:vpc/" + vpc}}}
		if !reflect.DeepEqual(s.Condition, want) || !slices.Equal(s.Resource, PolicyValues{"arn:aws:ec2:ap-northeast-1:123456789012:route-table/*"}) {
			t.Errorf("%s: %+v", vpc, s)
		}
	}
	if n := strings.Count(fmt.Sprint(doc.Statement), "VirtualIPRoutesInVPC"); n != 2 {
		t.Errorf("%d VPC statements, want 2", n)
	}
	eip := statementBySid(t, doc, "ElasticIPAssociation")
	if want := (PolicyValues{
		"arn:aws:ec2:ap-northeast-1:123456789012:elastic-ip/eipalloc-1",
		"arn:aws:ec2:ap-northeast-1:123456789012:network-interface/eni-a",
		"arn:aws:ec2:ap-northeast-1:123456789012:network-interface/eni-b",
	}); !slices.Equal(eip.Resource, want) {
		t.Errorf("EIP resources %q", eip.Resource)
	}
	zones := statementBySid(t, doc, "DNSRecords")
	if want := (PolicyValues{"arn:aws:route53:::hostedzone/Z123", "arn:aws:route53:::hostedzone/Z456"}); !slices.Equal(zones.Resource, want) {
		t.Errorf("hosted zones %q", zones.Resource)
	}
	if s := statementBySid(t, doc, "DNSChangeStatus"); !slices.Equal(s.Resource, PolicyValues{"arn:aws:route53:::change/*"}) {
		t.Errorf("GetChange on %q", s.Resource)
	}
	if s := statementBySid(t, doc, "LeaseTable"); !slices.Equal(s.Resource, PolicyValues{"arn:aws:dynamodb:ap-northeast-1:123456789012:table/minato-lease"}) {
		t.Errorf("lease on %q", s.Resource)
	}
	if s := statementBySid(t, doc, "FenceStopInstances"); !slices.Equal(s.Resource, PolicyValues{
		"arn:aws:ec2:ap-northeast-1:123456789012:instance/i-1", "arn:aws:ec2:ap-northeast-1:123456789012:instance/i-2"}) {
		t.Errorf("fence on %q", s.Resource)
	}
	// Order of the statements is by type.
	var sids []string
	for _, s := range doc.Statement {
		sids = append(sids, s.Sid)
	}
	want := []string{"EC2Describe", "VirtualIPRoutes", "VirtualIPRoutesInVPC1", "VirtualIPRoutesInVPC2", "ElasticIPAssociation",
		"DNSRecords", "DNSChangeStatus", "LeaseTable", "FenceStopInstances"}
	if !slices.Equal(sids, want) {
		t.Errorf("statements %q\nwant       %q", sids, want)
	}
}

func TestIAMPolicyWildcards(t *testing.T) {
	// Account and region unknown → "*"; other partitions.
	doc := IAMPolicy(PolicyUses{VIPs: []VIPUse{{VPC: "vpc-1"}}, DNS: []DNSUse{{}}, EIPs: []EIPUse{{}}, Partition: "aws-cn"})
	s := statementBySid(t, doc, "VirtualIPRoutesInVPC1")
	if got := s.Condition["ArnEquals"]["ec2:Vpc"]; !slices.Equal(got, PolicyValues{"arn:aws-cn:ec2:*:*:vpc/vpc-1"}) {
		t.Errorf("condition %q", got)
	}
	if got := statementBySid(t, doc, "DNSRecords").Resource; !slices.Equal(got, PolicyValues{"arn:aws-cn:route53:::hostedzone/*"}) {
		t.Errorf("zone %q", got)
	}
	if got := statementBySid(t, doc, "ElasticIPAssociation").Resource; !slices.Equal(got, PolicyValues{"arn:aws-cn:ec2:*:*:elastic-ip/*", "arn:aws-cn:ec2:*:*:network-interface/*"}) {
		t.Errorf("eip %q", got)
	}
	// A VIP with neither VPC nor tables: any route table, no condition.
	doc = IAMPolicy(PolicyUses{VIPs: []VIPUse{{VPC: "vpc-1"}, {}}})
	s = statementBySid(t, doc, "VirtualIPRoutes")
	if !slices.Equal(s.Resource, PolicyValues{"arn:aws:ec2:*:*:route-table/*"}) || s.Condition != nil || len(doc.Statement) != 2 {
		t.Errorf("unknown VIP: %+v (statements %d)", s, len(doc.Statement))
	}
}

// JSON is valid, stable whatever the order of the uses, round-trips, and
// matches the golden files.
func TestIAMPolicyJSON(t *testing.T) {
	full := PolicyUses{
		VIPs:           []VIPUse{{VPC: "vpc-0a1b2c3d", RouteTables: []string{"rtb-public-ab", "rtb-private-a", "rtb-private-b"}}},
		EIPs:           []EIPUse{{AllocationID: "eipalloc-0a1b2c3d", ENIs: []string{"eni-0aaaaaaa", "eni-0bbbbbbb"}}},
		DNS:            []DNSUse{{HostedZoneID: "Z0123456789ABCDEFGHIJ"}},
		AZ:             true,
		LeaseTables:    []string{"minato-lease"},
		FenceInstances: []string{"i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"},
		Region:         "ap-northeast-1",
		Account:        "123456789012",
	}
	shuffled := full
	shuffled.VIPs = []VIPUse{{VPC: "vpc-0a1b2c3d", RouteTables: []string{"rtb-private-b", "rtb-public-ab", "rtb-private-a"}}}
	shuffled.EIPs = []EIPUse{{AllocationID: "eipalloc-0a1b2c3d", ENIs: []string{"eni-0bbbbbbb", "eni-0aaaaaaa"}}}
	shuffled.FenceInstances = []string{"i-0bbbbbbbbbbbbbbbb", "i-0aaaaaaaaaaaaaaaa"}

	for _, tc := range []struct {
		file string
		doc  PolicyDocument
	}{
		{"policy-all.json", IAMPolicy(full)},
		{"policy-all.json", IAMPolicy(shuffled)},
		{"policy-vip-vpc.json", IAMPolicy(PolicyUses{VIPs: []VIPUse{{VPC: "vpc-0a1b2c3d"}}, AZ: true, Region: "ap-northeast-1"})},
		{"policy-dns.json", IAMPolicy(PolicyUses{DNS: []DNSUse{{HostedZoneID: "/hostedzone/Z0123456789ABCDEFGHIJ"}}})},
		{"policy-guide.json", AllActionsPolicy()},
		{"policy-none.json", IAMPolicy(PolicyUses{})},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.doc.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) || !bytes.HasSuffix(got, []byte("}\n")) {
				t.Fatalf("invalid JSON:\n%s", got)
			}
			again, _ := tc.doc.JSON()
			if !bytes.Equal(got, again) {
				t.Error("JSON differs between two calls")
			}
			var back PolicyDocument
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.doc) {
				t.Errorf("round trip:\n%+v\nwant\n%+v", back, tc.doc)
			}
			path := filepath.Join("testdata", tc.file)
			if *policyUpdate {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -policy.update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("JSON differs from %s:\n%s", path, got)
			}
		})
	}
}

// AllActionsPolicy is the guide's policy: same JSON value as printed.
func TestAllActionsPolicyIsTheGuides(t *testing.T) {
	var want, got any
	if err := json.Unmarshal([]byte(guideAllActionsPolicy), &want); err != nil {
		t.Fatal(err)
	}
	b, err := AllActionsPolicy().JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AllActionsPolicy =\n%s\nwant the guide's\n%s", b, guideAllActionsPolicy)
	}
	// Reading the guide's text gives the same document.
	var doc PolicyDocument
	if err := json.Unmarshal([]byte(guideAllActionsPolicy), &doc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc, AllActionsPolicy()) {
		t.Errorf("parsed guide policy = %+v", doc)
	}
	// Every action IAMPolicy grants for the guide's four types is within
	// the guide's policy (ec2:Describe* covers the Describe actions).
	for _, a := range IAMPolicy(PolicyUses{VIPs: []VIPUse{{}}, EIPs: []EIPUse{{}}, DNS: []DNSUse{{}}, AZ: true}).Actions() {
		if a == "route53:GetChange" || a == "route53:GetHostedZone" {
			continue // beyond the guide, documented
		}
		if !slices.Contains(AllActionsPolicy().Statement[0].Action, a) && !strings.HasPrefix(a, "ec2:Describe") {
			t.Errorf("%s is not in the guide's policy", a)
		}
	}
}

func TestPolicyValuesJSON(t *testing.T) {
	for _, tc := range []struct {
		v    PolicyValues
		json string
	}{
		{PolicyValues{"*"}, `"*"`},
		{PolicyValues{"a", "b"}, `["a","b"]`},
		{PolicyValues{}, `[]`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.json {
			t.Errorf("Marshal(%q) = %s, %v; want %s", tc.v, b, err, tc.json)
		}
	}
	var v PolicyValues
	if err := json.Unmarshal([]byte(`null`), &v); err != nil || v != nil {
		t.Errorf("Unmarshal(null) = %q, %v", v, err)
	}
	for _, bad := range []string{`1`, `{"a":1}`, `[1]`, `null x`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) accepted: %q", bad, v)
		}
	}
}

func ExampleIAMPolicy() {
	doc := IAMPolicy(PolicyUses{
		DNS:     []DNSUse{{HostedZoneID: "Z123"}},
		AZ:      true,
		Region:  "ap-northeast-1",
		Account: "123456789012",
	})
	b, _ := doc.JSON()
	fmt.Print(string(b))
	// Output:
	// {
	//   "Version": "2012-10-17",
	//   "Statement": [
	//     {
	//       "Sid": "EC2Describe",
	//       "Effect": "Allow",
	//       "Action": "ec2:DescribeAvailabilityZones",
	//       "Resource": "*"
	//     },
	//     {
	//       "Sid": "DNSRecords",
	//       "Effect": "Allow",
	//       "Action": [
	//         "route53:ChangeResourceRecordSets",
	//         "route53:GetHostedZone",
	//         "route53:ListResourceRecordSets"
	//       ],
	//       "Resource": "arn:aws:route53:::hostedzone/Z123"
	//     },
	//     {
	//       "Sid": "DNSChangeStatus",
	//       "Effect": "Allow",
	//       "Action": "route53:GetChange",
	//       "Resource": "arn:aws:route53:::change/*"
	//     }
	//   ]
	// }
}
