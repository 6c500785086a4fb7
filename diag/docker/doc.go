// Package docker holds the diagnostics about a Docker Engine and its
// containers, as [diag.Check]s: what experienced operators look at first,
// and the Container Service FAQ's checks that concern an engine.
//
// [Checks] returns them for the engine a [container.Client] talks to:
//
//	engine.reachable    the engine answers, with an API minato speaks
//	engine.warnings     each warning docker info shows, explained
//	engine.storage      deprecated or test-only storage drivers, d_type
//	engine.cgroup       cgroupfs driver on a systemd host
//	engine.clock        D30: the engine's clock against this machine's
//	engine.dns          D20: name resolution inside a container on a
//	                    user-defined network (needs Options.ProbeImage)
//	engine.reclaimable  dangling images and unused volumes, and their size
//	container.ports     D03 reserved host ports, D04 host-port conflicts
//	container.hygiene   restart policy, memory limit, health check, init
//	                    process, privileged, Docker socket, log size limit
//	container.crashes   OOM kills and restart loops
//
// followed by the host checks of package diag/host when the engine runs
// on this machine. The container checks judge the containers
// [Options.Selector] picks (container.hygiene only those running,
// restarting or paused: a stopped container's settings harm nothing until
// it starts); they share one listing and inspection of the engine's
// containers per run.
//
// Every finding has a stable code (the FAQ's row when it has one, else
// "container.no_restart_policy" and the like), a remedy an operator can
// act on, and the values seen as evidence. A check that cannot answer (the
// engine is down) returns an error instead; an unreachable engine is the
// one thing engine.reachable reports as a finding.
//
// The checks only read, except engine.dns, which creates a network and a
// short-lived container per name (labelled [ProbeLabel]) and removes them.
// No image is ever pulled.
//
// Not checked here: whether a running image is the tag's current one
// (the Container Service FAQ's D01 needs a registry client): package image
// has that check, image.Client.DiagCheck, which minato diag check --images
// adds.
//
// # Usage
//
//	c, err := container.New(container.ConfigFromEnv(nil))
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	rep := diag.Run(ctx, docker.Checks(c, docker.Options{}), diag.RunOptions{})
//	for _, f := range rep.Findings() {
//		fmt.Printf("%s %s %s: %s\n  do: %s\n", f.Severity, f.Code, f.Subject, f.Title, f.Remedy)
//	}
//	os.Exit(rep.ExitCode())
package docker
