// Package monitortest helps test code built on package monitor: a
// conformance suite for Monitor implementations ([TestMonitor], in the
// style of testing/fstest.TestFS), a Monitor that plays a script
// ([Scripted]), a Sink that records what it is given ([RecordingSink]) and
// a range helper for test tables ([ParseRange]).
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
// A Runner test scripts the measurements and records the output:
//
//	m := &monitortest.Scripted{Steps: monitortest.Values("cpu_percent", monitor.Percent, 10, 95, 95)}
//	sink := &monitortest.RecordingSink{}
//	r, _ := monitor.NewRunner(monitor.RunnerConfig{}, inventory.Static(target), monitor.WithSink(sink))
package monitortest
