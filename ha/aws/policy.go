package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Resource-level permissions, as the AWS Service Authorization Reference
// states them ("Actions, resources, and condition keys for Amazon EC2",
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html;
// for Amazon Route 53, .../list_amazonroute53.html; for Amazon DynamoDB,
// .../list_amazondynamodb.html), cross-checked against its machine-readable
// form (servicereference.us-east-1.amazonaws.com/v1/<service>/<service>.json,
// as generated into udondan/iam-floyd, snapshot 50d8b53):
//   - ec2:Describe* (DescribeVpcs, DescribeNetworkInterfaces,
//     DescribeRouteTables, DescribeAddresses, DescribeAvailabilityZones,
//     DescribeInstances) have no resource type, only ec2:Region: their
//     Resource must be "*".
//   - ec2:ReplaceRoute takes the route-table resource
//     (arn:${Partition}:ec2:${Region}:${Account}:route-table/${RouteTableId}),
//     whose condition keys include ec2:Vpc and ec2:RouteTableID.
//   - ec2:AssociateAddress and ec2:DisassociateAddress take the
//     elastic-ip (…:elastic-ip/${AllocationId}) and network-interface
//     (…:network-interface/${NetworkInterfaceId}) resources (condition keys
//     ec2:AllocationId, ec2:NetworkInterfaceID).
//   - ec2:StopInstances takes the instance resource
//     (…:instance/${InstanceId}, condition key ec2:InstanceID).
//   - route53:ChangeResourceRecordSets and route53:ListResourceRecordSets
//     require the hostedzone resource (arn:${Partition}:route53:::hostedzone/${Id});
//     route53:GetChange requires the change resource
//     (arn:${Partition}:route53:::change/${Id}), whose ID is only known
//     once the change is submitted, hence change/*.
//   - dynamodb:GetItem, PutItem, UpdateItem, DeleteItem and DescribeTable
//     require the table resource
//     (arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}).

