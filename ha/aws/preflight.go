package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Finding is the outcome of one check of [Clients.Preflight]: a problem
// in the words of CLUSTERPRO's AWS guide with the guide's fix, or what was
// found.
type Finding struct {
	// Resource names what was checked: a resource or monitor by its
	// configured name, "aws" for the credentials, the region and this
	// instance, "lease" for the DynamoDB lease table, "fence" for the
	// instances fencing stops.
	Resource string `json:"resource"`
	// Check names the check ("VPC", "Source/Dest. Check", "hosted zone").
	Check string `json:"check"`
	// OK is true when no problem was found: Problem is then empty.
	OK bool `json:"ok"`
	// Untested marks an OK finding whose check cannot be made from here
	// or without changing anything (ReplaceRoute, the VPCs of a private
	// hosted zone when AWS does not list them, another node's own ENI):
	// Detail says what must hold.
	Untested bool `json:"untested,omitempty"`
	// Detail says what was found (an Elastic IP's current association,
	// the route tables holding the VIP's route), or, with a problem,
	// the error behind it.
	Detail string `json:"detail,omitempty"`
	// Problem states what is wrong; for a failed AWS call the detail of
	// CLUSTERPRO's code 5 or 6 ("The vpc ID 'vpc-…' does not exist",
	// "You are not authorized to perform this operation.", "Timeout
	// occurred.", "Failed in the AWS CLI command.").
	Problem string `json:"problem,omitempty"`
	// Remedy says how to fix the problem.
	Remedy string `json:"remedy,omitempty"`
}

// PreflightVIP is an AWS virtual IP resource to check, with its name.
type PreflightVIP struct {
	// Resource is the resource's name (awsvip1), for the findings.
	Resource string `json:"resource"`
	VIPConfig
}

// PreflightEIP is an AWS Elastic IP resource to check, with its name.
type PreflightEIP struct {
	// Resource is the resource's name (awsvip1), for the findings.
	Resource string `json:"resource"`
	EIPConfig
}

// PreflightDNS is an AWS DNS resource to check, with its name.
type PreflightDNS struct {
	// Resource is the resource's name (awsvip1), for the findings.
	Resource string `json:"resource"`
	DNSConfig
}

// PreflightAZ is an AWS AZ monitor to check, with its name.
type PreflightAZ struct {
	// Resource is the monitor's name (awsazw1), for the findings.
	Resource string `json:"resource"`
	AZConfig
}

// PreflightInput is what one node uses on AWS, with that node's values
// (its ENI, IP and zone where they differ per node).
type PreflightInput struct {
	// Node is the node's name, for messages and the fencing checks.
	Node string `json:"node,omitempty"`
	// Remote says the node is another machine than the one running the
	// check: the instance metadata then describes this machine, not the
	// node, so it is not asked, and an ENI or zone left empty (the node
	// learns its own at run time) is not checked.
	Remote bool `json:"remote,omitempty"`
	// VIPs, EIPs and DNS are the node's AWS resources, AZs its AZ
	// monitors.
	VIPs []PreflightVIP `json:"vips,omitempty"`
	EIPs []PreflightEIP `json:"eips,omitempty"`
	DNS  []PreflightDNS `json:"dns,omitempty"`
	AZs  []PreflightAZ  `json:"azs,omitempty"`
	// LeaseTable is the DynamoDB table of the lease witness; "" for none.
	LeaseTable string `json:"lease_table,omitempty"`
	// Fence lists the instances fencing may stop; nil for none.
	Fence *FenceConfig `json:"fence,omitempty"`
}

// Resource names of the findings that are not about one resource or
// monitor.
const (
	// PreflightAWS names the findings about the credentials, the region
	// and this instance.
	PreflightAWS = "aws"
	// PreflightLease names the finding about the lease table.
	PreflightLease = "lease"
	// PreflightFence names the findings about the instances fencing stops.
	PreflightFence = "fence"
)

// preflightParallel bounds the resources checked at once.
const preflightParallel = 8

// Remedies of CLUSTERPRO's AWS guide (troubleshooting), shared by checks.
const (
	preflightFixTimeout  = "This node did not get an answer from the regional endpoint in time: check the route table, the NAT (running, and routed to) and the proxy settings, that no packet filter drops the traffic, and the node's load. Measure how long a call takes and keep the call timeout above it."
	preflightFixNoAnswer = "AWS gave no usable answer: check the AWS settings (region, credentials or the instance's IAM role), that the regional endpoint is not stopped for maintenance or a failure, the network path to it, and the node's load."
	preflightFixRoute53  = " VPC endpoints do not serve Route 53: with one, reach Route 53 through a NAT gateway, a NAT instance or a proxy server."
	preflightFixCreds    = "Give this node AWS credentials: attach an IAM role with the needed policy to the instance (recommended), or configure an IAM user's access key for the user the agent runs as (the environment, or $HOME/.aws/credentials; CLUSTERPRO looks in $HOME/.aws, then /root/.aws)."
	preflightFixLease    = `Create it in the region of the other AWS calls with the partition key "key" of type String and no sort key, and enable Time to Live on the attribute "ttl" (aws dynamodb create-table --table-name %s --attribute-definitions AttributeName=key,AttributeType=S --key-schema AttributeName=key,KeyType=HASH --billing-mode PAY_PER_REQUEST).`
	preflightFixENI      = "Specify the correct ENI ID: each node's own ENI (set individually per node)."
)

