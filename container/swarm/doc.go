// Package swarm runs minato applications as Docker Swarm services, and
// one-off jobs as Swarm replicated jobs, through a manager of the swarm.
//
// A [Client] is made from a [container.Client] for a swarm manager and
// shares its connections. [Client.Info] says whether the engine is in a
// swarm and a manager (commands that need one fail with [ErrNotManager]
// otherwise).
//
// # Services
//
// A [ServiceSpec] declares an application with the field names of the
// application declaration (package container/app): image, replicas,
// command, env, ports, mounts, networks, resources, restart policy,
// healthcheck, labels and update policy. [Client.Apply] creates the
// replicated service, or updates it when the declared spec changed: the
// service and its containers carry minato.app=<name> and
// minato.app.spec=<hash of the spec> ([ServiceSpec.Hash]), and a service
// whose hash and replica count match is not written at all. Swarm rolls an
// update out as UpdatePolicy says (Batch tasks at a time, Order, each
// watched for Timeout) and, with the default failure action "rollback",
// puts the previous spec back by itself when a new task fails or never
// becomes healthy. [Client.Status] reads the service's tasks on every node
// (desired, running and failed per node, the last task error, the update
// state), and [Client.WaitConverged] waits until every task runs the
// declared spec, or reports that Swarm rolled the update back
// ([ErrRolledBack]) or paused it ([ErrUpdatePaused]). [Client.Scale] and
// [Client.Delete] act on minato's services only ([ErrNotOwned]).
//
// Swarm cannot label a task with its replica index, so the
// minato.app.replica label of the engine path has no counterpart here: the
// index is the task's slot ([TaskStatus].Slot), also part of the container
// name <service>.<slot>.<task>.
//
// # Jobs
//
// [Client.RunJob] runs a [JobSpec] as a replicated job (one task, run once,
// never restarted), waits for it, and reports the container's exit code
// and output (read from the service log once the task ended). A timeout
// or a cancelled ctx stops the task. Package job/docker wraps it as a
// job.Action ([SwarmRun]).
//
// # Usage
//
//	cc, _ := container.New(container.ConfigFromEnv(nil))
//	sc, _ := swarm.New(cc)
//	res, err := sc.Apply(ctx, swarm.ServiceSpec{Name: "web", Image: "registry:5000/web:1.2", Replicas: 2,
//		Ports: []string{"8080:80"}, Update: swarm.UpdatePolicy{Batch: 1, Timeout: 10 * time.Second}})
//	...
//	st, err := sc.WaitConverged(ctx, "web")
//	if errors.Is(err, swarm.ErrRolledBack) { ... }
//
// What Swarm guarantees across nodes, and what follows for minato, is in
// docs/scale.md.
//
// [SwarmRun]: https://pkg.go.dev/github.com/minato-ops/minato/job/docker#SwarmRun
package swarm
