package explain

import (
	"strings"

	"github.com/minato-ops/minato/diag"
)

// References into CLUSTERPRO's AWS guide (its troubleshooting chapter,
// symptoms T1-T11).
const (
	refCPVIP    = "CLUSTERPRO AWS guide, troubleshooting T2 (AWS virtual IP resource fails to activate)"
	refCPVIPMon = "CLUSTERPRO AWS guide, troubleshooting T4 (AWS virtual IP monitor resource)"
	refCPEIP    = "CLUSTERPRO AWS guide, troubleshooting T5 (AWS Elastic IP resource fails to activate)"
	refCPEIPMon = "CLUSTERPRO AWS guide, troubleshooting T6 (AWS Elastic IP monitor resource)"
	refCPDNS    = "CLUSTERPRO AWS guide, troubleshooting T7 (AWS DNS resource fails to activate)"
	refCPDNSMon = "CLUSTERPRO AWS guide, troubleshooting T9 (AWS DNS monitor resource)"
	refCPMonTO  = "CLUSTERPRO AWS guide, troubleshooting T10, T11 (monitor timeout)"
	refCPAZMon  = "CLUSTERPRO AWS guide, troubleshooting T11 (AWS AZ monitor resource)"
	refCPRes    = "CLUSTERPRO AWS guide, troubleshooting T2, T5, T7"
	refCPStart  = "CLUSTERPRO AWS guide, troubleshooting T1, T2 (code 99)"
)

// The message grammar of CLUSTERPRO and of minato's failover groups:
// "Activating <resource> resource has failed.(<code> : <detail>)" (the
// AWS DNS resource writes a space before the parenthesis), "Detected an
// error in monitoring <monitor>. (<code> : <detail>)" and "Warn monitoring
// <monitor>. (<code> : <detail>)". Resource and monitor names are any
// (awsvip1 is the guide's example). Codes are numbered per resource type,
// so the rules go by the detail text; only 6 (timeout) and 99 (internal
// error) mean the same everywhere.
const (
	activate   = `Activating (?P<resource>\S+) resource has failed\.`
	deactivate = `Deactivating (?P<resource>\S+) resource has failed\.`
	monError   = `Detected an error in monitoring (?P<monitor>\S+?)\. \(`
	monWarn    = `Warn monitoring (?P<monitor>\S+?)\. \(`
)

// Causes and remedies the guide repeats for several messages.
const (
	cliFailedCauses = "the AWS CLI is not configured (aws configure was not run); its configuration is not found " +
		"(aws configure was run as another user or without sudo: it is looked up in $HOME/.aws, then /root/.aws); " +
		"the region, access key ID or secret access key is wrong; the instance has no IAM role " +
		"(http://169.254.169.254/latest/meta-data/iam/security-credentials/ answers 404 Not Found); " +
		"the regional endpoint is stopped for maintenance or a failure; the network path to the endpoint has a problem; " +
		"the node is so loaded that the command is delayed"
	cliFailedRemedy = "Correct the AWS CLI settings (aws configure, as root) and check that the AWS CLI works on the node; " +
		"remove the load; with an IAM role, check the role's settings in the AWS Management Console."
	endpointCauses = "the AWS CLI cannot reach the regional endpoint (route table, NAT or proxy settings), or the node is heavily loaded"
	endpointRemedy = "Check that the NAT instance or gateway is running, that the route table routes to it, that no filter drops the packets, " +
		"and the proxy settings; remove the load."
	monTimeoutRemedy = " Set the monitor's Timeout at least as long as the AWS CLI command takes (time `aws route53 list-resource-record-sets` " +
		"for the DNS monitor, `aws ec2 describe-availability-zones` for the AZ monitor)."
	metadataRemedy = " The DNS resource and monitor get their credentials from the instance metadata: if " +
		"http://169.254.169.254/latest/meta-data/ or `aws configure list` answers slowly, configure an IAM user's access key with aws configure instead."
	noRecoveryAdvice = " To keep endpoint maintenance or network delays from causing failovers, set the monitor's action on AWS CLI " +
		"response failure to \"do not execute recovery action\" (minato: on_unreachable: warn or silent)."
)