// preflightCredentials returns the credentials provider behind c's
// clients, nil when they do not tell (test fakes). A variable so tests
// can give one.
var preflightCredentials = func(c *Clients) sdkaws.CredentialsProvider {
	if o, ok := c.ec2.(interface{ Options() ec2.Options }); ok {
		return o.Options().Credentials
	}
	return nil
}

// preflight is one run of Clients.Preflight.
type preflight struct {
	c  *Clients
	in PreflightInput

	self    Instance // this instance, when !in.Remote and selfErr is nil
	selfErr error
}

// Preflight checks, without changing anything, that what p lists works
// on the account the clients reach, and returns one [Finding] per check,
// in a stable order: first the credentials, the region and (unless
// p.Remote) this instance as its metadata service describes it, then the
// resources in p's order, then the lease table and fencing.
//
//   - credentials: the SDK's chain resolves them (their source is shown,
//     never their value); "IAM role not set on the instance." when the
//     instance metadata answers 404 for iam/security-credentials/. Without
//     credentials no other AWS check runs.
//   - region: the clients' region, which must be the instance's.
//   - instance: ID, zone and primary ENI from IMDSv2 (with the hop-limit
//     diagnosis of [Clients.Self]).
//   - virtual IP: the VPC exists; the VIP is outside every CIDR block of
//     it (else "The VIP address <ip> belongs to a VPC subnet."); the route
//     tables of the VPC holding VIP/32 (at least one must); the ENI exists,
//     is in the VPC, is this instance's, and has Source/Dest. Check
//     disabled (else ping to the VIP fails); and, untested since it needs
//     a write, which route tables ec2:ReplaceRoute must be allowed on.
//   - Elastic IP: the allocation exists (its association shown); the ENI
//     exists and is this instance's.
//   - DNS: the hosted zone exists (route53:GetHostedZone, which only this
//     check needs: untested when it is not allowed), a private one
//     associated with the instance's VPC (a reminder when AWS does not
//     list its VPCs); the record name is lower case, with the trailing dot
//     and inside the zone; the record as it stands
//     (ListResourceRecordSets, which also tells a missing zone).
//   - AZ monitor: the zone exists and is available, and is this node's.
//   - lease: the table exists with the key schema key (S, HASH)
//     ([Lease.Check]).
//   - fencing: each instance exists; none but the node's own entry is this
//     instance.
//
// A failed AWS call gives a problem with the detail of CLUSTERPRO's code
// 5 or 6 (AWS's own text, "You are not authorized to perform this
// operation.", "Timeout occurred." or "Failed in the AWS CLI command.").
// The reads go out in parallel where they are independent, each bounded
// by the clients' per-call timeout and all by ctx.
func (c *Clients) Preflight(ctx context.Context, p PreflightInput) []Finding {
	if c == nil || c.ec2 == nil || c.route53 == nil || c.dynamo == nil {
		return []Finding{{Resource: PreflightAWS, Check: "clients", Problem: "No AWS clients to check with.", Remedy: "Build the clients with Load."}}
	}
	pf := &preflight{c: c, in: p}
	var creds []Finding
	credsOK := false
	var wg sync.WaitGroup
	wg.Go(func() { creds, credsOK = pf.credentials(ctx) })
	if !p.Remote {
		wg.Go(func() { pf.self, pf.selfErr = c.Self(ctx) })
	}
	wg.Wait()
	out := append(creds, pf.region())
	if !p.Remote {
		out = append(out, pf.instance())
	}
	if !credsOK {
		return out
	}
	var tasks []func() []Finding
	for _, v := range p.VIPs {
		tasks = append(tasks, func() []Finding { return pf.vip(ctx, v) })
	}
	for _, e := range p.EIPs {
		tasks = append(tasks, func() []Finding { return pf.eip(ctx, e) })
	}
	for _, d := range p.DNS {
		tasks = append(tasks, func() []Finding { return pf.dns(ctx, d) })
	}
	for _, z := range p.AZs {
		tasks = append(tasks, func() []Finding { return pf.az(ctx, z) })
	}
	if p.LeaseTable != "" {
		tasks = append(tasks, func() []Finding { return pf.lease(ctx) })
	}
	if p.Fence != nil {
		tasks = append(tasks, func() []Finding { return pf.fence(ctx) })
	}
	res := make([][]Finding, len(tasks))
	var g errgroup.Group
	g.SetLimit(preflightParallel)
	for i, t := range tasks {
		g.Go(func() error { res[i] = t(); return nil })
	}
	_ = g.Wait()
	for _, r := range res {
		out = append(out, r...)
	}
	return out
}

