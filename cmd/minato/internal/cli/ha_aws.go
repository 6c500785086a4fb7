package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	haaws "github.com/minato-ops/minato/ha/aws"
)

// Exit codes of "minato ha check": grep's and diff's convention, so a
// script tells a problem found from a check that could not run.
const (
	haCheckOK       = 0 // every check passed (some may be untested)
	haCheckProblems = 1 // at least one problem
	haCheckUsage    = 2 // a usage error, or a configuration that cannot be checked
)

// Default bound of a whole "minato ha check".
const haCheckTimeout = 60 * time.Second

var (
	haAccountID = regexp.MustCompile(`^[0-9]{12}$`)
	haRegion    = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)
)

// haPartitions are the partitions the ARNs may name.
var haPartitions = []string{"aws", "aws-cn", "aws-us-gov"}

func runHAIAMPolicy(_ context.Context, args []string, env Env) int {
	fs := newFlagSet("minato ha iam-policy", "minato ha iam-policy --config FILE [--account ID] [--partition aws] [--region R] [--json]\n       minato ha iam-policy --all [--json]",
		"Print the least-privilege IAM policy (JSON, for the IAM console or aws iam\n"+
			"create-policy) for the AWS parts of the agent's ha: section: the actions of\n"+
			"CLUSTERPRO's AWS guide for each aws_vip, aws_eip and aws_dns resource and\n"+
			"aws_az monitor, on the resources they act on where AWS allows it\n"+
			"(ec2:ReplaceRoute on the route tables of the VIP's VPC, the Elastic IP's\n"+
			"association on its allocation and the nodes' ENIs, Route 53 on the hosted\n"+
			"zone), plus the DynamoDB lease table and the instances fencing stops.\n"+
			"Nothing is asked of AWS; the HA key file need not exist.\n\n"+
			"--all prints instead the guide's custom policy: every action of its AWS\n"+
			"resources (ec2:Describe*, ...) on every resource of the account.")
	var cfgPath, account, partition, region string
	var all, asJSON bool
	fs.StringVar(&cfgPath, "config", "", "the agent's configuration `FILE` (its ha: section)")
	fs.StringVar(&account, "account", "", "12-digit AWS account `ID` in the ARNs (default: any account, *)")
	fs.StringVar(&partition, "partition", "aws", "`PARTITION` of the ARNs: "+strings.Join(haPartitions, ", "))
	fs.StringVar(&region, "region", "", "`REGION` of the EC2 and DynamoDB ARNs (default: ha.aws.region, else any region)")
	fs.BoolVar(&all, "all", false, "print CLUSTERPRO's broad custom policy instead")
	fs.BoolVar(&asJSON, "json", false, `print {"uses": what the policy is derived from, "policy": the policy}`)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato ha iam-policy takes no arguments, got %q", pos[0]))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if all {
		for _, f := range []string{"config", "account", "partition", "region"} {
			if given[f] {
				return report(env, usagef("--all prints CLUSTERPRO's policy as its guide gives it: --%s does not apply", f))
			}
		}
		return haPrintPolicy(env, nil, haaws.AllActionsPolicy(), asJSON)
	}
	if cfgPath == "" {
		return report(env, usagef("minato ha iam-policy needs --config FILE (the agent's configuration), or --all"))
	}
	if account != "" && !haAccountID.MatchString(account) {
		return report(env, usagef("--account %q: want the 12-digit AWS account ID, such as 123456789012", account))
	}
	if !slices.Contains(haPartitions, partition) {
		return report(env, usagef("--partition %q: want %s", partition, strings.Join(haPartitions, ", ")))
	}
	if region != "" && !haRegion.MatchString(region) {
		return report(env, usagef("--region %q: want an AWS region such as ap-northeast-1", region))
	}
	cfg, err := agent.Load(cfgPath)
	if err != nil {
		printDefErrors(env, cfgPath, err)
		return 1
	}
	if cfg.HA == nil {
		return report(env, usagef("%s has no ha: section: there is no IAM policy to print", cfgPath))
	}
	u := haPolicyUses(cfg.HA)
	if len(u.VIPs)+len(u.EIPs)+len(u.DNS)+len(u.LeaseTables)+len(u.FenceInstances) == 0 && !u.AZ {
		return report(env, usagef("%s: the ha: section has no AWS part (aws_vip, aws_eip or aws_dns resource, aws_az monitor, dynamodb witness, aws fence): there is no IAM policy to print", cfgPath))
	}
	u.Account, u.Partition = account, partition
	if region != "" {
		u.Region = region
	}
	return haPrintPolicy(env, &u, haaws.IAMPolicy(u), asJSON)
}

