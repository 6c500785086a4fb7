package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	haaws "github.com/minato-ops/minato/ha/aws"
	"github.com/minato-ops/minato/ha/aws/awstest"
)

// haAWSRun runs "minato ha ARGS" and returns the exit code and outputs.
func haAWSRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), append([]string{"ha"}, args...), env)
	return code, out.String(), errb.String()
}

// haSquash collapses each run of spaces in a table's output to one, so
// that assertions do not depend on the column widths.
func haSquash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// haAWSConfig writes an agent configuration into a new directory and
// returns its path. Its key_file (ha.key) is never created.
func haAWSConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// haAWSEnv gives the SDK's default chain static test credentials and no
// shared files, as the agent's AWS tests do.
func haAWSEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCLITEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "cli-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
}

const haAWSVIPConfig = `
ha:
  cluster: guide
  node: node1
  key_file: ha.key
  nodes: [{name: node1, addresses: ["10.0.110.11:19470"]}, {name: node2, addresses: ["10.0.120.12:19470"]}]
  aws: {region: ap-northeast-1}
  groups:
    - name: failover1
      nodes: [node1, node2]
      resources:
        - name: awsvip1
          aws_vip: {ip: 10.1.0.20, vpc: vpc-0123456789abcdef0}
          per_node:
            node1: {eni: eni-0aaaaaaaaaaaaaaa1}
            node2: {eni: eni-0bbbbbbbbbbbbbbb2}
      monitors:
        - name: awsazw1
          aws_az: {}
`

const haAWSVIPPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EC2Describe",
      "Effect": "Allow",
      "Action": [
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "ec2:DescribeVpcs"
      ],
      "Resource": "*"
    },
    {
      "Sid": "VirtualIPRoutesInVPC1",
      "Effect": "Allow",
      "Action": "ec2:ReplaceRoute",
      "Resource": "arn:aws:ec2:ap-northeast-1:123456789012:route-table/*",
      "Condition": {
        "ArnEquals": {
          "ec2:Vpc": "arn:aws:ec2:ap-northeast-1:123456789012:vpc/vpc-0123456789abcdef0"
        }
      }
    }
  ]
}
`

const haAWSEIPConfig = `
ha:
  cluster: guide
  node: node1
  key_file: ha.key
  nodes: [{name: node1, addresses: ["10.0.10.11:19470"]}, {name: node2, addresses: ["10.0.20.12:19470"]}]
  groups:
    - name: failover1
      nodes: [node1, node2]
      resources:
        - name: awseip1
          aws_eip: {allocation_id: eipalloc-0123456789abcdef0, eni: eni-0aaaaaaaaaaaaaaa1}
          per_node:
            node2: {eni: eni-0bbbbbbbbbbbbbbb2}
`

const haAWSEIPPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EC2Describe",
      "Effect": "Allow",
      "Action": [
        "ec2:DescribeAddresses",
        "ec2:DescribeNetworkInterfaces"
      ],
      "Resource": "*"
    },
    {
      "Sid": "ElasticIPAssociation",
      "Effect": "Allow",
      "Action": [
        "ec2:AssociateAddress",
        "ec2:DisassociateAddress"
      ],
      "Resource": [
        "arn:aws:ec2:*:*:elastic-ip/eipalloc-0123456789abcdef0",
        "arn:aws:ec2:*:*:network-interface/eni-0aaaaaaaaaaaaaaa1",
        "arn:aws:ec2:*:*:network-interface/eni-0bbbbbbbbbbbbbbb2"
      ]
    }
  ]
}
`

const haAWSDNSConfig = `
ha:
  cluster: guide
  node: node1
  key_file: ha.key
  nodes: [{name: node1, addresses: ["10.0.110.11:19470"]}, {name: node2, addresses: ["10.0.120.12:19470"]}]
  aws: {region: ap-northeast-1}
  witness:
    dynamodb: {table: minato-ha}
  groups:
    - name: failover1
      nodes: [node1, node2]
      resources:
        - name: awsdns1
          aws_dns: {hosted_zone_id: Z0123456789ABCDEFGHIJ, name: srv.hz1.local.}
          per_node:
            node1: {ip: 10.0.110.11}
            node2: {ip: 10.0.120.12}
      monitors:
        - name: awsazw1
          aws_az: {zone: ap-northeast-1a}
          per_node:
            node2: {zone: ap-northeast-1c}
`

const haAWSDNSPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EC2Describe",
      "Effect": "Allow",
      "Action": "ec2:DescribeAvailabilityZones",
      "Resource": "*"
    },
    {
      "Sid": "DNSRecords",
      "Effect": "Allow",
      "Action": [
        "route53:ChangeResourceRecordSets",
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets"
      ],
      "Resource": "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
    },
    {
      "Sid": "DNSChangeStatus",
      "Effect": "Allow",
      "Action": "route53:GetChange",
      "Resource": "arn:aws:route53:::change/*"
    },
    {
      "Sid": "LeaseTable",
      "Effect": "Allow",
      "Action": [
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem"
      ],
      "Resource": "arn:aws:dynamodb:ap-northeast-1:*:table/minato-ha"
    }
  ]
}
`

// The guide's three client-access patterns, from configuration files
// whose HA key file does not exist: the policy JSON exactly.
func TestHAIAMPolicyGolden(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		args      []string
		want      string
	}{
		{"vip", haAWSVIPConfig, []string{"--account", "123456789012"}, haAWSVIPPolicy},
		{"eip", haAWSEIPConfig, nil, haAWSEIPPolicy},
		{"dns", haAWSDNSConfig, nil, haAWSDNSPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := haAWSConfig(t, tc.cfg)
			code, out, errOut := haAWSRun(t, append([]string{"iam-policy", "--config", p}, tc.args...)...)
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, tc.want, out)
			assert.Empty(t, errOut)
		})
	}
}

func TestHAIAMPolicyOptions(t *testing.T) {
	// --region overrides ha.aws.region, --partition names the ARNs'.
	p := haAWSConfig(t, haAWSVIPConfig)
	code, out, errOut := haAWSRun(t, "iam-policy", "--config", p, "--region", "cn-north-1", "--partition", "aws-cn")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"arn:aws-cn:ec2:cn-north-1:*:route-table/*"`)
	assert.NotContains(t, out, "ap-northeast-1")

	// --json: what the policy comes from, and the policy.
	code, out, errOut = haAWSRun(t, "iam-policy", "--config", p, "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Uses   haaws.PolicyUses     `json:"uses"`
		Policy haaws.PolicyDocument `json:"policy"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, []haaws.VIPUse{{VPC: "vpc-0123456789abcdef0"}}, rep.Uses.VIPs)
	assert.True(t, rep.Uses.AZ)
	assert.Equal(t, "ap-northeast-1", rep.Uses.Region)
	assert.Equal(t, haaws.IAMPolicy(rep.Uses), rep.Policy)

	// An ENI learnt from the instance metadata (none for node2): any ENI.
	p = haAWSConfig(t, strings.Replace(haAWSEIPConfig, ", eni: eni-0aaaaaaaaaaaaaaa1}", "}", 1))
	code, out, errOut = haAWSRun(t, "iam-policy", "--config", p)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"arn:aws:ec2:*:*:network-interface/*"`)
	assert.NotContains(t, out, "eni-0bbbbbbbbbbbbbbb2")

	// A lease table given by its ARN, and the fencing instances.
	p = haAWSConfig(t, strings.Replace(haAWSDNSConfig, "{table: minato-ha}", "{table: 'arn:aws:dynamodb:ap-northeast-1:123456789012:table/ha-lease'}", 1)+
		"  fence:\n    aws: {instances: {node1: i-0aaaaaaaaaaaaaaa1, node2: i-0bbbbbbbbbbbbbbb2}}\n")
	code, out, errOut = haAWSRun(t, "iam-policy", "--config", p)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"arn:aws:dynamodb:ap-northeast-1:*:table/ha-lease"`)
	assert.Contains(t, out, `"arn:aws:ec2:ap-northeast-1:*:instance/i-0aaaaaaaaaaaaaaa1"`)
	assert.Contains(t, out, `"ec2:StopInstances"`)

	// --all: the guide's policy, without a configuration.
	code, out, errOut = haAWSRun(t, "iam-policy", "--all")
	require.Equal(t, 0, code, errOut)
	want, err := haaws.AllActionsPolicy().JSON()
	require.NoError(t, err)
	assert.Equal(t, string(want), out)
	assert.Contains(t, out, `"ec2:Describe*"`)
}

func TestHAIAMPolicyUsageErrors(t *testing.T) {
	script := haAWSConfig(t, `
