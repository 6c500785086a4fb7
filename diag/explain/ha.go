package explain

import (
	"fmt"
	"strings"

	"github.com/minato-ops/minato/diag"
)

const refHA = "minato HA guide (docs/ha.md), Codes"

// member is the optional "<member>: " a container set puts before the
// detail of one of its containers.
const member = `(?:[\w.-]+: )?`

// haRules explains minato's own failover lines: the codes every resource
// shares whose meaning is fixed (6 on deactivation, 99), and the details
// of its container, script and AWS resources. The container and script
// details are matched from their "(<code> : " on, whichever line (an
// activation or a monitor) carries them.
func haRules() []diag.Rule {
	return []diag.Rule{
		{
			ID:        "ha.deactivate.timeout",
			Pattern:   deactivate + ` ?\((?P<code>6) : (?P<detail>Timeout occurred\.` + detail + `)\)`,
			Title:     "resource deactivation timed out",
			Cause:     "Stopping the resource did not finish within its time limit (a container slow to stop, a stop command that hangs, an AWS call that does not answer).",
			Remedy:    "See what the resource was doing (docker logs for a container, the stop command's output for a script, the network path to AWS for an AWS resource); fix it or give it a longer stop timeout. The group cannot move to another node while a resource may still be active here.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.activate.internal_error",
			Pattern:   activate + ` ?\((?P<code>99) : (?P<detail>` + detail + `)\)`,
			Title:     "internal error while activating",
			Cause:     "An error that fits none of the resource's codes stopped the activation; the detail is the error itself.",
			Remedy:    "Read the detail; if it does not say what to fix, run `minato diag bundle` and report it with the agent's log.",
			Reference: refHA,
			Severity:  diag.Critical,
			// CLUSTERPRO's own "Internal error.(status=nn)" has its rule.
			Refine: func(e *diag.Explanation) bool {
				return !strings.HasPrefix(e.Fields["detail"], "Internal error.(status=")
			},
		},
		{
			ID:        "ha.deactivate.internal_error",
			Pattern:   deactivate + ` ?\((?P<code>99) : (?P<detail>` + detail + `)\)`,
			Title:     "internal error while deactivating",
			Cause:     "An error that fits none of the resource's codes stopped the deactivation; the detail is the error itself.",
			Remedy:    "Read the detail; if it does not say what to fix, run `minato diag bundle` and report it with the agent's log.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.monitor.internal_error",
			Pattern:   monError + `(?P<code>99) : (?P<detail>` + detail + `)\)`,
			Title:     "internal error while monitoring",
			Cause:     "The monitor's check failed with an error that fits none of its codes; the detail is the error itself.",
			Remedy:    "Read the detail; if it does not say what to fix, run `minato diag bundle` and report it with the agent's log.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.monitor.internal_warning",
			Pattern:   monWarn + `(?P<code>199) : (?P<detail>` + detail + `)\)`,
			Title:     "monitor could not learn the state (warning only)",
			Cause:     "The monitor's check failed with an error that fits none of its codes; the monitor is set to warn rather than recover (on_unreachable: warn).",
			Remedy:    "Read the detail; if it does not say what to fix, run `minato diag bundle` and report it with the agent's log.",
			Reference: refHA,
			Severity:  diag.Warning,
		},
		{
			ID:        "ha.docker.image_missing",
			Pattern:   `\((?P<code>7) : ` + member + `image (?P<image>\S+) is not on the engine` + detail + `\)`,
			Title:     "image not on the engine",
			Cause:     "The container resource creates its container from an image that this node's engine does not have; minato never pulls images.",
			Remedy:    "Pull or load the image on every node that may run the group (docker pull, or docker load), then activate again.",
			Reference: refHA,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				e.Remedy = fmt.Sprintf("Pull or load %s on every node that may run the group (docker pull %s, or docker load), then activate again.", e.Fields["image"], e.Fields["image"])
				return true
			},
		},
		{
			ID: "ha.docker.exited",
			Pattern: `\((?P<code>8) : ` + member + `container (?P<container>\S+) (?P<state>exited with code|is restarting \(engine restart policy\) after exiting with code|is dead \(last exit code) ` +
				`(?P<exit_code>-?\d+)\)?(?P<detail>` + detail + `)\)`,
			Title:     "container exited",
			Cause:     "The container resource's container stopped running.",
			Remedy:    "Read why in its log (docker logs <container>) and state (docker inspect <container>), fix it, then activate the group again.",
			Reference: refHA,
			Severity:  diag.Critical,
			Refine:    refineExited,
		},
		{
			ID:        "ha.docker.unhealthy",
			Pattern:   `\((?P<code>9) : ` + member + `container (?P<container>\S+) is running but its health check reports (?P<health>\w+)` + detail + `\)`,
			Title:     "container unhealthy",
			Cause:     "The container runs, but its health check (HEALTHCHECK of the image, or the resource's) reports it unhealthy.",
			Remedy:    "Read the health check's last results (docker inspect --format '{{json .State.Health}}' <container>) and the container's log; fix the service or the check.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.docker.missing",
			Pattern:   `\((?P<code>10) : ` + member + `container (?P<container>\S+) (?P<what>does not exist|disappeared while it was being started)` + detail + `\)`,
			Title:     "container missing",
			Cause:     "No container of the resource's name exists on this node's engine: it was removed, or, for a resource managed as existing, never created (minato does not create those).",
			Remedy:    "Find out who removed it (docker events, the engine's log); create it again (for existing: true, with the command that created it), then activate the group again.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID: "ha.docker.foreign",
			Pattern: `\((?P<code>11) : ` + member + `container (?P<container>\S+) exists but was not created for resource "(?P<resource>[^"\n]*)" of group "(?P<group>[^"\n]*)"` +
				detail + `\)`,
			Title:     "container of that name is not the resource's",
			Cause:     "A container with the resource's name exists, but its labels show it was not created for this resource and group, so minato leaves it alone.",
			Remedy:    "Remove or rename that container, or, if it is the one meant, manage it with existing: true.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID: "ha.docker.not_running",
			Pattern: `\((?P<code>12) : ` + member + `container (?P<container>\S+) (?P<state>is paused|is being removed|has no state|is \w+(?:, not running| while it was being started))` +
				detail + `\)`,
			Title:     "container neither running nor stopped",
			Cause:     "The container is paused, created but not started, or being removed, so the resource can neither use nor replace it.",
			Remedy:    "Unpause it (docker unpause <container>), wait for the removal to end, or remove it; or deactivate the resource first. Then activate again.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID: "ha.docker.stale_epoch",
			Pattern: `\((?P<code>13) : ` + member + `container (?P<container>\S+) was created under epoch (?P<epoch>\d+), newer than this activation's epoch (?P<activation_epoch>\d+)` +
				detail + `\)`,
			Title:     "activation refused: a newer holder was here",
			Cause:     "The container was created by a later holder of the group's lease than the activation that tried to use it: this node acted on an outdated lease, and minato refuses (fencing).",
			Remedy:    "Nothing to repair on this node: check which node holds the group now (minato ha status) and why this one still tried to activate it (a network partition, a paused agent, clock problems).",
			Reference: refHA,
			Severity:  diag.Warning,
		},
		{
			ID:        "ha.script.command_failed",
			Pattern:   `\((?P<code>5) : (?P<action>start|stop) command (?P<state>exited with status (?P<status>\d+)|ended by signal: [a-z ]+?)(?:: (?P<output>` + detail + `))?\)`,
			Title:     "resource command failed",
			Cause:     "The script resource's start or stop command ended with a non-zero status or was ended by a signal; the detail ends with its last output line.",
			Remedy:    "Run the command by hand on the node, with the same user and environment, to see why it fails; fix it, then activate the group again.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.script.unknown",
			Pattern:   `\((?P<code>1?05) : check reported UNKNOWN: (?P<output>` + detail + `)\)`,
			Title:     "check could not learn the state",
			Cause:     "The script resource's check command exited with status 3 (UNKNOWN): it could not tell whether the service is up.",
			Remedy:    "Run the check by hand on the node; fix what stops it from answering (its output says what).",
			Reference: refHA,
			Severity:  diag.Warning,
		},
		{
			ID:        "ha.script.not_run",
			Pattern:   `\((?P<code>7) : (?P<action>\w+) command "(?P<program>[^"\n]*)" could not be run: (?P<reason>` + detail + `)\)`,
			Title:     "resource command could not be run",
			Cause:     "The script resource's command could not be started: the program is not found or not executable, or the working directory is missing.",
			Remedy:    "Check the program's path and execute permission (ls -l), and the working directory, on every node of the group.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.script.inactive",
			Pattern:   `\((?P<code>8) : not active \(no check command: as the last deactivation left it\)\)`,
			Title:     "script resource not active",
			Cause:     "The script resource has no check command, so its state is what the last start or stop left: it was deactivated, or never activated on this node.",
			Remedy:    "Activate the group on this node if it should run here; give the resource a check command to watch the service itself.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.aws.vip_not_local",
			Pattern:   monError + `(?P<code>9) : The VIP address (?P<vip>\S+) does not exist on the own server\.\)`,
			Title:     "VIP missing from this node's interface",
			Cause:     "The routes lead to this node, but the virtual IP address is not on its network interface (removed by hand, or by a network restart).",
			Remedy:    "The recovery ladder restarts the resource, which adds the address again; if it keeps disappearing, look for what manages the interface's addresses (NetworkManager, cloud-init, netplan).",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.aws.az_unhealthy",
			Pattern:   monError + `(?P<code>7) : The availability zone (?P<zone>\S+) is (?P<state>\w+)\.\)`,
			Title:     "Availability Zone not available",
			Cause:     "AWS reports the node's Availability Zone in a state other than available.",
			Remedy:    "Check the AWS Health Dashboard for the zone; the group moves to a node in a healthy zone when the recovery target says so.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.aws.vip_no_route",
			Pattern:   activate + `\((?P<code>5) : None of the route tables of (?P<vpc>\S+) has a route for (?P<route>\S+)\.` + detail + `\)`,
			Title:     "no route for the VIP",
			Cause:     "No route table of the VPC has a route for the VIP: the AWS virtual IP resource re-points existing routes, it does not create them.",
			Remedy:    "Add the VIP's /32 route (to any cluster node's ENI) to every route table whose clients use the VIP, then activate again.",
			Reference: refHA + "; " + refCPVIP,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.aws.eni_other_vpc",
			Pattern:   activate + `\((?P<code>5) : The networkInterface ID '(?P<eni>[^'\n]*)' belongs to (?P<eni_vpc>\S+), not to (?P<vpc>\S+?)\.\)`,
			Title:     "ENI in another VPC",
			Cause:     "The ENI set for this node belongs to another VPC than the one the resource manages.",
			Remedy:    "Set this node's ENI to one of its own interfaces in the resource's VPC, or correct the VPC.",
			Reference: refHA + "; " + refCPVIP,
			Severity:  diag.Critical,
		},
		{
			ID:        "ha.aws.metadata",
			Pattern:   `\((?P<code>5) : (?:Could not learn (?P<what>[^\n]*?) from the instance metadata service|Instance (?P<instance>i-[0-9a-f]+) has no (?P<missing>[^\n]*?) in its instance metadata)` + detail + `\)`,
			Title:     "instance metadata did not tell",
			Cause:     "The resource needs a value it takes from the instance metadata service by default (this node's ENI, IP address or Availability Zone), and the service did not give it.",
			Remedy:    "Set the value in the resource's configuration, or make the metadata service reachable: on Docker's bridge network, allow two hops (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2) or run the agent with --network host.",
			Reference: refHA,
			Severity:  diag.Critical,
		},
	}
}

