package explain

import (
	"regexp"
	"strings"

	"github.com/minato-ops/minato/diag"
)

// References into the Container Service FAQ.
const (
	refFAQCluster = "Container Service FAQ D19 (§2.12, errors that make cluster creation fail)"
	refFAQD17     = "Container Service FAQ D17 (§2.10)"
	refFAQD25     = "Container Service FAQ D25 (§2.15, troubleshooting log problems, step 3)"
	refFAQD29     = "Container Service FAQ D29 (§2.18, OS and kernel)"
	refFAQD33     = "Container Service FAQ D33 (§2.12, §2.5)"
)

// The Aliyun API error grammar of the FAQ's cluster-creation log:
// "[<cluster ID> | ][Config cs <Step> failed : ][<action>:]Aliyun API
// Error: RequestId: <ID> Status Code: <HTTP> Code: <Code> Message: <text>".
// White space may be wrapped (the FAQ's own copy splits a request ID).
// The cluster ID is not read: its long hexadecimal run makes the pattern
// several times slower on logs full of container IDs.
const (
	aliyunLead = `(?:Config cs (?P<step>\w+) failed\s*:\s*)?`
	// aliyunAction is the optional action before the envelope ("Failed
	// to create instance", "Fail shared image").
	aliyunAction   = `(?:(?P<action>Fail(?:ed to)? [A-Za-z][\w ]*?)\s*:\s*)?`
	aliyunEnvelope = `Aliyun API\s+Error:\s*RequestId\s*:\s*(?P<request_id>[0-9A-Fa-f]+(?:\s*-\s*[0-9A-Fa-f]+)*)\s+Status\s+Code:\s*(?P<status>\d{3})\s+Code:\s*`
)

// aliyun returns the pattern of one code in the API error grammar; action
// replaces the optional action when the row needs a particular one.
func aliyun(action, code, message string) string {
	if action == "" {
		action = aliyunAction
	}
	return aliyunLead + action + aliyunEnvelope + `(?P<code>` + code + `)\s+Message:\s*(?P<message>` + message + `)`
}

// bareCode returns the pattern of a code the FAQ shows without the API
// error envelope ("QuotaExceeded.Eip Message: ...").
func bareCode(code string) string {
	return `(?P<code>` + code + `)\b(?:\s+Message:\s*(?P<message>[^\n]*))?`
}

var spaces = regexp.MustCompile(`\s+`)

// requestID removes the white space a wrapped copy put into the request
// ID ("693F8B6C-9349-4277 -B109-..." in the FAQ's own text).
func requestID(e *diag.Explanation) bool {
	if id, ok := e.Fields["request_id"]; ok {
		e.Fields["request_id"] = spaces.ReplaceAllString(id, "")
	}
	return true
}