ha:
  cluster: c1
  node: node1
  key_file: ha.key
  nodes: [{name: node1, addresses: ["127.0.0.1:19470"]}, {name: node2, addresses: ["127.0.0.1:19471"]}]
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: mark
          script:
            start: {argv: ["true"]}
            stop: {argv: ["true"]}
            check: {argv: ["true"]}
`)
	noHA := haAWSConfig(t, "jobs: {enabled: true}\n")
	vip := haAWSConfig(t, haAWSVIPConfig)
	bad := haAWSConfig(t, "ha: {cluster: c1, node: node1}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "needs --config FILE"},
		{[]string{"--config", script}, "the ha: section has no AWS part (aws_vip, aws_eip or aws_dns resource, aws_az monitor, dynamodb witness, aws fence): there is no IAM policy to print"},
		{[]string{"--config", noHA}, "has no ha: section"},
		{[]string{"--config", vip, "--account", "12345"}, `--account "12345": want the 12-digit AWS account ID`},
		{[]string{"--config", vip, "--partition", "azure"}, `--partition "azure": want aws, aws-cn, aws-us-gov`},
		{[]string{"--config", vip, "--region", "Tokyo"}, `--region "Tokyo": want an AWS region`},
		{[]string{"--all", "--config", vip}, "--config does not apply"},
		{[]string{"--config", vip, "extra"}, `takes no arguments, got "extra"`},
		{[]string{"--config", bad}, "key_file: required"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, "no such file"},
	} {
		code, out, errOut := haAWSRun(t, append([]string{"iam-policy"}, tc.args...)...)
		assert.Equal(t, 1, code, "%v", tc.args)
		assert.Empty(t, out, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	code, out, _ := haAWSRun(t, "iam-policy", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "--all prints instead the guide's custom policy")
}

// haGuide is the test endpoint with the guide's topology for two nodes.
type haGuide struct {
	srv *awstest.Server
	g   awstest.Guide
}

func newHAGuide(t *testing.T) haGuide {
	t.Helper()
	haAWSEnv(t)
	srv := awstest.New(awstest.Options{})
	t.Cleanup(srv.Close)
	return haGuide{srv: srv, g: srv.Guide(2)}
}

// haGuideValues are the values of a guide configuration a test changes.
type haGuideValues struct {
	VIP, VPC, Alloc, Zone, Record, Table, Extra string
}

// config writes the guide's configuration for node1 (on instance
// i-node1, whose metadata the clients ask): the three client-access
// patterns, an AZ monitor, the DynamoDB lease and fencing.
func (h haGuide) config(t *testing.T, mod func(*haGuideValues)) string {
	t.Helper()
	v := haGuideValues{VIP: h.g.VIP, VPC: h.g.VPC, Alloc: h.g.AllocationID, Zone: h.g.HostedZoneID, Record: h.g.RecordName, Table: h.g.LeaseTable}
	if mod != nil {
		mod(&v)
	}
	return haAWSConfig(t, fmt.Sprintf(`
ha:
  cluster: guide
  node: node1
  key_file: ha.key
  nodes: [{name: node1, addresses: ["127.0.0.1:19470"]}, {name: node2, addresses: ["127.0.0.1:19471"]}]
  aws: {region: %s, endpoint: %q, imds_endpoint: %q, call_timeout: 5s}
  witness:
    dynamodb: {table: %s}
  fence:
    aws: {instances: {node1: %s, node2: %s}}
  groups:
    - name: vip
      nodes: [node1, node2]
      resources:
        - name: awsvip1
          aws_vip: {ip: %s, vpc: %s}
