// Package job is the job core: an [Action] does one unit of work to one
// [inventory.Target], [Run] applies it to many Targets, and the [Report]
// sums the outcomes into seed 002's exit code (0 all succeeded or had
// nothing to do, 9 at least one Target failed, 1 the job could not run).
//
// A process that ran and exited non-zero is an [Outcome], not an error:
// job systems branch on exit codes, so the code is data. error means the
// action could not be performed at all (engine unreachable, container
// gone, ctx expired).
//
// The package imports only the standard library and inventory. Actions on
// Docker containers (seed 002's start, stop, restart, rm, exec and
// download) live in the adapter package job/docker.
//
// # Usage
//
//	targets, err := resolver.Resolve(ctx, sel)
//	if err != nil {
//		return job.Failed(err) // exit code 1
//	}
//	rep := job.Run(ctx, action, targets, job.RunOptions{Concurrency: 4})
//	for _, r := range rep.Results {
//		fmt.Println(r.Target.ShortID(), r.Target.Name, r.Verdict())
//	}
//	os.Exit(rep.ExitCode())
package job