// refineExited reads the exit: at start or later, the exit code, an OOM
// kill, a restart loop.
func refineExited(e *diag.Explanation) bool {
	f := e.Fields
	rest := f["detail"]
	code := f["exit_code"]
	var why []string
	switch {
	case strings.Contains(rest, "OOM-killed"):
		why = append(why, "The kernel's OOM killer ended it: it needed more memory than its limit (or the host had).")
		e.Remedy = "Raise the container's memory limit or find what uses the memory (docker stats), then activate the group again."
	case code == "127":
		why = append(why, "Exit code 127: its command was not found in the image.")
		e.Remedy = "Check the image's entrypoint and command (docker inspect), then activate the group again."
	case code == "126":
		why = append(why, "Exit code 126: its command is not executable.")
		e.Remedy = "Check the command's execute permission in the image, then activate the group again."
	case code == "137":
		why = append(why, "Exit code 137: it was killed (SIGKILL), by an OOM kill or by someone stopping it.")
	case code == "139":
		why = append(why, "Exit code 139: it crashed (segmentation fault).")
	case code == "143":
		why = append(why, "Exit code 143: it was stopped (SIGTERM).")
	}
	switch {
	case strings.HasPrefix(f["state"], "is restarting"):
		e.Title = "container in a restart loop"
		why = append([]string{"The engine keeps restarting the container (its restart policy) after it exits."}, why...)
	case strings.Contains(rest, "while it was being started"):
		e.Title = "container exited while starting"
		why = append([]string{"The container stopped while the resource was starting it, before it was ready."}, why...)
	}
	if len(why) > 0 {
		e.Cause = strings.Join(why, " ")
	}
	return true
}