%s      monitors:
        - name: awsazw1
          aws_az: {}
    - name: eip
      nodes: [node1, node2]
      resources:
        - name: awseip1
          aws_eip: {allocation_id: %s}
    - name: dns
      nodes: [node1, node2]
      resources:
        - name: awsdns1
          aws_dns: {hosted_zone_id: %s, name: %s}
`, h.srv.Region(), h.srv.URL(), h.srv.IMDS(h.g.Instances[0]), v.Table, h.g.Instances[0], h.g.Instances[1],
		v.VIP, v.VPC, v.Extra, v.Alloc, v.Zone, v.Record))
}

// The guide's topology is all right: exit 0, every check OK, the two
// that cannot be made read-only against this endpoint marked so.
func TestHACheckGuide(t *testing.T) {
	h := newHAGuide(t)
	p := h.config(t, nil)
	code, out, errOut := haAWSRun(t, "check", "--config", p)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Empty(t, errOut)
	out = haSquash(out)
	for _, want := range []string{
		"node node1 (this machine), region ap-northeast-1",
		"RESOURCE CHECK",
		"aws credentials OK: from the environment (AWS_ACCESS_KEY_ID)",
		"aws instance OK: i-node1 in ap-northeast-1a, primary ENI eni-node1 (10.0.110.11) in vpc-guide",
		"awsvip1 VIP outside the VPC OK: 10.1.0.20 is outside 10.0.0.0/16",
		"awsvip1 route tables OK: 10.1.0.20/32: rtb-private-a → eni-node1, rtb-private-b → eni-node1, rtb-public-ab → eni-node1",
		"awsvip1 Source/Dest. Check OK: disabled on eni-node1",
		"awsvip1 ReplaceRoute permission NOT TESTED: cannot be tested without changing a route",
		"check: Allow ec2:ReplaceRoute on arn:aws:ec2:ap-northeast-1:*:route-table/rtb-private-a, ",
		"awsazw1 availability zone OK: The availability zone ap-northeast-1a is available.",
		"awseip1 allocation OK: eipalloc-guide (203.0.113.10) is associated with eni-node1 (10.0.110.11)",
		"awsdns1 hosted zone OK: ZGUIDE: hz1.local. (private)",
		"awsdns1 VPC association NOT TESTED:",
		"awsdns1 record OK: srv.hz1.local. A 10.0.110.11, TTL 60",
		"lease lease table OK: minato-ha: key schema key (S, HASH)",
		"fence instance of node2 OK: i-node2 is running",
		"19 checks: 17 OK, 2 not tested, no problem",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "PROBLEM")

	code, out, errOut = haAWSRun(t, "check", "--config", p, "--json")
	require.Equal(t, 0, code, errOut)
	var rep haCheckReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.True(t, rep.OK)
	assert.Equal(t, "node1", rep.Node)
	assert.False(t, rep.Remote)
	assert.Equal(t, "ap-northeast-1", rep.Region)
	assert.Len(t, rep.Findings, 19)
	for _, f := range rep.Findings {
		assert.True(t, f.OK, "%+v", f)
	}
}

// Each thing the guide's troubleshooting lists, made wrong on the
// account or in the configuration: reported in the guide's words with
// its fix, exit 1.
func TestHACheckProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h haGuide)
		mod   func(v *haGuideValues)
		want  []string
	}{
		{name: "source/dest check", setup: func(h haGuide) { h.srv.SetSourceDestCheck("eni-node1", true) }, want: []string{
			"awsvip1 Source/Dest. Check PROBLEM: Source/Dest. Check is enabled on eni-node1: the AWS virtual IP resource activates, but ping to the VIP fails.",
			"fix: Disable Source/Dest. Check on the ENI",
			"--network-interface-id eni-node1 --no-source-dest-check",
		}},
		{name: "VIP inside the VPC", mod: func(v *haGuideValues) { v.VIP = "10.0.5.5" }, want: []string{
			"awsvip1 VIP outside the VPC PROBLEM: The VIP address 10.0.5.5 belongs to a VPC subnet.",
			"fix: Use an IP address outside the VPC's CIDR blocks (10.0.5.5 is inside 10.0.0.0/16)",
		}},
		{name: "no route for the VIP", setup: func(h haGuide) {
			for _, rt := range h.g.RouteTables {
				h.srv.SetRoute(rt, h.g.VIP+"/32", "")
			}
		}, want: []string{
			"awsvip1 route tables PROBLEM: None of the route tables of vpc-guide has a route for 10.1.0.20/32.",
			"fix: Add the route 10.1.0.20/32 to any cluster node's ENI to every route table of vpc-guide whose subnets' clients use the VIP",
		}},
		{name: "missing VPC", mod: func(v *haGuideValues) { v.VPC = "vpc-deadbeef" }, want: []string{
			"awsvip1 VPC PROBLEM: The vpc ID 'vpc-deadbeef' does not exist",
			"fix: Specify the correct VPC ID",
		}},
		{name: "missing allocation", mod: func(v *haGuideValues) { v.Alloc = "eipalloc-missing" }, want: []string{
			"awseip1 allocation PROBLEM: The allocation ID 'eipalloc-missing' does not exist",
			"fix: Specify the correct EIP allocation ID",
		}},
		{name: "missing hosted zone", mod: func(v *haGuideValues) { v.Zone = "ZMISSING" }, want: []string{
			"awsdns1 hosted zone PROBLEM: No hosted zone found with ID: ZMISSING",
			"fix: Specify the correct hosted zone ID",
		}},
		{name: "record outside the zone", mod: func(v *haGuideValues) { v.Record = "srv.example.com." }, want: []string{
			"awsdns1 record name PROBLEM: srv.example.com. is not in the hosted zone ZGUIDE (hz1.local.).",
		}},
		{name: "missing lease table", mod: func(v *haGuideValues) { v.Table = "minato-missing" }, want: []string{
			"lease lease table PROBLEM: The lease table minato-missing does not exist in region ap-northeast-1.",
			`fix: Create it in the region of the other AWS calls with the partition key "key" of type String and no sort key`,
		}},
		{name: "another node's ENI", mod: func(v *haGuideValues) {
			v.Extra = "          per_node: {node1: {eni: eni-node2}}\n"
		}, want: []string{
			"awsvip1 ENI PROBLEM: The ENI eni-node2 is attached to instance i-node2, not to this instance i-node1: the traffic would go elsewhere.",
		}},
		{name: "impaired zone", setup: func(h haGuide) { h.srv.SetZoneState("ap-northeast-1a", "impaired") }, want: []string{
			"awsazw1 availability zone PROBLEM: The availability zone ap-northeast-1a is impaired.",
		}},
		{name: "denied read", setup: func(h haGuide) { h.srv.Deny("DescribeRouteTables") }, want: []string{
			"awsvip1 route tables PROBLEM: You are not authorized to perform this operation.",
			"fix: Allow ec2:DescribeRouteTables in the IAM policy",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHAGuide(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			p := h.config(t, tc.mod)
			code, out, errOut := haAWSRun(t, "check", "--config", p)
			assert.Equal(t, 1, code, "%s\n%s", out, errOut)
			out = haSquash(out)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			assert.Regexp(t, `\d+ checks: \d+ OK, (\d+ not tested, )?\d+ problems?\n$`, out)
			// Nothing was changed on the account.
			for _, a := range []string{"ReplaceRoute", "AssociateAddress", "DisassociateAddress", "ChangeResourceRecordSets", "PutItem", "UpdateItem", "StopInstances"} {
				assert.Zero(t, h.srv.Calls(a), a)
			}
		})
	}
}

// Another node's values, checked from node1's machine: its own ENI and
// zone are not asked of this instance's metadata.
func TestHACheckOtherNode(t *testing.T) {
	h := newHAGuide(t)
	p := h.config(t, nil)
	code, out, errOut := haAWSRun(t, "check", "--config", p, "--node", "node2")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	out = haSquash(out)
	for _, want := range []string{
		"node node2 (checked from another machine: its instance metadata is not asked), region ap-northeast-1",
		"awsvip1 ENI NOT TESTED: no ENI is given for node node2",
		"check: Run the check on node node2 itself, or give its ENI ID per node.",
		"awsazw1 availability zone NOT TESTED:",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "aws instance")

	// With node2's ENI given it is checked, Source/Dest. Check included.
	h.srv.SetSourceDestCheck("eni-node2", true)
	p = h.config(t, func(v *haGuideValues) { v.Extra = "          per_node: {node2: {eni: eni-node2}}\n" })
	code, out, _ = haAWSRun(t, "check", "--config", p, "--node", "node2")
	assert.Equal(t, 1, code, out)
	out = haSquash(out)
	assert.Contains(t, out, "awsvip1 ENI OK: eni-node2 (10.0.120.12) in vpc-guide, attached to i-node2")
	assert.Contains(t, out, "PROBLEM: Source/Dest. Check is enabled on eni-node2")
}

func TestHACheckUsageAndLoadErrors(t *testing.T) {
	h := newHAGuide(t)
	p := h.config(t, nil)
	script := haAWSConfig(t, `
