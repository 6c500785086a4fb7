// Package ha keeps services highly available the way CLUSTERPRO,
// Pacemaker and keepalived do: the resources of a failover group
// (containers, script-driven services, a virtual IP, an Elastic IP, a
// DNS record) are active on exactly one node of a small cluster at a
// time; monitors detect failures; recovery restarts a resource on its
// node, then fails the group over to another node, then takes a final
// action.
//
// The package is the core: the contract every part shares, and the
// [Engine] that runs one node's side of its groups. It imports only the
// standard library, inventory and monitor. The rest lives beside it:
// ha/cluster (membership, heartbeats, who holds each group, epochs),
// ha/witness and ha/etcd (partition resolution and the lease),
// ha/docker and ha/script (containers and commands as resources), ha/aws
// (route-table virtual IP, Elastic IP, Route 53).
//
// # Resources, groups, policies
//
// A [Resource] is a [monitor.Monitor] that can also be activated and
// deactivated on a node. A [Group] lists its [Member]s (each a Resource
// with its dependencies, timeouts and [RecoveryPolicy]), extra
// [GroupMonitor]s (an availability-zone monitor, say) and the nodes that
// may run it, in priority order. [Group.Order] is the activation order:
// every member after those it depends on; deactivation runs it
// backwards. [Group.Validate] checks a group on its own.
//
// A [RecoveryPolicy] is how one monitor is run and recovered: checked
// every Interval (bounded by Timeout, first after StartWait); after
// Retries+1 failures in a row, the recovery: restart the recovery target
// up to Restarts times, then fail the group over up to Failovers times,
// then the [FinalAction]. A check that cannot learn the state (its Check
// returns an error: an API endpoint down, a timeout) is not a failure:
// [UnreachableAction] decides (warn by default, as CLUSTERPRO advises,
// so that a cloud API outage does not move services).
//
// # Epochs and fencing
//
// Every change of holder carries a larger [Epoch], the fencing token.
// The engine puts it in the ctx of every Activate and Deactivate
// ([WithEpoch], [EpochFrom]); a resource that writes to a shared system
// should refuse to act under an epoch older than one it has seen there.
// A [Witness] tells a node whether it is isolated (it reaches the
// witness) or its peer is down; a [Lease] gives exclusivity. Without a
// lease, two nodes cut from each other that both reach the witness both
// take the group (split brain): fencing by epoch is then what protects
// shared data, and only resources that check it are protected.
//
// # Codes and messages
//
// Failures carry CLUSTERPRO's numbered codes in a [*ResourceError]: 5
// (the command or API call failed), 6 (timeout), 99 (internal), others
// numbered per resource type. A monitor that warns instead of recovering
// reports the code plus [WarnOffset] (5 → 105, 6 → 106). The engine's
// operator lines are CLUSTERPRO's, from [ActivateMessage],
// [DeactivateMessage], [MonitorErrorMessage] and [MonitorWarnMessage]:
//
//	Activating web resource has failed.(6 : Timeout occurred.)
//	Detected an error in monitoring web. (9 : container is unhealthy)
//	Warn monitoring azw. (106 : Timeout occurred.)
//
// # The engine
//
// [NewEngine] takes this node's name and the groups; [Engine.Online]
// activates a group here under an epoch, [Engine.Offline] deactivates it,
// [Engine.OfflineAll] deactivates every group (the self-fence of an
// isolated node), [Engine.Suspend] and [Engine.Resume] pause and resume a
// group's monitoring, [Engine.Status] reports, and [Engine.Run] runs the
// monitors and their recovery until its ctx ends. Every step is an
// [Event] to [WithEvents]. A cluster decides which node holds a group and
// calls Online and Offline; the engine asks the cluster to move a group
// through [WithFailover] and to leave the cluster through
// [WithStopService].
//
// Activation: each member in order, each call bounded by its
// ActivateTimeout (a deadline passed is code 6) and retried at once up
// to ActivateRetries times. When a member cannot be activated, the
// engine reports it, deactivates in reverse order what it activated (the
// failed member too: its state is unknown) and Online returns the error,
// so the cluster starts the group elsewhere. Deactivation goes on past a
// member that fails, so that as little as possible stays held. Activate
// and Deactivate of one member never overlap: operations on one group
// run one at a time, and a call that ignores its deadline is given up
// (as a timeout) two seconds after it, its member staying busy until it
// returns. Offline stops an activation or a restart in progress.
//
// Monitoring: each member's own Check runs under the member's Policy and
// restarts that member; each GroupMonitor runs under its Policy and
// restarts its Recover member, or the whole group. A check's outcome is
// judged so:
//
//	outcome                         reported                           counts as
//	OK                              "normal again" after an alert      health
//	Warning result                  warning line, result's code        no failure (ends a failure row)
//	Critical result                 error line once the row reaches    a failure
//	                                Retries+1, then recovery
//	Check error, Unknown result:
//	  on_unreachable warn           warning line, code+100             nothing (the row goes on)
//	  on_unreachable silent         nothing                            nothing
//	  on_unreachable recover        as a Critical result               a failure
//
// A Check error keeps its [*ResourceError] code; a timeout without one is
// code 6 ("Timeout occurred."), any other error code 5; a Result without
// a Code is reported with code 5. A warning line is emitted when it
// changes, not at every check; the error line once per recovery.
//
// Recovery of one monitor, after Retries+1 failures in a row:
//
//	step      while                    what happens
//	restart   restarts < Restarts      the target and every member that depends on
//	                                   it are deactivated (reverse order) and
//	                                   activated (in order) under the same epoch;
//	                                   a restart that fails goes on to failover
//	failover  failovers < Failovers    WithFailover's callback moves the group;
//	                                   ErrNoFailover (or no callback) goes on to
//	                                   the final action; another error leaves
//	                                   the group here and recovery tries again
//	                                   at the next error
//	final     otherwise                none: the failure is reported, the group
//	                                   stays, nothing more until the monitor sees
//	                                   health; stop_group: Offline the group;
//	                                   stop_service: OfflineAll, then
//	                                   WithStopService's callback
//
// While a group recovers its monitors are stopped, so a restart does not
// count as failures of the members it restarts; they start again
// afterwards, waiting their StartWait from the restart. A monitor never
// checks sooner than Interval after its previous check (after a restart,
// a Resume, a new activation), so an always-failing resource is restarted
// every (Retries+1) Intervals, not in a burst. When several
// monitors of a group report an error at once, the first one's recovery
// runs and the others start counting again after it. Each group recovers
// on its own goroutine, so recovery of one group never holds up another's
// monitors.
//
// # Choices where CLUSTERPRO's documentation is silent
//
//   - Restarting a member restarts the members that depend on it: they
//     were built on the instance that failed.
//   - Counts belong to a monitor on this node. The failure row, the
//     health streak and a given-up state start afresh when the group is
//     activated here; the restart and failover counts do not: they start
//     again only after the monitor has seen the resource healthy (OK, not
//     Warning) for ResetAfter without a break. So a group that fails over
//     and comes back finds its counts as it left them, and a resource that
//     fails on every node does not move back and forth for ever: once
//     every node's failovers are spent, the final action is taken.
//   - A check that cannot learn the state never helps the counts start
//     again (it breaks the health streak) and never spares a failing
//     resource (it does not break the failure row).
//   - A failover the cluster could not carry out counts as one; the
//     group stays online here. Epochs are taken as the cluster gives them.
//   - Suspend lasts across Offline and Online until Resume; a recovery
//     step already running when Suspend is called finishes.
//   - A final action stop_group stops the group here; starting it
//     nowhere else is the cluster's part (the EventFinalAction tells it).
//   - Engine.Run ending does not deactivate anything: a clean leave is
//     the cluster's (it calls Offline).
//
// # What the engine does not guarantee
//
// The engine acts on this node only. That a group is active on one node
// at a time is the cluster's decision and, with a [Lease], the lease's;
// without one it holds only while the nodes hear each other or the
// witness tells them apart. A resource whose Activate or Deactivate
// ignores its ctx is given up, not stopped: it may still change things
// after the engine reported a timeout.
//
// # Usage
//
// The engine and the cluster need each other: the cluster drives the
// engine, the engine asks the cluster to fail a group over. Build the
// engine with a callback that reaches the cluster once it exists:
//
//	var cl *cluster.Cluster
//	eng, err := ha.NewEngine("node1", groups,
//		ha.WithLogger(log),
//		ha.WithEvents(func(ev ha.Event) { log.Info(ev.Message, "kind", ev.Kind, "group", ev.Group) }),
//		ha.WithFailover(func(ctx context.Context, group string, reason error) error {
//			return cl.Failover(ctx, group, reason)
//		}),
//		ha.WithStopService(func(context.Context, error) { stopCluster() }))
//	if err != nil {
//		return err
//	}
//	cl, err = cluster.New(cfg, key, groups, eng)
//	if err != nil {
//		return err
//	}
//	go eng.Run(ctx)
//	return cl.Run(ctx) // calls eng.Online and eng.Offline
//
// where groups is, for example:
//
//	groups := []ha.Group{{
//		Name:  "web",
//		Nodes: []string{"node1", "node2"},
//		Members: []ha.Member{
//			{Name: "db", Resource: db},
//			{Name: "app", Resource: app, DependsOn: []string{"db"},
//				Policy: ha.RecoveryPolicy{Interval: 5 * time.Second, FinalAction: ha.FinalStopGroup}},
//		},
//	}}
package ha
