package explain_test

import (
	"fmt"

	"github.com/minato-ops/minato/diag/explain"
)

// Explaining a line of a Container Service cluster-creation log: the
// step, request ID, status and code become fields.
func Example() {
	text := "Config cs ClusterNetwork failed : Aliyun API Error: RequestId : 264E5ADC-0571-44C0-8508-C037096856C7 " +
		"Status Code: 403 Code: QuotaExceed.SecurityGroup Message: The security group quota exceeds."
	for _, e := range explain.Default().Explain(text) {
		fmt.Println(e.Rule, "-", e.Title)
		fmt.Println("step:", e.Fields["step"], "status:", e.Fields["status"], "code:", e.Fields["code"])
		fmt.Println("request:", e.Fields["request_id"])
		fmt.Println("fix:", e.Remedy)
	}
	// Output:
	// faq.cluster.quota_security_group - security group quota exceeded
	// step: ClusterNetwork status: 403 code: QuotaExceed.SecurityGroup
	// request: 264E5ADC-0571-44C0-8508-C037096856C7
	// fix: Delete security groups you no longer use, or ask for a higher security group quota, then create the cluster again.
}

// A pasted Docker error names the registry to log in to again.
func ExampleExplain() {
	text := "Error response from daemon: pull access denied for registry.cn-hangzhou.aliyuncs.com/acs/app, " +
		"repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
	for _, e := range explain.Explain(text) {
		fmt.Println(e.Rule, e.Fields["registry"])
		fmt.Println(e.Reference)
	}
	// Output:
	// docker.pull_access_denied registry.cn-hangzhou.aliyuncs.com
	// Container Service FAQ D31 (§2.19, image pull fails); Docker Engine pull errors
}

// JobCenter's "Site names do not match." has two causes; time stamps in
// the pasted log tell which.
func ExampleExplain_jobCenterSiteNames() {
	show := func(text string) {
		for _, e := range explain.Explain(text) {
			fmt.Printf("%s: %s\n", e.Title, e.Remedy)
		}
	}
	show("Site names do not match.")
	show("2025-05-27T05:03:09Z Setting up JobCenter MG\n2025-05-27T05:05:11Z Site names do not match.")
	// Output:
	// JobCenter MG site name does not match: See how long the container ran (docker container inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' <container>, or docker container logs --timestamps). Stopped at once: create the container with the spool's site name as --hostname. Stopped after about two minutes: on a Docker network, use <container name>.<network name> as --hostname.
	// JobCenter MG cannot resolve its own name: On a Docker network, create the container again with --hostname <container name>.<network name>, so that Docker's DNS resolves it; otherwise make the host name resolvable (DNS or --add-host).
}

// A text no rule knows is unclassified: nothing is guessed.
func ExampleExplain_unclassified() {
	fmt.Println(len(explain.Explain("Error response from daemon: context deadline exceeded")))
	// Output:
	// 0
}
