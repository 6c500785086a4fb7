// Package monitortest helps test code built on package monitor:
// conformance suites for Monitor and Watcher implementations
// ([TestMonitor], [TestWatcher], in the style of testing/fstest.TestFS),
// a Monitor and a Watcher that play a script ([Scripted],
// [ScriptedWatcher]), a Sink that records what it is given
// ([RecordingSink]) and a range helper for test tables ([ParseRange]).
//
// Everything here is for tests only: it imports package testing and is
// not meant to be linked into production binaries.
//
// # Usage
//
// An adapter author runs the suite against a real Target:
//
//	func TestConformance(t *testing.T) {
//		m := mymonitor.New(cfg) // the Monitor under test
//		monitortest.TestMonitor(t, m, target, monitortest.Concurrency(4))
//	}
//
// A Watcher author triggers an observation (here, by starting a
// container):
//
//	monitortest.TestWatcher(t, w, func(ctx context.Context) error {
//		return startContainer(ctx)
//	})
//
// A Runner test scripts the measurements and records the output:
//
//	m := &monitortest.Scripted{Steps: monitortest.Values("cpu_percent", monitor.Percent, 10, 95, 95)}
//	sink := &monitortest.RecordingSink{}
//	r, _ := monitor.NewRunner(monitor.RunnerConfig{}, inventory.Static(target), monitor.WithSink(sink))
//
// or scripts a stream, one WatchRun per Watch call (here a failure, then
// a stream that stays up):
//
//	w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{
//		{Err: errors.New("connection reset")},
//		{Emissions: []monitortest.Emission{{Target: target, Result: monitor.Result{Status: monitor.Critical}}}},
//	}}
//	err := r.Add(monitor.Check{Name: "events", Monitor: w})
package monitortest