// haPrintPolicy prints the policy document, or with asJSON the uses and
// the document.
func haPrintPolicy(env Env, u *haaws.PolicyUses, doc haaws.PolicyDocument, asJSON bool) int {
	if asJSON {
		return haPrintJSON(env, struct {
			Uses   *haaws.PolicyUses    `json:"uses,omitempty"`
			Policy haaws.PolicyDocument `json:"policy"`
		}{u, doc}, 0)
	}
	b, err := doc.JSON()
	if err != nil {
		return report(env, err)
	}
	_, _ = env.Stdout.Write(b)
	return 0
}

// haPrintJSON prints v as indented JSON, without HTML escaping, and
// returns code.
func haPrintJSON(env Env, v any, code int) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return report(env, err)
	}
	return code
}

// haPolicyUses maps the AWS parts of the ha: section to what the IAM
// policy must allow, for every node.
func haPolicyUses(h *agent.HAConfig) haaws.PolicyUses {
	var u haaws.PolicyUses
	for _, g := range h.Groups {
		for _, r := range g.Resources {
			switch {
			case r.AWSVIP != nil:
				// The route tables holding the VIP are known only to
				// AWS: the policy allows those of the VPC.
				u.VIPs = append(u.VIPs, haaws.VIPUse{VPC: r.AWSVIP.VPC})
			case r.AWSEIP != nil:
				u.EIPs = append(u.EIPs, haaws.EIPUse{AllocationID: r.AWSEIP.AllocationID, ENIs: haNodeENIs(g.Nodes, r.AWSEIP.ENI, r.PerNode)})
			case r.AWSDNS != nil:
				u.DNS = append(u.DNS, haaws.DNSUse{HostedZoneID: r.AWSDNS.HostedZoneID})
			}
		}
		for _, m := range g.Monitors {
			if m.AWSAZ != nil {
				u.AZ = true
			}
		}
	}
	if d := h.Witness.DynamoDB; d != nil {
		u.LeaseTables = append(u.LeaseTables, haTableName(d.Table))
	}
	if f := h.Fence; f != nil && f.AWS != nil {
		for _, node := range slices.Sorted(maps.Keys(f.AWS.Instances)) {
			u.FenceInstances = append(u.FenceInstances, f.AWS.Instances[node])
		}
	}
	if h.AWS != nil {
		u.Region = h.AWS.Region
	}
	return u
}

// haNodeENIs lists the ENIs an Elastic IP moves between: each node's own
// (per_node, else the common one), sorted; nil (any ENI) when a node's is
// not given, since that node learns its own from its instance metadata.
func haNodeENIs(nodes []string, common string, per map[string]agent.PerNodeConfig) []string {
	var enis []string
	for _, n := range nodes {
		eni := common
		if p := per[n].ENI; p != "" {
			eni = p
		}
		if eni == "" {
			return nil
		}
		enis = append(enis, eni)
	}
	slices.Sort(enis)
	return slices.Compact(enis)
}

// haTableName is a lease table's name, also when it is given as an ARN.
func haTableName(t string) string {
	if _, name, ok := strings.Cut(t, ":table/"); ok && strings.HasPrefix(t, "arn:") {
		return name
	}
	return t
}

// haCheckReport is what "minato ha check --json" prints.
type haCheckReport struct {
	// Node is the node checked; Remote is true when it is another machine.
	Node   string `json:"node"`
	Remote bool   `json:"remote,omitempty"`
	// Region is the region the checks called ("" when none could be
	// resolved).
	Region string `json:"region,omitempty"`
	// OK is true when no finding is a problem.
	OK       bool            `json:"ok"`
	Findings []haaws.Finding `json:"findings"`
}

