// Package docker provides [job.Action]s on Docker containers: the container
// jobs of the Hinemos Docker job scripts (start, stop, restart, rm, exec,
// download; see docs/compatibility.md) built on package container.
//
// Each lifecycle action looks at the container's current state first and
// acts only where the scripts do: [Start] on exited or created
// containers, [Stop] and [Restart] on running ones, [Remove] on stopped ones
// unless forced. Anything else is a skip (or, for a non-forced remove of a
// running container, a failure), reported per container.
//
// [RunContainer] runs a new container to completion (docker run --rm).
// When its ctx ends because the run was detached ([job.ErrDetached]: the
// scheduler is stopping but the work should go on), it leaves the
// container running, neither stopped nor removed, for the next process to
// adopt. [AdoptableRun] is the same action as a [job.Adopter]: it keeps
// its containers until Release, and Adopt finds one again by its labels,
// relays all of its output from the start and reports its exit as Do
// would (starting it first if it was only created).
//
// # Usage
//
//	eng, _ := container.New(container.ConfigFromEnv(nil))
//	targets, err := eng.Resolve(ctx, inventory.Selector{Names: []string{"web*"}})
//	...
//	grace := 5 * time.Second
//	rep := job.Run(ctx, docker.Stop(eng, docker.StopOptions{Grace: &grace}), targets, job.RunOptions{Concurrency: 4})
//	os.Exit(rep.ExitCode())
package docker