ha:
  cluster: c1
  node: node1
  key_file: ha.key
  nodes: [{name: node1, addresses: ["127.0.0.1:19470"]}, {name: node2, addresses: ["127.0.0.1:19471"]}]
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: mark
          script:
            start: {argv: ["true"]}
            stop: {argv: ["true"]}
            check: {argv: ["true"]}
`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "needs --config FILE"},
		{[]string{"--config", p, "--node", "node3"}, `--node "node3": not one of ha.nodes (node1, node2)`},
		{[]string{"--config", script}, "node node1 uses no AWS part"},
		{[]string{"--config", p, "--timeout", "0s"}, "want a duration greater than 0"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, "no such file"},
		{[]string{"--config", p, "now"}, `takes no arguments, got "now"`},
	} {
		code, out, errOut := haAWSRun(t, append([]string{"check"}, tc.args...)...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		assert.Empty(t, out, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	code, out, _ := haAWSRun(t, "check", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Exit 0 when nothing is wrong")

	// No region anywhere and no metadata service: a finding, exit 1.
	noRegion := haAWSConfig(t, strings.Replace(haAWSDNSConfig, "aws: {region: ap-northeast-1}", `aws: {imds_endpoint: "http://127.0.0.1:1", call_timeout: 1s, max_attempts: 1}`, 1))
	start := time.Now()
	code, out, errOut := haAWSRun(t, "check", "--config", noRegion)
	assert.Equal(t, 1, code, errOut)
	out = haSquash(out)
	assert.Contains(t, out, "aws region and credentials PROBLEM: The AWS configuration could not be loaded: no region configured")
	assert.Contains(t, out, "fix: Set the region (ha.aws.region, AWS_REGION or the shared config file)")
	assert.Less(t, time.Since(start), 20*time.Second)
}

// No credentials and no IAM role on the instance: the guide's "IAM role
// not set", and no other AWS call.
func TestHACheckNoRole(t *testing.T) {
	h := newHAGuide(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	// An instance the endpoint does not know has no role to list.
	p := haAWSConfig(t, strings.Replace(haReadFile(t, h.config(t, nil)), h.srv.IMDS(h.g.Instances[0]), h.srv.IMDS("i-norole"), 1))
	code, out, errOut := haAWSRun(t, "check", "--config", p)
	assert.Equal(t, 1, code, errOut)
	out = haSquash(out)
	assert.Contains(t, out, "aws credentials PROBLEM: IAM role not set on the instance: its metadata answers 404 Not Found at /latest/meta-data/iam/security-credentials/")
	assert.Contains(t, out, "fix: Give this node AWS credentials: attach an IAM role")
	assert.Zero(t, h.srv.Calls("DescribeVpcs"))

	// With the role: the credentials come from it.
	code, out, errOut = haAWSRun(t, "check", "--config", h.config(t, nil))
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "OK: from the instance's IAM role "+awstest.RoleName)
}

func haReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}