func faqRules() []diag.Rule {
	const supportHint = "Alibaba Cloud support can trace the failed call by its RequestId."
	return []diag.Rule{
		{
			ID:      "faq.cluster.slb_internal_error",
			Pattern: aliyun(`(?P<action>Failed to CreateLoadBalancer)\s*:\s*`, `InternalError`, `[^\n]*`),
			Title:   "Server Load Balancer error while creating the cluster",
			Cause: "Creating the cluster's Server Load Balancer instance failed with an internal error of " +
				"the Server Load Balancer service (HTTP 500 InternalError); nothing in the cluster's settings causes it.",
			Remedy:    "Give the RequestID of the error to Alibaba Cloud support, then create the cluster again. " + supportHint,
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				requestID(e)
				e.Remedy = "Give RequestID " + e.Fields["request_id"] + " to Alibaba Cloud support, then create the cluster again. " + supportHint
				return true
			},
		},
		{
			ID:      "faq.cluster.docker_config_timeout",
			Pattern: `Adding tags map\[(?P<tags>[^\]\n]*)\] to instance (?P<instance>\S+)\s*\z`,
			Title:   "Docker configuration of a node timed out",
			Cause: "The cluster-creation log ends with the node's tagging step: configuring Docker on the " +
				"instance did not finish in time, so creation stopped there.",
			Remedy:    "Read the Docker daemon's log on that instance (journalctl -u docker, or /var/log/messages), fix what stops the daemon, then create the cluster again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				for _, kv := range strings.Fields(e.Fields["tags"]) {
					if v, ok := strings.CutPrefix(kv, "acsclusterid:"); ok && v != "" {
						e.Fields["cluster"] = v
					}
				}
				e.Remedy = "Read the Docker daemon's log on instance " + e.Fields["instance"] +
					" (journalctl -u docker, or /var/log/messages), fix what stops the daemon, then create the cluster again."
				return true
			},
		},
		{
			ID:        "faq.cluster.zone_not_on_sale",
			Pattern:   bareCode(`Zone\.NotOnSale`),
			Title:     "zone not on sale",
			Cause:     "The zone chosen for the cluster cannot be bought in at the moment (Zone.NotOnSale).",
			Remedy:    "Create the cluster in another zone of the region, or try this zone later.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
		},
		{
			ID:        "faq.cluster.master_creation_failed",
			Pattern:   `Creating Master Region Controller:\s*(?P<status>500) Internal Server Error`,
			Title:     "cluster master creation failed",
			Cause:     "Container Service failed to create the cluster's master (the region controller answered HTTP 500).",
			Remedy:    "Create the cluster again; if it fails the same way, give the cluster ID and the time of the failure to Alibaba Cloud support.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
		},
		{
			ID:        "faq.cluster.quota_security_group",
			Pattern:   aliyun("", `QuotaExceed\.SecurityGroup`, `[^\n]*`),
			Title:     "security group quota exceeded",
			Cause:     "The account has as many security groups as its quota allows, so the cluster's network step cannot create one.",
			Remedy:    "Delete security groups you no longer use, or ask for a higher security group quota, then create the cluster again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine:    requestID,
		},
		{
			ID:        "faq.cluster.insufficient_resources",
			Pattern:   aliyun("", `OperationDenied`, `The resource is out of usage[^\n]*`),
			Title:     "insufficient resources",
			Cause:     "The zone has no resources left for the requested instances (OperationDenied: the resource is out of usage).",
			Remedy:    "Choose another instance type or zone, or try again later.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine:    requestID,
		},
		{
			ID:        "faq.cluster.quota_slb",
			Pattern:   aliyun(`(?P<action>Failed to CreateLoadBalancer)\s*:\s*`, `OverQuota`, `[^\n]*`),
			Title:     "Server Load Balancer instance quota exceeded",
			Cause:     "The account has as many Server Load Balancer instances as its quota allows, so the cluster's load balancer cannot be created.",
			Remedy:    "Release Server Load Balancer instances you no longer use, or ask for a higher quota, then create the cluster again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine:    requestID,
		},
		{
			// "Forbbiden" is the service's own spelling.
			ID:        "faq.cluster.quota_shared_image",
			Pattern:   aliyun("", `InvalidAccount\.Forbbiden`, `[^\n]*`),
			Title:     "shared image quota exceeded",
			Cause:     "The image cannot be shared with the account: the number of shared images is over its limit.",
			Remedy:    "Stop sharing images you no longer need, or ask for a higher limit, then create the cluster again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine:    requestID,
		},
		{
			ID:        "faq.cluster.quota_eip",
			Pattern:   bareCode(`QuotaExceeded\.Eip`),
			Title:     "Elastic IP address quota exceeded",
			Cause:     "The account has as many Elastic IP addresses as its quota allows.",
			Remedy:    "Release Elastic IP addresses you no longer use, or ask for a higher quota, then create the cluster again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
		},
		{
			ID:        "faq.cluster.quota_afterpay_instance",
			Pattern:   bareCode(`QuotaExceed\.AfterpayInstance`),
			Title:     "pay-as-you-go instance quota exceeded",
			Cause:     "The account runs as many pay-as-you-go ECS instances as its quota allows.",
			Remedy:    "Release pay-as-you-go instances you no longer need, use subscription instances, or ask for a higher quota, then create the cluster again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
		},
		{
			ID:      "faq.cluster.parameter_not_found",
			Pattern: aliyun("", `InvalidAccount\.NotFound`, `[^\n]*`),
			Title:   "parameter not found in an API call",
			Cause: "A call that shares an image named a parameter that does not exist (AddAccount.n or " +
				"RemoveAccount.n); this mostly happens when the cluster is created through the API.",
			Remedy:    "Check the account parameters of the image-sharing call (AddAccount.n, RemoveAccount.n) and call it again.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
			Refine:    requestID,
		},
		{
			ID:        "faq.cluster.instance_type_unauthorized",
			Pattern:   bareCode(`InvalidInstanceType\.ValueUnauthorized`),
			Title:     "instance type not authorised",
			Cause:     "The instance type requested is not one the account may use here; this mostly happens when the cluster is created through the API.",
			Remedy:    "Choose an instance type the account is authorised for in this region and zone.",
			Reference: refFAQCluster,
			Severity:  diag.Critical,
		},
		{
			ID:      "faq.cluster.cidr_duplicate",
			Pattern: bareCode(`InvalidCIDRBlock\.Duplicate`),
			Title:   "container CIDR block overlaps the VPC's",
			Cause: "The container CIDR block given for the VPC cluster conflicts with a CIDR block of the VPC's " +
				"route table or of a VSwitch in the VPC.",
			Remedy:    "Choose a container CIDR block that overlaps neither the VSwitches of the VPC nor the entries of its route table, then create the cluster again.",
			Reference: refFAQD33,
			Severity:  diag.Critical,
		},
		{
			ID:      "faq.ram_ak_invalid",
			Pattern: `Invalid input for user ram ak or ak secret`,
			Title:   "RAM access key rejected",
			Cause: "Adding a custom Server Load Balancer to an application needs Container Service's RAM " +
				"authorisation: the RAM service is not activated, the account has as many RAM users as allowed, " +
				"or the cluster's RAM authorisation is out of date.",
			Remedy: "Follow the steps in order; after each fix, create the application again.",
			Steps: []string{
				"Check that the RAM service is activated; if it is not, activate it and try again; if it is, go to step 2.",
				"Check whether the number of RAM accounts has reached its limit; if it has, delete one you no longer need and try again.",
				"Otherwise refresh the cluster's RAM authorisation: Container Service console → Clusters → More (Details) on the cluster → Update RAM authorisation info → Confirm.",
			},
			Reference: refFAQD17,
			Severity:  diag.Critical,
		},
		{
			ID:      "faq.log_no_access_key",
			Pattern: `Unauthorized ErrorMessage:\s*no authority, denied by ACL`,
			Title:   "primary account has no AccessKey",
			Cause: "The log agent (ilogtail) is refused by Log Service because the primary account has no " +
				"AccessKey, so the application's logs are not collected.",
			Remedy:    "Create an AccessKey for the primary account and keep at least one valid AccessKey; logs written after that reach Log Service.",
			Reference: refFAQD25,
			Severity:  diag.Warning,
		},
		{
			ID: "faq.remove_busy_kernel",
			// The kernel (uname -a or uname -r) is read from the error's
			// line or the next eight.
			Pattern: `failed to remove root filesystem(?: for (?P<container>[0-9A-Za-z_.-]+))?:[^\n]*?device or resource busy` +
				`(?:(?:[^\n]*\n){0,8}?[^\n]*?\b(?P<kernel>[2-9]\.\d{1,2}\.\d{1,3}-\d[\w.+~-]*))?`,
			Title:     "container removal fails: kernel possibly too old",
			Cause:     busyCause + " Run uname -a on the node to see its kernel.",
			Remedy:    busyRemedy,
			Steps:     []string{busyDrain, "Upgrade the kernel: on Ubuntu 14.04 `" + fixUbuntu + "`; on CentOS 7 `" + fixCentOS + "`.", busyReboot, busyBack},
			Reference: refFAQD29,
			Severity:  diag.Critical,
			Refine:    refineKernel,
		},
	}
}

