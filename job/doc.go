// Package job is the job core: an [Action] does one unit of work to one
// [inventory.Target], [Run] applies it to many Targets, and the [Report]
// sums the outcomes into the exit code of the Hinemos Docker job scripts (0 all succeeded or had
// nothing to do, 9 at least one Target failed, 1 the job could not run).
//
// A process that ran and exited non-zero is an [Outcome], not an error:
// job systems branch on exit codes, so the code is data. error means the
// action could not be performed at all (engine unreachable, container
// gone, ctx expired).
//
// [Wrapper]s add cross-cutting behaviour to an Action, composed with
// [Chain] as robfig/cron's: [Timeout] (a deadline per Do; a timed-out
// Outcome has TimedOut set), [Retry] (a [RetryPolicy] with delay, backoff
// and per-exit-code decisions) and [SkipIfRunning] (no overlap per
// Target). Actions write their output to [Output](ctx).
//
// A [Network] is a job network, JobCenter's term: units, each an Action on
// a Target, connected by their needs into a DAG. [Network.Start] starts each
// unit once its needs finished and its [When] condition (success, failure,
// always, or exit codes) holds, bounds how many run at once, applies each
// unit's timeout per attempt and its retries, captures its output (bounded
// in memory, spilled to a file beyond the limit) and returns a
// [NetworkReport] whose ExitCode follows the same 0/9/1 convention.
//
// [Network.Start] runs a network in the background as an [Execution] with
// JobCenter's operator controls: hold and release a unit before it starts,
// skip it (it counts as succeeded), force-stop it while it runs. It can
// resume an earlier report: finished units keep their results, and units
// that were running are adopted when their Action is an [Adopter] (work
// that outlives the process, found again by its labels).
//
// Schedules and calendars (cron in a time zone, business days) are in
// job/schedule; the scheduler that runs networks on them and on
// submission, with queues, overlap policies and a crash-safe store, is in
// job/scheduler; its HTTP API is job/jobapi. See docs/jobs.md for the
// operator's view.
//
// The package imports only the standard library and inventory. Actions on
// Docker containers (the start, stop, restart, rm, exec and download
// jobs) live in the adapter package job/docker.
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
//
// A network:
//
//	n := &job.Network{Name: "backup", Concurrency: 2, Units: []job.Unit{
//		{Name: "dump", Action: dump, Timeout: time.Hour, Retry: &job.RetryPolicy{Limit: 2, Delay: time.Minute}},
//		{Name: "upload", Action: upload, Needs: []string{"dump"}},
//		{Name: "alert", Action: alert, Needs: []string{"dump", "upload"}, When: job.When{On: job.WhenFailure}},
//	}}
//	e, err := n.Start(ctx, job.StartOptions{}) // err: the network is invalid and nothing ran
//	if err != nil {
//		return err
//	}
//	rep := e.Wait()
package job