func runHACheck(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato ha check", "minato ha check --config FILE [--node NAME] [--json] [--timeout 60s]",
		"Check the AWS parts of the agent's ha: section against the account, without\n"+
			"changing anything, and print what is wrong in the words of CLUSTERPRO's AWS\n"+
			"guide, with the fix: credentials (\"IAM role not set on the instance\"),\n"+
			"region, this instance; for a virtual IP the VPC, the VIP outside its CIDR\n"+
			"blocks, the route tables holding VIP/32, the ENI and its Source/Dest. Check;\n"+
			"for an Elastic IP the allocation and the ENI; for DNS the hosted zone and the\n"+
			"record name; the AZ monitor's zone; the DynamoDB lease table; the instances\n"+
			"fencing stops. Credentials come from the SDK's default chain, as the agent's.\n\n"+
			"The node is ha.node: run the check on it. --node NAME checks another node's\n"+
			"values from this machine; its instance metadata cannot be asked from here, so\n"+
			"an ENI or zone it learns from its own metadata is not checked.\n\n"+
			"Exit 0 when nothing is wrong (some checks may be untested), 1 when a problem\n"+
			"was found, 2 on a usage error or a configuration that cannot be checked.")
	var cfgPath, node string
	var asJSON bool
	var timeout time.Duration
	fs.StringVar(&cfgPath, "config", "", "the agent's configuration `FILE` (its ha: section)")
	fs.StringVar(&node, "node", "", "check node `NAME`'s values (default ha.node)")
	fs.BoolVar(&asJSON, "json", false, "print the findings as JSON")
	durationVar(fs, &timeout, "timeout", haCheckTimeout, true, "`DURATION` bound on the whole check")
	usage := func(err error) int {
		if report(env, err) == 0 {
			return 0 // -h
		}
		return haCheckUsage
	}
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return usage(err)
	}
	if len(pos) > 0 {
		return usage(usagef("minato ha check takes no arguments, got %q", pos[0]))
	}
	if cfgPath == "" {
		return usage(usagef("minato ha check needs --config FILE (the agent's configuration)"))
	}
	cfg, err := agent.Load(cfgPath)
	if err != nil {
		printDefErrors(env, cfgPath, err)
		return haCheckUsage
	}
	h := cfg.HA
	if h == nil {
		return usage(usagef("%s has no ha: section: there is nothing to check on AWS", cfgPath))
	}
	if node == "" {
		node = h.Node
	}
	var names []string
	for _, n := range h.Nodes {
		names = append(names, n.Name)
	}
	if !slices.Contains(names, node) {
		return usage(usagef("--node %q: not one of ha.nodes (%s)", node, strings.Join(names, ", ")))
	}
	in := haPreflightInput(h, node)
	if len(in.VIPs)+len(in.EIPs)+len(in.DNS)+len(in.AZs) == 0 && in.LeaseTable == "" && in.Fence == nil {
		return usage(usagef("%s: node %s uses no AWS part (aws_vip, aws_eip or aws_dns resource, aws_az monitor, dynamodb witness, aws fence): there is nothing to check on AWS", cfgPath, node))
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := haCheckReport{Node: node, Remote: in.Remote}
	var acfg haaws.Config
	if h.AWS != nil {
		acfg = *h.AWS
	}
	c, err := haaws.Load(ctx, acfg)
	if err != nil {
		rep.Findings = []haaws.Finding{{Resource: haaws.PreflightAWS, Check: "region and credentials",
			Problem: "The AWS configuration could not be loaded: " + strings.TrimPrefix(err.Error(), "aws: "),
			Remedy:  "Set the region (ha.aws.region, AWS_REGION or the shared config file), or run the check on the EC2 instance, whose metadata service tells it; check ha.aws.profile and the files under $HOME/.aws."}}
	} else {
		rep.Region = c.Region()
		rep.Findings = c.Preflight(ctx, in)
	}
	problems := 0
	for _, f := range rep.Findings {
		if !f.OK {
			problems++
		}
	}
	rep.OK = problems == 0
	code := haCheckOK
	if problems > 0 {
		code = haCheckProblems
	}
	if asJSON {
		return haPrintJSON(env, rep, code)
	}
	haPrintCheck(env, rep, problems)
	return code
}