// The FAQ's kernel rule, in its order: drain, upgrade, reboot, return.
const (
	busyCause = "Removing or updating a container fails with \"device or resource busy\" on nodes whose kernel is too old: " +
		"Ubuntu 14.04 with kernel 3.13 or earlier, CentOS 7 with kernel 3.10.0-514 or earlier."
	busyRemedy = "Drain the node, upgrade its kernel, reboot it and move the applications back, in that order."
	busyDrain  = "Move the applications off the node first (scheduling constraints, or stop and start their containers on another node)."
	busyReboot = "Reboot the node to run the new kernel (uname -r shows it)."
	busyBack   = "Move the applications back to the node."
)

// refineKernel reads the kernel named after the error when the text shows
// one (uname -a or uname -r): one the FAQ calls too old gets its
// distribution's fix; one recent enough is not this case (the match is
// vetoed). Without a kernel the rule's own text names both.
func refineKernel(e *diag.Explanation) bool {
	kernel := e.Fields["kernel"]
	if kernel == "" {
		return true
	}
	family, old := kernelOld("", kernel)
	switch {
	case old:
		fix := fixUbuntu
		if family == familyCentOS7 {
			fix = fixCentOS
		}
		e.Title = "container removal fails on an old kernel"
		e.Cause = "The node runs kernel " + kernel + " (" + family + "), which is too old: removing or updating a container fails with \"device or resource busy\"."
		e.Steps = []string{busyDrain, "Upgrade the kernel: `" + fix + "`.", busyReboot, busyBack}
		return true
	case family != "" || kernelMajor(kernel) >= 4:
		return false // recent enough: not the FAQ's case
	}
	e.Cause = busyCause + " Kernel " + kernel + " is of neither distribution."
	e.Steps = []string{busyDrain, "Upgrade the node to a supported kernel (4.x or later).", busyReboot, busyBack}
	return true
}