// IAM actions per resource and monitor type, as CLUSTERPRO's AWS guide
// lists them (§8.1), plus what minato needs beyond it (commented).
var (
	policyVIPDescribe = []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeRouteTables"}
	policyVIPWrite    = []string{"ec2:ReplaceRoute"}
	policyEIPDescribe = []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeAddresses"}
	policyEIPWrite    = []string{"ec2:AssociateAddress", "ec2:DisassociateAddress"}
	policyDNSZone     = []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"}
	// route53:GetHostedZone is beyond the guide's list: minato ha check
	// ([Clients.Preflight]) reads the zone with it (that it exists,
	// whether it is private, its VPCs); the agent itself never calls it.
	policyDNSZoneRead = []string{"route53:GetHostedZone"}
	// route53:GetChange is beyond the guide's list: the DNS resource asks
	// it whether its change is INSYNC (on every Route 53 server) before
	// its activation counts as done. Without it the activation still
	// succeeds, logging that it could not wait.
	policyDNSChange  = []string{"route53:GetChange"}
	policyAZDescribe = []string{"ec2:DescribeAvailabilityZones"}
	// The lease witness and fencing are not in CLUSTERPRO's guide.
	policyLease         = []string{"dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	policyFenceDescribe = []string{"ec2:DescribeInstances"}
	policyFenceWrite    = []string{"ec2:StopInstances"}
)

// PolicyVersion is the IAM policy language version of every document.
const PolicyVersion = "2012-10-17"

// VIPUse is one AWS virtual IP resource for [IAMPolicy]: the VPC its route
// tables are in and, when known, the route tables that hold the VIP's /32
// route (CLUSTERPRO's guide: every one of them must be allowed).
type VIPUse struct {
	// VPC is the VPC's ID ("vpc-…"); empty means any.
	VPC string `json:"vpc,omitempty"`
	// RouteTables are the IDs of the tables holding the VIP's route
	// ("rtb-…"); empty means every table of VPC (a condition on ec2:Vpc).
	RouteTables []string `json:"route_tables,omitempty"`
}

// EIPUse is one AWS Elastic IP resource for [IAMPolicy].
type EIPUse struct {
	// AllocationID is the Elastic IP's allocation ID ("eipalloc-…");
	// empty means any.
	AllocationID string `json:"allocation_id,omitempty"`
	// ENIs are the network interfaces the address moves between, one per
	// node ("eni-…"); empty means any.
	ENIs []string `json:"enis,omitempty"`
}

// DNSUse is one AWS DNS resource for [IAMPolicy].
type DNSUse struct {
	// HostedZoneID is the Route 53 hosted zone's ID (a "/hostedzone/"
	// prefix is dropped); empty means any.
	HostedZoneID string `json:"hosted_zone_id,omitempty"`
}

// PolicyUses lists what a cluster's configuration uses on AWS, for
// [IAMPolicy]. IDs left empty widen the matching ARN to "*".
type PolicyUses struct {
	// VIPs are the AWS virtual IP resources.
	VIPs []VIPUse `json:"vips,omitempty"`
	// EIPs are the AWS Elastic IP resources.
	EIPs []EIPUse `json:"eips,omitempty"`
	// DNS are the AWS DNS resources.
	DNS []DNSUse `json:"dns,omitempty"`
	// AZ: an availability-zone monitor is configured.
	AZ bool `json:"az,omitempty"`
	// LeaseTables are the DynamoDB tables of lease witnesses.
	LeaseTables []string `json:"lease_tables,omitempty"`
	// FenceInstances are the instance IDs ("i-…") fencing may stop.
	FenceInstances []string `json:"fence_instances,omitempty"`
	// Region is the region of the EC2 and DynamoDB ARNs; "" means "*".
	Region string `json:"region,omitempty"`
	// Account is the 12-digit account ID of the ARNs; "" means "*".
	Account string `json:"account,omitempty"`
	// Partition is "aws" (the default), "aws-cn" or "aws-us-gov".
	Partition string `json:"partition,omitempty"`
}

// PolicyDocument is an IAM policy document. Its JSON is IAM's own.
type PolicyDocument struct {
	// Version is the policy language version, PolicyVersion.
	Version string `json:"Version"`
	// Statement lists the statements; IAM allows what any of them allows.
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a [PolicyDocument].
type PolicyStatement struct {
	// Sid names the statement (letters and digits).
	Sid string `json:"Sid,omitempty"`
	// Effect is "Allow".
	Effect string `json:"Effect"`
	// Action lists the actions ("ec2:ReplaceRoute").
	Action PolicyValues `json:"Action"`
	// Resource lists the ARNs, or "*".
	Resource PolicyValues `json:"Resource"`
	// Condition is operator → key → values, such as
	// {"ArnEquals": {"ec2:Vpc": ["arn:aws:ec2:…:vpc/vpc-1"]}}.
	Condition map[string]map[string]PolicyValues `json:"Condition,omitempty"`
}

// PolicyValues is a list of strings in a policy. IAM takes a single value
// as a plain string, as the guide's policy writes "Resource": "*": it is
// written that way, and read either way.
type PolicyValues []string

// MarshalJSON writes one value as a string, others as an array.
func (v PolicyValues) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]string(v))
}

// UnmarshalJSON reads a string or an array of strings.
func (v *PolicyValues) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*v = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = PolicyValues{s}
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("aws: policy values: want a string or an array of strings: %w", err)
	}
	*v = a
	return nil
}

// JSON returns the document as indented JSON (two spaces, a final
// newline), ready for the IAM console or aws iam create-policy. The order
// is stable: statements as IAMPolicy puts them, lists sorted, keys in
// IAM's usual order.
func (p PolicyDocument) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("aws: encoding the IAM policy: %w", err)
	}
	return buf.Bytes(), nil
}