// okFinding is an OK finding.
func okFinding(res, check, detail string) Finding {
	return Finding{Resource: res, Check: check, OK: true, Detail: detail}
}

// untestedFinding is an OK finding whose check could not be made.
func untestedFinding(res, check, detail, remedy string) Finding {
	return Finding{Resource: res, Check: check, OK: true, Untested: true, Detail: detail, Remedy: remedy}
}

// problemFinding is a finding of a problem.
func problemFinding(res, check, what, remedy string) Finding {
	return Finding{Resource: res, Check: check, Problem: what, Remedy: remedy}
}

// failed is the finding of a failed AWS call made for check: the detail
// of CLUSTERPRO's code 5 or 6 as Problem, and the remedy for it: the
// guide's for a timeout, no answer or a refusal (naming action),
// notFound when AWS (or the answer) says the thing does not exist.
func failed(res, check, action string, err error, notFound string) Finding {
	re := apiError(err)
	f := Finding{Resource: res, Check: check, Problem: re.Detail}
	var ae smithy.APIError
	isAPI := errors.As(err, &ae)
	code := errorCode(err)
	switch {
	case re.Code == ha.CodeTimeout:
		f.Remedy, f.Detail = preflightFixTimeout, preflightCause(err)
	case re.Detail == detailUnauthorized:
		f.Remedy = fmt.Sprintf("Allow %s in the IAM policy of the instance's role (or IAM user).", action)
	case !isAPI && re.Detail != detailCLIFailed, // an answer without the thing
		strings.HasSuffix(code, ".NotFound"), strings.HasSuffix(code, ".Malformed"),
		code == "NoSuchHostedZone", code == "InvalidInput", code == "InvalidParameterValue", code == "ResourceNotFoundException":
		f.Remedy = notFound
	default: // no answer, throttling, or another refusal
		f.Remedy, f.Detail = preflightFixNoAnswer, preflightCause(err)
	}
	if strings.HasPrefix(action, "route53:") && (f.Remedy == preflightFixTimeout || f.Remedy == preflightFixNoAnswer) {
		f.Remedy += preflightFixRoute53
	}
	return f
}

