package diag

// This file holds the built-in runbooks as data: their steps, titles and
// advice follow the Container Service FAQ (translated); the checks that
// answer each step are given by the caller (diag/docker and the CLI wire
// real ones), so the same procedure runs against whatever answers it.

// Names of the built-in runbooks.
const (
	RunbookConnectivity  = "connectivity"
	RunbookLogCollection = "log-collection"
)

// Connectivity returns the Container Service FAQ's seven-step link check
// (§2.8): a request travels client > DNS > load balancer > routing
// container > web container, and a fault at any stage stops it, so the
// steps start from the web container and work outwards, stopping at the
// first that fails. Each argument answers one step, in this order:
//
//  1. container: is the container running?
//  2. service: is the service that provides the web container ready?
//  3. health: do the web containers pass their health check?
//  4. probe: does the web container's page answer when asked directly,
//     bypassing the routing (an HTTP status below 400)?
//  5. routing: does the routing (HAProxy) container reach every backend?
//  6. lb: does the load balancer's listener run and see its backends
//     healthy?
//  7. dns: does the domain resolve to the load balancer's address?
//
// A nil check is a step with no counterpart here (no cloud load
// balancer, no routing container): it is reported as not applicable and
// passes.
func Connectivity(container, service, health, probe, routing, lb, dns Check) Runbook {
	return Runbook{
		Name:      RunbookConnectivity,
		Title:     "Link (connectivity) check: client > DNS > load balancer > routing > web container",
		Reference: "Container Service FAQ §2.8",
		Steps: []Step{
			{
				Title: "Is the container running?",
				Check: container,
				Advice: "Look at the application's container status: every container must be running " +
					"(Ready, none stopped). Look at the application's events for why a container stopped, " +
					"start it again, then repeat this check.",
			},
			{
				Title: "Check the service that provides the web container",
				Check: service,
				Advice: "The service that provides the web container must be Ready with all its containers " +
					"running (Ready:3 Stop:0 in the FAQ's example). Look at the service's events and logs " +
					"for why it is not.",
			},
			{
				Title: "Check the health-check status of the containers that provide the web service",
				Check: health,
				Advice: "Every container must show Normal under Health Check. If one does not, read its logs " +
					"for error messages and its events for deployment exceptions. When a health check is " +
					"configured, confirm that the health-check page returns status code 200 and the health " +
					"status is normal.",
			},
			{
				Title: "Check that the web container's page responds (bypassing the routing)",
				Check: probe,
				Advice: "Log in to the routing container (or another container on the same network) and " +
					"request the web container by its container IP, e.g. docker exec -it <routing container> sh, " +
					"then curl -v <container IP>. An HTTP status below 400 means the page is normal (302 Found " +
					"in the FAQ's example); otherwise the fault is in the web application itself: read its logs.",
			},
			{
				Title: "Verify the routing service",
				Check: routing,
				Advice: "Upgrade the routing to the latest version. Log in to each machine of the cluster (any " +
					"machine may receive the request, wherever the application containers run) and request the " +
					"routing's statistics page: curl -Ss -u admin:admin 'http://127.0.0.1:1936/haproxy?stats'. " +
					"In its third part, the backend information (the most important part), every server of the " +
					"service's backend (w_web_80_servers for port 80 of service web) must be up (green): any " +
					"other state means the routing container cannot reach that container.",
			},
			{
				Title: "Check that the load balancer VIP forwards correctly and its health check is normal",
				Check: lb,
				Advice: "Find the cluster's load balancer and its IP address. Its listener must be Running " +
					"(e.g. front end TCP:80 to back end TCP:9080), and every backend server's health check " +
					"must be Normal.",
			},
			{
				Title: "Check that the domain resolves to the load balancer VIP",
				Check: dns,
				Advice: "Resolve the domain (ping www.example-domain.com, dig www.example-domain.com): it must " +
					"resolve to the load balancer VIP found in the previous step. Correct the DNS record if " +
					"it does not.",
			},
		},
	}
}

// LogCollection returns the Container Service FAQ's procedure for logs
// that do not reach the log service although the application asks for
// collection (§2.15). The FAQ says not to skip any step, and each step is
// a cause of its own, so every step runs (RunAll) and the result lists
// all that failed, the first one's advice in Advice. Each argument
// answers one step, in this order:
//
//  1. logstore: was the log store created?
//  2. agentVersion: is the log agent (ilogtail) recent enough?
//  3. agentLog: does the log agent's own log tell the problem (no
//     network to the log endpoint, no access key)?
//  4. machineGroup: is this machine's IP in the log service's machine
//     group?
//  5. accessKey: does the primary account have a valid access key?
//  6. logContent: does the application really write logs?
//
// A nil check is a step with no counterpart here: it is reported as not
// applicable and passes.
func LogCollection(logstore, agentVersion, agentLog, machineGroup, accessKey, logContent Check) Runbook {
	return Runbook{
		Name:      RunbookLogCollection,
		Title:     "Logs do not reach the log service",
		Reference: "Container Service FAQ §2.15",
		RunAll:    true,
		Steps: []Step{
			{
				Title: "Check that the Logstore was created",
				Check: logstore,
				Advice: "If the Logstore was not created, the application was not deployed correctly: look for " +
					"deployment error messages in the application's events.",
			},
			{
				Title: "Check the ilogtail version",
				Check: agentVersion,
				Advice: "Run docker ps | grep ilogtail on the machine and read the version of the ilogtail image. " +
					"If it is 0.11.6, upgrade the system services to the latest version (0.13.4 when the FAQ " +
					"was written); after the upgrade, query the logs in the log service console once the " +
					"application has written new logs.",
			},
			{
				Title: "Check the ilogtail log",
				Check: agentLog,
				Advice: "Read the agent's log to find the problem: docker exec -it <ilogtail container ID> cat " +
					"/usr/local/ilogtail/ilogtail.LOG. Common reasons: no network connection (check with telnet " +
					"logtail.cn-<region>-vpc.log.aliyuncs.com 80 inside a VPC, telnet " +
					"logtail.cn-<region>.log.aliyuncs.com 80 over the Internet); no AccessKey set: when the " +
					"primary account has none the log shows \"Unauthorized ErrorMessage:no authority, denied by " +
					"ACL\", so create an AccessKey for the primary account first. Check that the primary account " +
					"has an AccessKey whether or not that message is in the log.",
			},
			{
				Title: "Check that the machine's IP belongs to the log service's machine group",
				Check: machineGroup,
				Advice: "Log in to the log service console and open the cluster's project (named " +
					"acslog-project-<first 10 characters of the cluster ID>), then the logtail machine groups, " +
					"then the machine status of the group: the current machine's IP address must be in the IP list.",
			},
			{
				Title:  "Check that the primary account has an AccessKey",
				Check:  accessKey,
				Advice: "Make sure the primary account has at least one valid AccessKey.",
			},
			{
				Title: "Check that the log file has content",
				Check: logContent,
				Advice: "Enter the application container and confirm that logs are really written; for logs on " +
					"standard output, use docker logs directly.",
			},
		},
	}
}