// Actions returns every action the document allows, sorted, once each.
func (p PolicyDocument) Actions() []string {
	var all []string
	for _, s := range p.Statement {
		all = append(all, s.Action...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// IAMPolicy returns the least-privilege policy for what u uses: for each
// resource and monitor type the actions of CLUSTERPRO's AWS guide (§8.1),
// each on the resources it acts on where the service supports
// resource-level permissions:
//
//   - virtual IP: ec2:DescribeNetworkInterfaces, DescribeVpcs and
//     DescribeRouteTables on "*" (EC2's Describe actions support no
//     resource-level permissions); ec2:ReplaceRoute on the route tables
//     when they are known, else on route-table/* under the condition that
//     the table is in the VPC (ec2:Vpc);
//   - Elastic IP: ec2:DescribeNetworkInterfaces and DescribeAddresses on
//     "*"; ec2:AssociateAddress and DisassociateAddress on the allocation
//     and the nodes' network interfaces;
//   - DNS: route53:ChangeResourceRecordSets and ListResourceRecordSets on
//     the hosted zones, with route53:GetHostedZone (beyond the guide's
//     list: minato ha check reads the zone); route53:GetChange on change/*
//     (beyond the guide's list: it tells when a change is INSYNC);
//   - AZ monitor: ec2:DescribeAvailabilityZones on "*";
//   - lease witness: dynamodb:GetItem, PutItem, UpdateItem, DeleteItem and
//     DescribeTable on the tables;
//   - fencing: ec2:DescribeInstances on "*" and ec2:StopInstances on the
//     instances.
//
// Statements come in that order, with Sids; identical resources of several
// uses share a statement. Nothing used gives a document without
// statements. Compare [AllActionsPolicy], the guide's broader policy.
func IAMPolicy(u PolicyUses) PolicyDocument {
	b := policyBuilder{part: policyOr(u.Partition, "aws"), region: policyOr(u.Region, "*"), account: policyOr(u.Account, "*")}
	var describe []string
	if len(u.VIPs) > 0 {
		describe = append(describe, policyVIPDescribe...)
	}
	if len(u.EIPs) > 0 {
		describe = append(describe, policyEIPDescribe...)
	}
	if u.AZ {
		describe = append(describe, policyAZDescribe...)
	}
	if len(u.FenceInstances) > 0 {
		describe = append(describe, policyFenceDescribe...)
	}
	var sts []PolicyStatement
	if len(describe) > 0 {
		sts = append(sts, policyStatement("EC2Describe", describe, []string{"*"}, nil))
	}
	sts = append(sts, b.vip(u.VIPs)...)
	if len(u.EIPs) > 0 {
		var res []string
		for _, e := range u.EIPs {
			res = append(res, b.ec2ARN("elastic-ip", e.AllocationID))
			if len(e.ENIs) == 0 {
				res = append(res, b.ec2ARN("network-interface", ""))
			}
			for _, eni := range e.ENIs {
				res = append(res, b.ec2ARN("network-interface", eni))
			}
		}
		sts = append(sts, policyStatement("ElasticIPAssociation", policyEIPWrite, res, nil))
	}
	if len(u.DNS) > 0 {
		var res []string
		for _, d := range u.DNS {
			res = append(res, "arn:"+b.part+":route53:::hostedzone/"+policyOr(dnsZoneID(d.HostedZoneID), "*"))
		}
		sts = append(sts,
			policyStatement("DNSRecords", slices.Concat(policyDNSZone, policyDNSZoneRead), res, nil),
			policyStatement("DNSChangeStatus", policyDNSChange, []string{"arn:" + b.part + ":route53:::change/*"}, nil))
	}
	if len(u.LeaseTables) > 0 {
		var res []string
		for _, t := range u.LeaseTables {
			res = append(res, "arn:"+b.part+":dynamodb:"+b.region+":"+b.account+":table/"+policyOr(t, "*"))
		}
		sts = append(sts, policyStatement("LeaseTable", policyLease, res, nil))
	}
	if len(u.FenceInstances) > 0 {
		var res []string
		for _, id := range u.FenceInstances {
			res = append(res, b.ec2ARN("instance", id))
		}
		sts = append(sts, policyStatement("FenceStopInstances", policyFenceWrite, res, nil))
	}
	if sts == nil {
		sts = []PolicyStatement{}
	}
	return PolicyDocument{Version: PolicyVersion, Statement: sts}
}

// vip returns the ReplaceRoute statements: one for the route tables that
// are known, one per VPC whose tables are not (with the ec2:Vpc
// condition), in VPC order.
func (b policyBuilder) vip(vips []VIPUse) []PolicyStatement {
	var tables []string
	var vpcs []string
	anyTable := false
	for _, v := range vips {
		switch {
		case len(v.RouteTables) > 0:
			for _, t := range v.RouteTables {
				tables = append(tables, b.ec2ARN("route-table", t))
			}
		case v.VPC != "":
			vpcs = append(vpcs, v.VPC)
		default:
			anyTable = true
		}
	}
	var sts []PolicyStatement
	if anyTable {
		// Neither tables nor VPC known: any table (what the guide's
		// policy allows).
		tables = []string{b.ec2ARN("route-table", "")}
	}
	if len(tables) > 0 {
		sts = append(sts, policyStatement("VirtualIPRoutes", policyVIPWrite, tables, nil))
	}
	if anyTable {
		return sts
	}
	slices.Sort(vpcs)
	for i, vpc := range slices.Compact(vpcs) {
		sts = append(sts, policyStatement("VirtualIPRoutesInVPC"+strconv.Itoa(i+1), policyVIPWrite,
			[]string{b.ec2ARN("route-table", "")},
			map[string]map[string]PolicyValues{"ArnEquals": {"ec2:Vpc": {b.ec2ARN("vpc", vpc)}}}))
	}
	return sts
}

type policyBuilder struct{ part, region, account string }

// ec2ARN is the ARN of an EC2 resource; id "" means every one.
func (b policyBuilder) ec2ARN(typ, id string) string {
	return "arn:" + b.part + ":ec2:" + b.region + ":" + b.account + ":" + typ + "/" + policyOr(strings.TrimSpace(id), "*")
}

// policyStatement returns an Allow statement with its lists sorted and
// without repeats.
func policyStatement(sid string, actions, resources []string, cond map[string]map[string]PolicyValues) PolicyStatement {
	return PolicyStatement{Sid: sid, Effect: "Allow", Action: policySorted(actions), Resource: policySorted(resources), Condition: cond}
}

func policySorted(v []string) PolicyValues {
	s := slices.Clone(v)
	slices.Sort(s)
	s = slices.Compact(s)
	if slices.Contains(s, "*") {
		return PolicyValues{"*"}
	}
	return s
}

func policyOr(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

// AllActionsPolicy returns the custom policy of CLUSTERPRO's AWS guide
// (§8.1), verbatim: every action of its AWS resources and monitors
// (ec2:Describe*, ec2:ReplaceRoute, ec2:AssociateAddress,
// ec2:DisassociateAddress, route53:ChangeResourceRecordSets,
// route53:ListResourceRecordSets) on every resource. It is broader than
// [IAMPolicy]'s (any route table, address and hosted zone of the account),
// and it lacks what minato adds to CLUSTERPRO: route53:GetChange (the DNS
// resource then does not wait for INSYNC), the DynamoDB lease witness and
// fencing by ec2:StopInstances.
func AllActionsPolicy() PolicyDocument {
	return PolicyDocument{Version: PolicyVersion, Statement: []PolicyStatement{{
		Effect: "Allow",
		Action: PolicyValues{
			"ec2:Describe*",
			"ec2:ReplaceRoute",
			"ec2:AssociateAddress",
			"ec2:DisassociateAddress",
			"route53:ChangeResourceRecordSets",
			"route53:ListResourceRecordSets",
		},
		Resource: PolicyValues{"*"},
	}}}
}