// preflightCause is the error behind a generic problem text, cut to a
// readable length.
func preflightCause(err error) string {
	s := err.Error()
	const max = 600
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// credentials resolves the clients' credentials; ok is false when there
// are none (no other AWS check can run then).
func (pf *preflight) credentials(ctx context.Context) ([]Finding, bool) {
	const check = "credentials"
	prov := preflightCredentials(pf.c)
	if prov == nil {
		return []Finding{untestedFinding(PreflightAWS, check, "these clients do not tell where their credentials come from", "")}, true
	}
	cctx, cancel := pf.c.call(ctx)
	defer cancel()
	cr, err := prov.Retrieve(cctx)
	if err == nil {
		return []Finding{okFinding(PreflightAWS, check, "from "+pf.credentialSource(ctx, cr.Source))}, true
	}
	msg := err.Error()
	switch {
	case imdsNotFound(err) && strings.Contains(msg, "IMDS role"):
		return []Finding{{Resource: PreflightAWS, Check: check, Problem: "IAM role not set on the instance: its metadata answers 404 Not Found at /latest/meta-data/iam/security-credentials/, and no access key is configured. The other AWS checks were not run.",
			Remedy: preflightFixCreds, Detail: preflightCause(err)}}, false
	case isTimeout(err):
		return []Finding{{Resource: PreflightAWS, Check: check, Problem: detailTimeout + " Getting the credentials took too long; the other AWS checks were not run.",
			Remedy: "Access to the instance metadata is slow: check how long http://169.254.169.254/latest/meta-data/ takes from the node. Configuring an IAM user's access key instead of the role may reduce the chance of timeouts.", Detail: preflightCause(err)}}, false
	}
	return []Finding{{Resource: PreflightAWS, Check: check, Problem: "No AWS credentials were found (the environment, the shared files under $HOME/.aws, the instance's IAM role). The other AWS checks were not run.",
		Remedy: preflightFixCreds, Detail: preflightCause(err)}}, false
}

// credentialSource words where credentials came from.
func (pf *preflight) credentialSource(ctx context.Context, src string) string {
	switch {
	case src == "EnvConfigCredentials":
		return "the environment (AWS_ACCESS_KEY_ID)"
	case strings.HasPrefix(src, "SharedConfigCredentials"):
		if _, file, ok := strings.Cut(src, ": "); ok && file != "" {
			return "the shared credentials file " + file
		}
		return "the shared credentials file"
	case src == ec2rolecreds.ProviderName:
		if pf.c.imds != nil {
			if v, err := pf.c.imdsGet(ctx, "iam/security-credentials/"); err == nil {
				if roles := imdsList(v); len(roles) > 0 {
					return "the instance's IAM role " + roles[0]
				}
			}
		}
		return "the instance's IAM role"
	case src == "":
		return "an unnamed source"
	}
	return src
}

// region says which region the clients call, and compares it with the
// instance's.
func (pf *preflight) region() Finding {
	const check = "region"
	r := pf.c.region
	if !pf.in.Remote && pf.selfErr == nil && pf.self.Region != "" && pf.self.Region != r {
		return problemFinding(PreflightAWS, check, fmt.Sprintf("The AWS calls go to region %s, but this instance runs in %s.", r, pf.self.Region),
			fmt.Sprintf("Set the region to %s, or leave it unset: the instance's own region is then used.", pf.self.Region))
	}
	return okFinding(PreflightAWS, check, r)
}

// instance says what the metadata service told of this instance.
func (pf *preflight) instance() Finding {
	const check = "instance"
	if err := pf.selfErr; err != nil {
		f := problemFinding(PreflightAWS, check, "The instance metadata service did not describe this instance: "+err.Error(),
			"Run the check on the cluster node itself, an EC2 instance whose metadata service (IMDSv2) is enabled.")
		if errors.Is(err, ErrIMDSHopLimit) {
			f.Remedy = "Allow two hops for the metadata token (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2), or run the container with --network host."
		} else if isTimeout(err) {
			f.Problem = detailTimeout + " The instance metadata service did not answer in time: " + err.Error()
			f.Remedy = "Access to the instance metadata is slow or blocked: check http://169.254.169.254/latest/meta-data/ from the node."
		}
		return f
	}
	in := pf.self
	d := in.ID + " in " + in.Zone
	if p, has := in.PrimaryENI(); has {
		d += ", primary ENI " + p.ID
		if len(p.PrivateIPs) > 0 {
			d += " (" + p.PrivateIPs[0] + ")"
		}
		if p.VPCID != "" {
			d += " in " + p.VPCID
		}
	}
	return okFinding(PreflightAWS, check, d)
}

// localENI returns the ENI a resource uses on the node: the configured
// one, or (on the node itself) the instance's primary ENI. With none, f
// says why.
func (pf *preflight) localENI(res, eni string) (string, *Finding) {
	if eni != "" {
		return eni, nil
	}
	if pf.in.Remote {
		f := untestedFinding(res, "ENI", fmt.Sprintf("no ENI is given for node %s, which learns its own primary ENI from its instance metadata", pf.nodeName()),
			fmt.Sprintf("Run the check on node %s itself, or give its ENI ID per node.", pf.nodeName()))
		return "", &f
	}
	if pf.selfErr != nil {
		f := problemFinding(res, "ENI", "This node's ENI could not be learnt from the instance metadata service (see the instance check).", "Give the ENI ID in the configuration, or make the instance metadata service answer.")
		return "", &f
	}
	p, has := pf.self.PrimaryENI()
	if !has || p.ID == "" {
		f := problemFinding(res, "ENI", fmt.Sprintf("Instance %s has no primary ENI (device index 0) in its instance metadata.", pf.self.ID), "Give the ENI ID in the configuration.")
		return "", &f
	}
	return p.ID, nil
}

func (pf *preflight) nodeName() string {
	if pf.in.Node == "" {
		return "the node"
	}
	return pf.in.Node
}

// eniFinding checks an ENI that DescribeNetworkInterfaces returned:
// in vpc (when not ""), and this instance's (on the node itself).
func (pf *preflight) eniFinding(res, eni, vpc string, ni types.NetworkInterface) Finding {
	const check = "ENI"
	got := sdkaws.ToString(ni.VpcId)
	if vpc != "" && got != "" && got != vpc {
		return problemFinding(res, check, fmt.Sprintf("The networkInterface ID '%s' belongs to %s, not to %s.", eni, got, vpc),
			fmt.Sprintf("Specify this node's ENI in %s, or the VPC of the ENI.", vpc))
	}
	inst := ""
	if ni.Attachment != nil {
		inst = sdkaws.ToString(ni.Attachment.InstanceId)
	}
	if !pf.in.Remote && pf.selfErr == nil && pf.self.ID != "" && inst != pf.self.ID {
		where := "is not attached to any instance"
		if inst != "" {
			where = "is attached to instance " + inst
		}
		return problemFinding(res, check, fmt.Sprintf("The ENI %s %s, not to this instance %s: the traffic would go elsewhere.", eni, where, pf.self.ID),
			preflightFixENI)
	}
	d := eni
	if ip := sdkaws.ToString(ni.PrivateIpAddress); ip != "" {
		d += " (" + ip + ")"
	}
	if got != "" {
		d += " in " + got
	}
	if inst != "" {
		d += ", attached to " + inst
	}
	return okFinding(res, check, d)
}

// configFinding reports a configuration that cannot be checked.
func configFinding(res string, err error) Finding {
	return problemFinding(res, "configuration", err.Error(), "Correct the configuration.")
}

// vip checks an AWS virtual IP resource.
func (pf *preflight) vip(ctx context.Context, v PreflightVIP) []Finding {
	res := v.Resource
	if err := v.VIPConfig.Validate(); err != nil {
		return []Finding{configFinding(res, err)}
	}
	ip, _ := vipParseIP(v.IP)
	dest := ip.String() + "/32"
	eni, eniF := pf.localENI(res, v.ENI)
	var (
		vpcs   *ec2.DescribeVpcsOutput
		ni     types.NetworkInterface
		tables []types.RouteTable
		vpcErr error
		niErr  error
		rtErr  error
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		cctx, cancel := pf.c.call(ctx)
		defer cancel()
		vpcs, vpcErr = pf.c.ec2.DescribeVpcs(cctx, &ec2.DescribeVpcsInput{VpcIds: []string{v.VPC}})
	})
	if eni != "" {
		wg.Go(func() { ni, niErr = vipDescribeENI(ctx, pf.c, eni) })
	}
	wg.Go(func() { tables, rtErr = pf.routeTables(ctx, v.VPC) })
	wg.Wait()

	var out []Finding
	fixVPC := "Specify the correct VPC ID: the VPC the cluster's instances are in."
	var vpc *types.Vpc
	if vpcErr == nil && vpcs != nil {
		for i := range vpcs.Vpcs {
			if sdkaws.ToString(vpcs.Vpcs[i].VpcId) == v.VPC {
				vpc = &vpcs.Vpcs[i]
			}
		}
	}
	switch {
	case vpcErr != nil:
		out = append(out, failed(res, "VPC", "ec2:DescribeVpcs", vpcErr, fixVPC))
	case vpc == nil:
		out = append(out, problemFinding(res, "VPC", fmt.Sprintf("The vpc ID '%s' does not exist", v.VPC), fixVPC))
	default:
		blocks := preflightVPCBlocks(vpc)
		out = append(out, okFinding(res, "VPC", v.VPC+" ("+strings.Join(blocks, ", ")+")"))
		if cidr, in := vipInVPC(vpc, ip); in {
			out = append(out, problemFinding(res, "VIP outside the VPC", fmt.Sprintf("The VIP address %s belongs to a VPC subnet.", ip),
				fmt.Sprintf("Use an IP address outside the VPC's CIDR blocks (%s is inside %s): clients reach the VIP through the route tables, which cannot route an address of the VPC itself.", ip, cidr)))
		} else {
			out = append(out, okFinding(res, "VIP outside the VPC", fmt.Sprintf("%s is outside %s", ip, strings.Join(blocks, ", "))))
		}
	}

	var holding []vipRoute
	var without []string
	if rtErr == nil {
		for _, rt := range tables {
			id := sdkaws.ToString(rt.RouteTableId)
			found := false
			for _, r := range rt.Routes {
				if sdkaws.ToString(r.DestinationCidrBlock) == dest {
					holding = append(holding, vipRoute{table: id, target: vipTarget(r), eni: sdkaws.ToString(r.NetworkInterfaceId), state: r.State})
					found = true
				}
			}
			if !found {
				without = append(without, id)
			}
		}
	}
	switch {
	case rtErr != nil:
		out = append(out, failed(res, "route tables", "ec2:DescribeRouteTables", rtErr, fixVPC))
	case vpcErr != nil || vpc == nil:
		// The VPC finding says it: no tables to speak of.
	case len(holding) == 0:
		out = append(out, problemFinding(res, "route tables", fmt.Sprintf("None of the route tables of %s has a route for %s.", v.VPC, dest),
			fmt.Sprintf("Add the route %s to any cluster node's ENI to every route table of %s whose subnets' clients use the VIP: the AWS virtual IP resource re-points the routes that exist, it does not create them.", dest, v.VPC)))
	default:
		var parts []string
		for _, r := range vipSorted(holding) {
			parts = append(parts, r.describe())
		}
		d := dest + ": " + strings.Join(parts, ", ")
		if len(without) > 0 {
			slices.Sort(without)
			d += "; no route in " + strings.Join(without, ", ") + " (their subnets' clients cannot reach the VIP)"
		}
		out = append(out, okFinding(res, "route tables", d))
	}

	switch {
	case eniF != nil:
		out = append(out, *eniF)
	case niErr != nil:
		out = append(out, failed(res, "ENI", "ec2:DescribeNetworkInterfaces", niErr, preflightFixENI))
	default:
		out = append(out, pf.eniFinding(res, eni, v.VPC, ni))
		if sdkaws.ToBool(ni.SourceDestCheck) {
			out = append(out, problemFinding(res, "Source/Dest. Check", fmt.Sprintf("Source/Dest. Check is enabled on %s: the AWS virtual IP resource activates, but ping to the VIP fails.", eni),
				fmt.Sprintf("Disable Source/Dest. Check on the ENI (EC2 console: the network interface, Actions, Change source/dest. check; or aws ec2 modify-network-interface-attribute --network-interface-id %s --no-source-dest-check).", eni)))
		} else {
			out = append(out, okFinding(res, "Source/Dest. Check", "disabled on "+eni))
		}
	}

	if len(holding) > 0 {
		b := policyBuilder{part: "aws", region: pf.c.region, account: "*"}
		var arns []string
		for _, r := range vipSorted(holding) {
			arns = append(arns, b.ec2ARN("route-table", r.table))
		}
		out = append(out, untestedFinding(res, "ReplaceRoute permission",
			fmt.Sprintf("cannot be tested without changing a route: ec2:ReplaceRoute must be allowed on every route table of %s that holds %s (%s), or the activation fails with \"You are not authorized to perform this operation.\"", v.VPC, dest, vipTables(vipSorted(holding))),
			"Allow ec2:ReplaceRoute on "+strings.Join(arns, ", ")+" (or on every route table of the VPC, with the condition ec2:Vpc)."))
	}
	return out
}