func clusterproRules() []diag.Rule {
	return []diag.Rule{
		{
			ID:      "clusterpro.activate.internal_error",
			Pattern: activate + ` ?\((?P<code>99) : Internal error\.\(status=(?P<status>\*?\w+\*?)\)\)`,
			Title:   "Python or the AWS CLI missing",
			Cause: "The AWS resource could not run its command: Python or the AWS CLI is not installed or not on the path " +
				"(Python must be in /sbin, /bin, /usr/sbin or /usr/bin; the AWS CLI in one of those or /usr/local/bin).",
			Remedy: "Install Python and the AWS CLI where the resource looks for them, then reboot the node " +
				"(installing them after CLUSTERPRO may have changed environment variables) and activate the group again.",
			Reference: refCPStart,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.activate.aws_cli_failed",
			Pattern:   activate + `\((?P<code>5) : Failed in the AWS CLI command\.\)`,
			Title:     "AWS CLI command of the resource failed",
			Cause:     "The AWS virtual IP or Elastic IP resource's AWS CLI command failed. Possible causes: " + cliFailedCauses + "; the VPC ID, ENI ID or EIP allocation ID is wrong.",
			Remedy:    cliFailedRemedy,
			Reference: refCPVIP + "; " + refCPEIP,
			Severity:  diag.Critical,
		},
		{
			// The AWS DNS resource writes a space before the parenthesis.
			ID:      "clusterpro.dns.aws_cli_failed",
			Pattern: activate + ` \((?P<code>5) : Failed in the AWS CLI command\.\)`,
			Title:   "AWS CLI command of the DNS resource failed",
			Cause: "The AWS DNS resource's AWS CLI command failed. Possible causes: " + cliFailedCauses +
				"; the resource record set is invalid; Route 53 does not answer; the hosted zone is not associated with the instances' VPC; " +
				"DNS resolution is disabled in the VPC; the resource record set name has upper-case letters; " +
				"the node reaches AWS through a VPC endpoint, which does not support Route 53 (the AWS CLI says \"Could not connect to the endpoint URL\").",
			Remedy: cliFailedRemedy + " In the Route 53 console, associate the hosted zone with the instances' VPC; enable DNS resolution in the VPC " +
				"(or configure a resolver); write the record set name in lower case; through a VPC endpoint, use a NAT gateway, NAT instance or proxy instead.",
			Reference: refCPDNS,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.vip.vpc_not_found",
			Pattern:   activate + `\((?P<code>5) : The vpc ID '(?P<vpc>[^'\n]*)' does not exist\)`,
			Title:     "VPC ID not found",
			Cause:     "The VPC ID of the AWS virtual IP resource is wrong or the VPC does not exist.",
			Remedy:    "Set the resource's VPC ID to the VPC the cluster's instances belong to.",
			Reference: refCPVIP,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.eni_not_found",
			Pattern:   activate + `\((?P<code>5) : The networkInterface ID '(?P<eni>[^'\n]*)' does not exist\)`,
			Title:     "ENI ID not found",
			Cause:     "The ENI ID set for this node in the AWS virtual IP or Elastic IP resource is wrong or the ENI does not exist.",
			Remedy:    "Set each node's own ENI ID in the resource (a per-server setting).",
			Reference: refCPVIP + "; " + refCPEIP,
			Severity:  diag.Critical,
		},
		{
			ID:      "clusterpro.vip.unauthorized",
			Pattern: activate + `\((?P<code>5) : You are not authorized to perform this operation\.\)`,
			Title:   "IAM policy does not cover every route table",
			Cause: "The IAM policy restricts ec2:ReplaceRoute to certain route tables, and its Resource list misses some: " +
				"the AWS virtual IP resource updates every route table of the VPC that has a route for the VIP.",
			Remedy:    "Allow ec2:ReplaceRoute on every route table of the VPC that holds the VIP's route.",
			Reference: refCPVIP,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.eip.allocation_not_found",
			Pattern:   activate + `\((?P<code>5) : The allocation ID '(?P<allocation_id>[^'\n]*)' does not exist\)`,
			Title:     "EIP allocation ID not found",
			Cause:     "The EIP allocation ID of the AWS Elastic IP resource is wrong or the Elastic IP was released.",
			Remedy:    "Set the resource's EIP allocation ID (eipalloc-...) to that of an Elastic IP of the account and region.",
			Reference: refCPEIP,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.dns.hosted_zone_not_found",
			Pattern:   activate + ` ?\((?P<code>5) : No hosted zone found with ID: (?P<hosted_zone>[^\s)]+)\)`,
			Title:     "hosted zone not found",
			Cause:     "The hosted zone ID of the AWS DNS resource is wrong or the zone does not exist.",
			Remedy:    "Set the resource's hosted zone ID to that of the Route 53 hosted zone (Z...).",
			Reference: refCPDNS,
			Severity:  diag.Critical,
		},
		{
			ID:      "clusterpro.activate.timeout",
			Pattern: activate + `\((?P<code>6) : (?P<detail>Timeout occurred\.` + detail + `)\)`,
			Title:   "resource activation timed out",
			Cause: "The resource's work did not finish in time. For an AWS resource: " + endpointCauses +
				"; for an Elastic IP resource in a public subnet, also an instance without a public IP.",
			Remedy:    endpointRemedy + " With an Elastic IP resource, check that every instance has a public IP and that the AWS CLI works on each.",
			Reference: refCPVIP + "; " + refCPEIP + "; minato HA guide (docs/ha.md), Codes",
			Severity:  diag.Critical,
			Refine:    refineActivateTimeout,
		},
		{
			ID:      "clusterpro.dns.activate_timeout",
			Pattern: activate + ` \((?P<code>6) : Timeout occurred\.\)`,
			Title:   "DNS resource activation timed out",
			Cause: "The AWS DNS resource's AWS CLI command did not finish in time: " + endpointCauses +
				"; the Route 53 endpoint is slow to process; or reading the instance metadata, which the AWS CLI does internally, is slow.",
			Remedy:    endpointRemedy + monTimeoutRemedy + metadataRemedy,
			Reference: refCPDNS,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.vip.in_vpc",
			Pattern:   activate + `\((?P<code>7) : The VIP address (?P<vip>\S+) belongs to a VPC subnet\.\)`,
			Title:     "VIP inside the VPC's CIDR",
			Cause:     "The AWS virtual IP resource's VIP lies inside a CIDR block of the VPC; it must lie outside every one.",
			Remedy:    "Choose a VIP address outside the VPC's CIDR blocks, and give its /32 route in each route table whose clients use it.",
			Reference: refCPVIP,
			Severity:  diag.Critical,
		},
		{
			ID:      "clusterpro.vipw.route_changed",
			Pattern: monError + `(?P<code>8) : The routing for VIP (?P<vip>\S+) was changed\.\)`,
			Title:   "route of the VIP changed",
			Cause: "In a route table, the target of the VIP's route was changed to another ENI. " +
				"The AWS virtual IP resource is restarted on detection and the target set back to the right ENI.",
			Remedy:    "Check whether another HA cluster uses the same VIP address by mistake.",
			Reference: refCPVIPMon,
			Severity:  diag.Critical,
		},
		{
			ID:      "clusterpro.eipw.not_associated",
			Pattern: monError + `(?P<code>7) : The EIP address does not exist\. \(EIP ALLOCATION ID=(?P<allocation_id>[^\s)]+)\)\)`,
			Title:   "Elastic IP no longer associated",
			Cause: "The association between the ENI and the Elastic IP was released. " +
				"The AWS Elastic IP resource is restarted on detection and associates them again.",
			Remedy:    "Check whether another HA cluster uses the same EIP allocation ID by mistake.",
			Reference: refCPEIPMon,
			Severity:  diag.Critical,
		},
		{
			ID:      "clusterpro.dnsw.record_missing",
			Pattern: monError + `(?P<code>7) : The resource record set in Amazon Route 53 does not exist\.\)`,
			Title:   "resource record set missing",
			Cause: "The record set is not in the hosted zone: it was deleted; the monitor ran right after activation, before Route 53 " +
				"propagated the change; the IAM policy lacks route53:ChangeResourceRecordSets or route53:ListResourceRecordSets; " +
				"or the hosted zone is not associated with the instances' VPC.",
			Remedy: "Check that no other HA cluster uses the same record set; make the monitor's wait time to start monitoring longer " +
				"than Route 53's propagation time (up to 60 seconds); grant both IAM actions; associate the hosted zone with the VPC.",
			Reference: refCPDNSMon,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.dnsw.ip_changed",
			Pattern:   monError + `(?P<code>8) : IP address different from the setting is registered in the resource record set of Amazon Route 53\.\)`,
			Title:     "record set holds another IP address",
			Cause:     "The IP address of the resource record set was changed.",
			Remedy:    "Check whether another HA cluster uses the same resource record set by mistake.",
			Reference: refCPDNSMon,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.dnsw.resolve_failed",
			Pattern:   monError + `(?P<code>9) : Failed to resolve domain name\.\)`,
			Title:     "DNS name does not resolve",
			Cause:     "Resolving the registered DNS name failed.",
			Remedy:    "Check the resolver and network configuration; with a public hosted zone, check that the registrar's NS records send queries to the Route 53 name servers.",
			Reference: refCPDNSMon,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.dnsw.resolve_mismatch",
			Pattern:   monError + `(?P<code>10) : IP address which is resolved domain name from the DNS resolver does not match setting\.\)`,
			Title:     "DNS name resolves to another address",
			Cause:     "The resolver answers the DNS name with an address other than the one set.",
			Remedy:    "Check the resolver configuration, and that the hosts file (/etc/hosts) has no entry for the DNS name.",
			Reference: refCPDNSMon,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.monitor.timeout",
			Pattern:   monError + `(?P<code>6) : (?P<detail>Timeout occurred\.` + detail + `)\)`,
			Title:     "monitor timed out",
			Cause:     "The monitor's check did not finish within its timeout: " + endpointCauses + "; or its Timeout is shorter than the AWS CLI command takes.",
			Remedy:    endpointRemedy + monTimeoutRemedy + metadataRemedy + noRecoveryAdvice,
			Reference: refCPMonTO,
			Severity:  diag.Critical,
			Refine:    refineMonitorTimeout,
		},
		{
			ID:        "clusterpro.monitor.timeout_warning",
			Pattern:   monWarn + `(?P<code>106) : (?P<detail>Timeout occurred\.` + detail + `)\)`,
			Title:     "monitor timed out (warning only)",
			Cause:     "The monitor's AWS CLI command did not answer in time: " + endpointCauses + "; or its Timeout is shorter than the command takes. The monitor is set not to recover on such failures, so it only warns.",
			Remedy:    endpointRemedy + monTimeoutRemedy + metadataRemedy + " If the warnings are frequent, set the action to \"do not execute recovery action (do not show warning)\" (minato: on_unreachable: silent).",
			Reference: refCPMonTO,
			Severity:  diag.Warning,
		},
		{
			ID:        "clusterpro.monitor.aws_cli_failed",
			Pattern:   monError + `(?P<code>5) : Failed in the AWS CLI command\.\)`,
			Title:     "monitor's AWS CLI command failed",
			Cause:     "The monitor's AWS CLI command failed. Possible causes: " + cliFailedCauses + "; an invalid Availability Zone is set.",
			Remedy:    cliFailedRemedy + noRecoveryAdvice,
			Reference: refCPAZMon,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.monitor.aws_cli_failed_warning",
			Pattern:   monWarn + `(?P<code>105) : Failed in the AWS CLI command\.\)`,
			Title:     "monitor's AWS CLI command failed (warning only)",
			Cause:     "The monitor's AWS CLI command failed; the monitor is set not to recover on such failures, so it only warns. Possible causes: " + cliFailedCauses + "; an invalid Availability Zone is set.",
			Remedy:    cliFailedRemedy + " If the warnings are frequent, set the action to \"do not execute recovery action (do not show warning)\" (minato: on_unreachable: silent): errors other than AWS CLI failures and delays are still detected.",
			Reference: refCPAZMon,
			Severity:  diag.Warning,
		},
		{
			ID:        "clusterpro.azw.invalid_zone",
			Pattern:   monError + `(?P<code>5) : Invalid availability zone: \[(?P<zone>[^\]\n]*)\]\)`,
			Title:     "invalid Availability Zone",
			Cause:     "The AWS AZ monitor's Availability Zone is wrong or does not exist.",
			Remedy:    "Set the Availability Zone of each node in the monitor (a per-server setting) to the zone the node runs in.",
			Reference: refCPAZMon,
			Severity:  diag.Critical,
		},
		{
			ID:        "clusterpro.azw.invalid_zone_warning",
			Pattern:   monWarn + `(?P<code>105) : Invalid availability zone: \[(?P<zone>[^\]\n]*)\]\)`,
			Title:     "invalid Availability Zone (warning only)",
			Cause:     "The AWS AZ monitor's Availability Zone is wrong or does not exist.",
			Remedy:    "Set the Availability Zone of each node in the monitor (a per-server setting) to the zone the node runs in.",
			Reference: refCPAZMon,
			Severity:  diag.Warning,
		},
		{
			ID:      "clusterpro.endpoint_unreachable",
			Pattern: `Could not connect to the endpoint URL: "(?P<url>[^"\n]+)"`,
			Title:   "AWS CLI cannot reach the endpoint",
			Cause:   "The AWS CLI cannot connect to the AWS endpoint: " + endpointCauses + ".",
			Remedy:  endpointRemedy,
			Reference: "CLUSTERPRO AWS guide, troubleshooting T7 (AWS DNS resource: " +
				"`aws route53 list-resource-record-sets` says \"Could not connect to the endpoint URL\")",
			Severity: diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				if strings.Contains(e.Fields["url"], "route53") {
					e.Title = "AWS CLI cannot reach Route 53"
					e.Cause = "The AWS CLI cannot connect to Route 53's endpoint. If the node reaches AWS through a VPC endpoint: VPC endpoints " +
						"do not support Route 53, so the AWS DNS resource and monitor cannot be used that way. Without one: a problem on the AWS side."
					e.Remedy = "Through a VPC endpoint, reach Route 53 through a NAT gateway, NAT instance or proxy server instead; without one, ask AWS."
				}
				return true
			},
		},
	}
}

