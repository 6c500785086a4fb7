// Package docker makes containers on a node's own Docker Engine into
// [ha.Resource]s, so that a failover group can hold a containerised
// service on exactly one node at a time (the part CLUSTERPRO leaves to an
// exec resource and a custom monitor, done natively).
//
// A [Resource] is one container, named in its [Config]:
//
//   - Activate creates the container from Config.Create when it is
//     missing (labelled with the group, the resource, the node and the
//     holder's epoch: LabelGroup, LabelResource, LabelNode, LabelEpoch),
//     starts it, and waits until its health check reports healthy, or,
//     for an image without one, until it has kept running for
//     Config.SettleTime. With Config.Existing it manages a container
//     created beforehand (docker run, Compose) and never creates or
//     removes it.
//   - Deactivate stops it with Config.StopGrace before SIGKILL, and
//     removes it when Config.RemoveOnDeactivate is set.
//   - Check, the resource's monitor, is OK for a running, healthy
//     container and Critical, with a reason and a code, for an unhealthy,
//     exited or missing one; an engine that cannot be asked is an error,
//     so the member's [ha.RecoveryPolicy].OnUnreachable applies instead
//     of a recovery.
//
// A [Set] is several containers activated in order and deactivated in
// reverse, as one resource.
//
// The cluster, not the engine, restarts a failed container: containers are
// created with restart policy "no", since a restart by the engine would
// happen behind the monitor's back, and on a node the group may have left.
// Ports cannot be published yet (see [Spec]); a service that listens uses
// Network "host".
//
// # Codes
//
// Failures are *[ha.ResourceError]s, so that the group's messages read as
// CLUSTERPRO's ("Activating web resource has failed.(8 : container web
// exited with code 3 while it was being started)"). Besides the codes
// every resource shares (5 an engine call failed, 6 timeout, 99 internal)
// this type has:
//
//	 7  CodeImageMissing  the image is not on the engine (minato never pulls)
//	 8  CodeExited        the container exited during start; Check: it exited
//	 9  CodeUnhealthy     its health check reports unhealthy
//	10  CodeMissing       no container of that name (existing: true; Check)
//	11  CodeForeign       a container of that name that is not this resource's
//	12  CodeNotRunning    created, paused or being removed
//	13  CodeStaleEpoch    created under a newer epoch than the activation's
//
// Check's Critical results carry the same codes in monitor.Result.Code.
//
// # Usage
//
//	c, err := container.New(container.DefaultConfig())
//	...
//	web, err := docker.New(c, docker.Config{
//		Name:   "web",
//		Group:  "web-group",
//		Create: &docker.Spec{Image: "nginx:1.27", Network: "host"},
//	})
//	...
//	group := ha.Group{Name: "web-group", Nodes: []string{"node1", "node2"},
//		Members: []ha.Member{{Name: "web", Resource: web}}}
package docker