// preflightVPCBlocks lists a VPC's IPv4 CIDR blocks that are in use.
func preflightVPCBlocks(vpc *types.Vpc) []string {
	blocks := []string{sdkaws.ToString(vpc.CidrBlock)}
	for _, a := range vpc.CidrBlockAssociationSet {
		if a.CidrBlockState != nil && (a.CidrBlockState.State == types.VpcCidrBlockStateCodeDisassociated || a.CidrBlockState.State == types.VpcCidrBlockStateCodeFailed) {
			continue
		}
		if b := sdkaws.ToString(a.CidrBlock); b != "" && !slices.Contains(blocks, b) {
			blocks = append(blocks, b)
		}
	}
	return slices.DeleteFunc(blocks, func(s string) bool { return s == "" })
}

// routeTables lists every route table of the VPC.
func (pf *preflight) routeTables(ctx context.Context, vpc string) ([]types.RouteTable, error) {
	in := &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: sdkaws.String("vpc-id"), Values: []string{vpc}}}}
	var out []types.RouteTable
	for range vipMaxPages {
		cctx, cancel := pf.c.call(ctx)
		page, err := pf.c.ec2.DescribeRouteTables(cctx, in)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, rt := range page.RouteTables {
			if id := sdkaws.ToString(rt.VpcId); id == "" || id == vpc {
				out = append(out, rt)
			}
		}
		next := sdkaws.ToString(page.NextToken)
		if next == "" || next == sdkaws.ToString(in.NextToken) {
			break
		}
		in.NextToken = sdkaws.String(next)
	}
	return out, nil
}

