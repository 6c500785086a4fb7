// Package scheduler runs job networks ([job.Network]) as JobCenter's
// manager does: on their schedules (job/schedule: cron in a time zone,
// business-day calendars) and on submission, through named [Queue]s that
// an operator can stop and start, with an [Overlap] policy for a run that
// is due while the previous one still runs, a catch-up window for due
// times missed while the process was down, operator controls on running
// units (hold, release, skip, force-stop), whole-run cancellation, and
// reruns of what did not succeed.
//
// Every run and every unit state change is written to a [RunStore] before
// it is acted on, so that a restarted [Scheduler] resumes without running
// anything twice: scheduled run IDs are deterministic ("<network>@<due
// time UTC>"), units whose work outlives the process ([job.Adopter], such
// as a container) are adopted, and a finished unit's real outcome is never
// replaced by a guess. The scheduler's own small values (the last due time
// handled, stopped queues) go to a [StateStore]. [MemStore] keeps both in
// memory; job/boltstore keeps them in one file; job/scheduler/storetest
// checks any implementation. job/jobapi serves a Scheduler over HTTP.
//
// A Store that fails to write (a full disk) loses no outcome: the
// Scheduler retries a unit's result and a run's end until the Store takes
// them, removes a unit's container only once its result is written, and
// leaves it to the next Scheduler to adopt when it stops first;
// [Scheduler.Health] reports the failure (serve it as a health check), and
// no new run is admitted meanwhile. Pruning the history removes spilled
// output files only inside [Config].SpillDir.
//
// The package imports the standard library and minato's job, schedule and
// inventory packages only.
//
// # Usage
//
//	st, err := boltstore.Open(path, boltstore.Options{})
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	s, err := scheduler.New(scheduler.Config{Queues: []scheduler.QueueConfig{{Name: "batch", Concurrency: 2}},
//		SpillDir: spillDir}, st, st, scheduler.WithLogger(log))
//	if err != nil {
//		return err
//	}
//	err = s.Add(scheduler.Entry{Name: "nightly", Schedule: cron, Queue: "batch", Definition: def,
//		Build: func(def []byte, runID string) (*job.Network, error) { return build(def, runID) }})
//	if err != nil {
//		return err
//	}
//	go s.Run(ctx) // until ctx ends; running containers are left to the next Run
//	rec, created, err := s.Submit(ctx, "nightly", scheduler.SubmitOptions{Hold: []string{"upload"}})
//	healthy := s.Health() == nil // false while the store fails to write
package scheduler