// refineActivateTimeout tailors the timeout to what timed out: an AWS
// resource ("Timeout occurred." alone), one of minato's containers or one
// of its scripts (the detail says which).
func refineActivateTimeout(e *diag.Explanation) bool {
	d := e.Fields["detail"]
	switch {
	case strings.Contains(d, " was not ready within "):
		e.Title = "container not ready in time"
		e.Cause = "The container resource's container did not become ready (running, and healthy when it has a health check) within the activation's time limit: " +
			"its start is slow, its health check fails or takes long, or the engine is slow to answer."
		e.Remedy = "Read the container's log (docker logs) and health (docker inspect --format '{{json .State.Health}}'); fix the start, " +
			"or give the resource a longer start timeout if the service is just slow to start."
		e.Reference = "minato HA guide (docs/ha.md), Codes"
	case strings.Contains(d, " did not finish within "):
		e.Title = "resource command did not finish in time"
		e.Cause = "The script resource's command outlived its timeout and was ended."
		e.Remedy = "Run the command by hand on the node to see why it hangs (the detail ends with its last output line); fix it, or give it a longer timeout."
		e.Reference = "minato HA guide (docs/ha.md), Codes"
	}
	return true
}

// refineMonitorTimeout tailors a monitor timeout of one of minato's
// container or script monitors.
func refineMonitorTimeout(e *diag.Explanation) bool {
	d := e.Fields["detail"]
	if strings.Contains(d, " did not finish within ") {
		e.Title = "check command did not finish in time"
		e.Cause = "The script resource's check command outlived its timeout and was ended."
		e.Remedy = "Run the check by hand on the node to see why it hangs; fix it, or give it a longer timeout."
		e.Reference = "minato HA guide (docs/ha.md), Codes"
	}
	return true
}