// eip checks an AWS Elastic IP resource.
func (pf *preflight) eip(ctx context.Context, e PreflightEIP) []Finding {
	res := e.Resource
	if err := e.EIPConfig.Validate(); err != nil {
		return []Finding{configFinding(res, err)}
	}
	r, err := NewEIP(pf.c, e.EIPConfig)
	if err != nil {
		return []Finding{configFinding(res, err)}
	}
	eni, eniF := pf.localENI(res, e.ENI)
	var (
		addr    types.Address
		ni      types.NetworkInterface
		addrErr error
		niErr   error
	)
	var wg sync.WaitGroup
	wg.Go(func() { addr, addrErr = r.address(ctx) })
	if eni != "" {
		wg.Go(func() { ni, niErr = vipDescribeENI(ctx, pf.c, eni) })
	}
	wg.Wait()
	var out []Finding
	if addrErr != nil {
		out = append(out, failed(res, "allocation", "ec2:DescribeAddresses", addrErr, "Specify the correct EIP allocation ID (the EC2 console lists them under Elastic IPs)."))
	} else {
		d := e.AllocationID
		if ip := sdkaws.ToString(addr.PublicIp); ip != "" {
			d += " (" + ip + ")"
		}
		out = append(out, okFinding(res, "allocation", d+" is "+eipWhere(addr)))
	}
	switch {
	case eniF != nil:
		out = append(out, *eniF)
	case niErr != nil:
		out = append(out, failed(res, "ENI", "ec2:DescribeNetworkInterfaces", niErr, preflightFixENI))
	default:
		out = append(out, pf.eniFinding(res, eni, "", ni))
	}
	return out
}