// haPreflightInput lists what node uses on AWS, with its per_node values:
// the resources and AZ monitors of the groups it may run, the lease
// table and the fencing instances.
func haPreflightInput(h *agent.HAConfig, node string) haaws.PreflightInput {
	in := haaws.PreflightInput{Node: node, Remote: node != h.Node}
	for _, g := range h.Groups {
		if !slices.Contains(g.Nodes, node) {
			continue
		}
		for _, r := range g.Resources {
			own := r.PerNode[node]
			switch {
			case r.AWSVIP != nil:
				v := *r.AWSVIP
				if own.ENI != "" {
					v.ENI = own.ENI
				}
				in.VIPs = append(in.VIPs, haaws.PreflightVIP{Resource: r.Name, VIPConfig: v})
			case r.AWSEIP != nil:
				v := *r.AWSEIP
				if own.ENI != "" {
					v.ENI = own.ENI
				}
				in.EIPs = append(in.EIPs, haaws.PreflightEIP{Resource: r.Name, EIPConfig: v})
			case r.AWSDNS != nil:
				v := *r.AWSDNS
				if own.IP != "" {
					v.IP = own.IP
				}
				in.DNS = append(in.DNS, haaws.PreflightDNS{Resource: r.Name, DNSConfig: v})
			}
		}
		for _, m := range g.Monitors {
			if m.AWSAZ == nil {
				continue
			}
			z := *m.AWSAZ
			if own := m.PerNode[node]; own.Zone != "" {
				z.Zone = own.Zone
			}
			in.AZs = append(in.AZs, haaws.PreflightAZ{Resource: m.Name, AZConfig: z})
		}
	}
	if d := h.Witness.DynamoDB; d != nil {
		in.LeaseTable = d.Table
	}
	if f := h.Fence; f != nil && f.AWS != nil {
		fc := *f.AWS
		in.Fence = &fc
	}
	return in
}

// haPrintCheck prints the findings as a table, problems with their fix.
func haPrintCheck(env Env, rep haCheckReport, problems int) {
	where := "this machine"
	if rep.Remote {
		where = "checked from another machine: its instance metadata is not asked"
	}
	fmt.Fprintf(env.Stdout, "node %s (%s), region %s\n\n", rep.Node, where, orDash(rep.Region))
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tCHECK\tRESULT")
	untested := 0
	for _, f := range rep.Findings {
		var result, label string
		switch {
		case !f.OK:
			result, label = "PROBLEM: "+f.Problem, "fix"
		case f.Untested:
			untested++
			result, label = "NOT TESTED: "+f.Detail, "check"
		default:
			result = "OK"
			if f.Detail != "" {
				result += ": " + f.Detail
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Resource, f.Check, haOneLine(result))
		if !f.OK && f.Detail != "" {
			fmt.Fprintf(tw, "\t\t  cause: %s\n", haOneLine(f.Detail))
		}
		if label != "" && f.Remedy != "" {
			fmt.Fprintf(tw, "\t\t  %s: %s\n", label, haOneLine(f.Remedy))
		}
	}
	tw.Flush()
	summary := fmt.Sprintf("\n%d checks: %d OK", len(rep.Findings), len(rep.Findings)-problems-untested)
	if len(rep.Findings) == 1 {
		summary = fmt.Sprintf("\n1 check: %d OK", 1-problems-untested)
	}
	if untested > 0 {
		summary += fmt.Sprintf(", %d not tested", untested)
	}
	switch problems {
	case 0:
		summary += ", no problem"
	case 1:
		summary += ", 1 problem"
	default:
		summary += fmt.Sprintf(", %d problems", problems)
	}
	fmt.Fprintln(env.Stdout, summary)
}

// haOneLine keeps a text on one line of the table (tabs and newlines of
// AWS's texts would break its columns).
func haOneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