// dns checks an AWS DNS resource.
func (pf *preflight) dns(ctx context.Context, d PreflightDNS) []Finding {
	res := d.Resource
	// The record name has a check of its own; anything else wrong in the
	// configuration stops here.
	probe := d.DNSConfig
	probe.Name = "preflight.invalid."
	if err := probe.Validate(); err != nil {
		return []Finding{configFinding(res, err)}
	}
	zone := dnsZoneID(d.HostedZoneID)
	nameErr := ValidateDNSName(d.Name)
	var (
		hz    *route53.GetHostedZoneOutput
		rr    *r53types.ResourceRecordSet
		hzErr error
		rrErr error
	)
	listed := nameErr == nil // the record is read only by a valid name
	var wg sync.WaitGroup
	wg.Go(func() {
		cctx, cancel := pf.c.call(ctx)
		defer cancel()
		hz, hzErr = pf.c.route53.GetHostedZone(cctx, &route53.GetHostedZoneInput{Id: sdkaws.String(zone)})
	})
	if listed {
		wg.Go(func() {
			r, err := NewDNS(pf.c, DNSConfig{HostedZoneID: zone, Name: d.Name, IP: "192.0.2.1"})
			if err != nil {
				rrErr = err
				return
			}
			rr, rrErr = r.read(ctx)
		})
	}
	wg.Wait()

	var out []Finding
	fixZone := "Specify the correct hosted zone ID (the Route 53 console lists them under Hosted zones)."
	hzDenied := hzErr != nil && apiError(hzErr).Detail == detailUnauthorized
	zoneName := ""
	private := false
	switch {
	case hzDenied:
		// Only this check reads the zone itself: the record read below
		// still tells whether the zone exists.
		out = append(out, untestedFinding(res, "hosted zone", "route53:GetHostedZone is not allowed, so whether the zone is private, and with which VPCs, cannot be read (the DNS resource itself does not need it)",
			"Allow route53:GetHostedZone on arn:aws:route53:::hostedzone/"+zone+" to have it checked."))
	case hzErr != nil:
		out = append(out, failed(res, "hosted zone", "route53:GetHostedZone", hzErr, fixZone))
	case hz == nil || hz.HostedZone == nil:
		out = append(out, problemFinding(res, "hosted zone", "No hosted zone found with ID: "+zone, fixZone))
	default:
		zoneName = strings.ToLower(sdkaws.ToString(hz.HostedZone.Name))
		if zoneName != "" && !strings.HasSuffix(zoneName, ".") {
			zoneName += "."
		}
		private = hz.HostedZone.Config != nil && hz.HostedZone.Config.PrivateZone
		if private {
			out = append(out, okFinding(res, "hosted zone", zone+": "+zoneName+" (private)"))
			out = append(out, pf.zoneVPCs(res, hz))
		} else {
			dd := zone + ": " + zoneName + " (public)"
			if hz.DelegationSet != nil && len(hz.DelegationSet.NameServers) > 0 {
				dd += "; the registrar's NS records for it must name its name servers " + strings.Join(hz.DelegationSet.NameServers, ", ")
			}
			out = append(out, okFinding(res, "hosted zone", dd))
		}
	}

	switch {
	case nameErr != nil:
		out = append(out, problemFinding(res, "record name", "The resource record set name cannot be used: "+strings.TrimSpace(nameErr.Error()),
			"Specify the resource record set name in lower case, as a fully qualified domain name with the trailing dot (srv.hz1.local.)."))
	case zoneName != "" && d.Name != zoneName && !strings.HasSuffix(d.Name, "."+zoneName):
		out = append(out, problemFinding(res, "record name", fmt.Sprintf("%s is not in the hosted zone %s (%s).", d.Name, zone, zoneName),
			fmt.Sprintf("Give a name that ends in .%s, or the hosted zone of the name's domain.", zoneName)))
	default:
		out = append(out, okFinding(res, "record name", d.Name))
	}

	if listed && (hzErr == nil || hzDenied) {
		switch {
		case rrErr != nil:
			out = append(out, failed(res, "record", "route53:ListResourceRecordSets", rrErr, fixZone))
		case rr == nil:
			out = append(out, okFinding(res, "record", d.Name+" A is not registered (the node that holds the group registers it)"))
		default:
			dd := d.Name + " A " + strings.Join(dnsValues(rr), ", ")
			if rr.TTL != nil {
				dd += fmt.Sprintf(", TTL %d", *rr.TTL)
			}
			out = append(out, okFinding(res, "record", dd))
		}
	}
	return out
}

// zoneVPCs checks that a private hosted zone is associated with the
// instances' VPC, or reminds of it when that cannot be told.
func (pf *preflight) zoneVPCs(res string, hz *route53.GetHostedZoneOutput) Finding {
	const check = "VPC association"
	vpc := ""
	if !pf.in.Remote && pf.selfErr == nil {
		if p, has := pf.self.PrimaryENI(); has {
			vpc = p.VPCID
		}
	}
	if vpc == "" && len(pf.in.VIPs) > 0 {
		vpc = pf.in.VIPs[0].VPC
	}
	var assoc []string
	for _, v := range hz.VPCs {
		if id := sdkaws.ToString(v.VPCId); id != "" {
			assoc = append(assoc, id)
		}
	}
	fix := "In the Route 53 console, add the instances' VPC to the hosted zone's associated VPCs, and make sure DNS resolution is enabled in that VPC (or configure a resolver that answers for the zone)."
	switch {
	case len(assoc) == 0:
		which := "the instances' VPC"
		if vpc != "" {
			which += " (" + vpc + ")"
		}
		return untestedFinding(res, check, "AWS did not list the VPCs of this private hosted zone. A private hosted zone answers only in its associated VPCs: "+which+" must be one of them, with DNS resolution enabled.", fix)
	case vpc == "":
		return untestedFinding(res, check, "associated with "+strings.Join(assoc, ", ")+"; the instances' VPC is not known here and must be one of them", fix)
	case slices.Contains(assoc, vpc):
		return okFinding(res, check, "associated with "+strings.Join(assoc, ", "))
	}
	return problemFinding(res, check, fmt.Sprintf("The instances' VPC %s has not been added to the VPCs of the hosted zone (%s): clients and the monitor cannot resolve the name.", vpc, strings.Join(assoc, ", ")), fix)
}

// az checks an AWS AZ monitor.
func (pf *preflight) az(ctx context.Context, z PreflightAZ) []Finding {
	res, check := z.Resource, "availability zone"
	if err := z.AZConfig.Validate(); err != nil {
		return []Finding{configFinding(res, err)}
	}
	zone := z.Zone
	if zone == "" {
		switch {
		case pf.in.Remote:
			return []Finding{untestedFinding(res, check, fmt.Sprintf("no zone is given for node %s, which watches its own zone from its instance metadata", pf.nodeName()),
				fmt.Sprintf("Run the check on node %s itself, or give its zone per node.", pf.nodeName()))}
		case pf.selfErr != nil || pf.self.Zone == "":
			return []Finding{problemFinding(res, check, "This node's zone could not be learnt from the instance metadata service (see the instance check).", "Give the zone in the configuration, or make the instance metadata service answer.")}
		}
		zone = pf.self.Zone
	}
	m, err := NewAZMonitor(pf.c, AZConfig{Zone: zone})
	if err != nil {
		return []Finding{configFinding(res, err)}
	}
	r, err := m.Check(ctx, inventory.Target{})
	fix := "Specify the correct availability zone: each node's own (set individually per node)."
	switch {
	case err != nil:
		return []Finding{failed(res, check, "ec2:DescribeAvailabilityZones", err, fix)}
	case r.Status == monitor.Critical:
		return []Finding{problemFinding(res, check, r.Message, "Run the groups on a node in another zone until AWS reports this one available.")}
	}
	if !pf.in.Remote && pf.selfErr == nil && pf.self.Zone != "" && pf.self.Zone != zone {
		return []Finding{problemFinding(res, check, fmt.Sprintf("The AZ monitor watches %s, but this instance runs in %s.", zone, pf.self.Zone), fix)}
	}
	return []Finding{okFinding(res, check, r.Message)}
}

// lease checks the lease table.
func (pf *preflight) lease(ctx context.Context) []Finding {
	table := pf.in.LeaseTable
	res, check := PreflightLease, "lease table"
	l, err := NewLease(pf.c, LeaseConfig{Table: table})
	if err != nil {
		return []Finding{configFinding(res, err)}
	}
	err = l.Check(ctx)
	switch {
	case err == nil:
		return []Finding{okFinding(res, check, table+`: key schema key (S, HASH)`)}
	case errorCode(err) == "ResourceNotFoundException":
		return []Finding{{Resource: res, Check: check, Problem: fmt.Sprintf("The lease table %s does not exist in region %s.", table, pf.c.region),
			Remedy: fmt.Sprintf(preflightFixLease, table)}}
	case errors.Unwrap(err) != nil: // DescribeTable failed
		return []Finding{failed(res, check, "dynamodb:DescribeTable", err, fmt.Sprintf(preflightFixLease, table))}
	}
	// The table's key schema or status is wrong.
	return []Finding{problemFinding(res, check, strings.TrimPrefix(err.Error(), "aws: "),
		"Use a table whose only key is the partition key \"key\" of type String. "+fmt.Sprintf(preflightFixLease, table))}
}

// fence checks the instances fencing may stop.
func (pf *preflight) fence(ctx context.Context) []Finding {
	res := PreflightFence
	f, err := NewFence(pf.c, *pf.in.Fence)
	if err != nil {
		return []Finding{configFinding(res, err)}
	}
	nodes := slices.Sorted(maps.Keys(pf.in.Fence.Instances))
	states := make([]fenceState, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() { states[i], errs[i] = f.state(ctx, pf.in.Fence.Instances[node]) })
	}
	wg.Wait()
	selfID := ""
	if !pf.in.Remote && pf.selfErr == nil {
		selfID = pf.self.ID
	}
	var out []Finding
	for i, node := range nodes {
		id := pf.in.Fence.Instances[node]
		check := "instance of " + node
		switch {
		case errs[i] != nil:
			out = append(out, failed(res, check, "ec2:DescribeInstances", errs[i], "Specify the node's instance ID."))
		case !states[i].found:
			out = append(out, problemFinding(res, check, fmt.Sprintf("The instance ID '%s' does not exist in region %s.", id, pf.c.region), "Specify the node's instance ID (in the region of the other AWS calls)."))
		case selfID != "" && node != pf.in.Node && id == selfID:
			out = append(out, problemFinding(res, check, fmt.Sprintf("Node %s's instance %s is this instance, node %s's: fencing %s would stop this node.", node, id, pf.nodeName(), node), "Give each node its own instance ID."))
		case selfID != "" && node == pf.in.Node && id != selfID:
			out = append(out, problemFinding(res, check, fmt.Sprintf("Node %s's instance is given as %s, but it runs on %s: a peer fencing %s would stop another instance.", node, id, selfID, node), "Give each node its own instance ID."))
		default:
			out = append(out, okFinding(res, check, id+" is "+string(states[i].state)))
		}
	}
	return out
}
