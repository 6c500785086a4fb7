// Package hatest holds minato's failover tests against real partitions:
// every node is a real `minato agent` process in a network namespace of
// its own, a partition is a real one (a link of the namespace taken down
// at the switch), a crash is a real SIGKILL and a freeze a real SIGSTOP.
// The package has no code outside its tests, which build on Linux only;
// they run as root (iproute2's ip netns), are skipped elsewhere, and fail
// instead when MINATO_REQUIRE_DOCKER=1 (CI). Only the benchmark needs the
// Docker Engine.
//
// # Topology
//
// One run builds, with iproute2, a "switch" namespace holding three
// bridges and one namespace per node with one veth on each bridge:
//
//	network    subnet          node k        switch side
//	heartbeat  10.70.0.0/24    10.70.0.k     (no address)
//	witness    10.71.0.0/24    10.71.0.k     10.71.0.254: etcd, HTTP witness
//	management 10.72.0.0/24    10.72.0.k     10.72.0.254: the test's API client
//
// The bridges live in their own namespace, not in the host's: there the
// Docker Engine's FORWARD policy (DROP, with br_netfilter on) would drop
// bridged traffic, and the tests would have to change the host's
// firewall. The test process opens its sockets inside the switch
// namespace (setns on a locked thread), so nothing of a run is visible
// in the host's namespace, and runs never collide. Names start with
// "hxt-<pid>-"; every namespace is deleted in cleanup, and leftovers of
// test processes that died are swept at the next run.
//
// Agents run as `ip netns exec <ns> minato agent --config ...`: their
// heartbeats go over the heartbeat network, the witness (CLUSTERPRO's HTTP
// method, a HEAD answered 200) and the etcd lease over the witness network,
// and their HTTP API listens on the management network, which is never cut,
// so the checker sees every node throughout. A cut is `ip link set
// <port> down` on the switch side of a node's veth (the node's link goes
// carrier-down and packets vanish, as when a cable is pulled); a heal sets
// it up again. The Docker Engine's unix socket works from any network
// namespace, which the container resource of the benchmark uses.
//
// # Resources and the checker
//
// The groups' resource is a script resource (CLUSTERPRO's exec resource)
// whose start, stop and check create, remove and test a marker file named
// after the node in a shared directory, and write a journal line with the
// epoch. The start refuses an epoch older than the newest it has seen,
// as the fencing-token rule of package ha asks of resources that write to
// a shared system; a refused start is recorded, so that acting on a stale
// epoch is visible.
//
// The checker samples every node's GET /api/v1/ha and the markers about
// every 30 ms, and afterwards reads the journal. Split brain is any moment
// two nodes hold the group: two nodes saying in two rounds in a row that
// they hold it online (one round alone may straddle a clean hand-over:
// its samples are not one instant), two markers of live nodes in one
// reading of the directory, or, exactly, two live nodes' intervals with
// the resource started overlapping in the journal. A frozen (SIGSTOP) or
// killed (SIGKILL) agent cannot act: its marker is stale, counted apart;
// a thawed node must give its marker up within a grace (1.5 s), and an
// agent started again after SIGKILL must first deactivate what its killed
// run left.
//
// # Tests and benchmarks
//
// Scenario tests (interval 200 ms, timeout 1 s): the active node killed,
// frozen past the timeout then thawed, the heartbeat network cut with
// the witness reachable from one side, from both (split brain expected
// without a lease, and none with one) and from none, a resource failing
// through restart, failover and the final action, a manual move with
// `minato ha move`, failback off (and on). TestChaos runs 20 seeded random
// sequences of kills, freezes and cuts on three nodes with the etcd lease
// (MINATO_HX_SEED=<seed> replays one, MINATO_HX_SEQUENCES=<n> runs n).
// MINATO_HX_LOG_LEVEL=debug sets the agents' log level, and
// MINATO_HX_KEEP_LOGS=<dir> keeps their logs and the journal of every test.
//
// BenchmarkFailover measures a failover after SIGKILL with a 1 s heartbeat
// and a 3 s timeout, a container resource on the local engine and its
// monitor, broken down into detection, decision and activation:
//
//	go test -run XXX -bench Failover -benchtime 20x ./cmd/minato/internal/hatest
//
// bench/ha-idle.sh measures the idle cost of HA in an agent (CPU and RSS
// beside an agent with the same checks and no HA).
//
// # On AWS
//
// The TestAWS* scenarios run the same agents against ha/aws/awstest: the
// EC2, Route 53, DynamoDB and DNS endpoint listens in the switch
// namespace at 10.71.0.254, beside the witnesses, so cutting a node's
// witness link cuts its AWS access too (an instance losing its NAT); each
// node's instance metadata service listens on 127.0.0.1 inside its own
// namespace, link-local as on EC2, never cut. The agents take their
// credentials (the instance role), region, ENI and address from it. An
// AWS checker samples the endpoint's state (route targets, the Elastic
// IP's association, the record) every 20 ms with the DynamoDB lease item:
// every change that points a resource at node X must happen while the
// lease names X as last written by X's current incarnation, else it is
// AWS split brain (a resource may still point at the old holder until
// the new one re-points it: that is failover lag, not split brain).
// TestAWSChaos runs 10 seeded kill, freeze and cut sequences on three
// nodes. BenchmarkAWSFailover measures SIGKILL → the endpoint showing the
// resource on the standby, for the virtual IP over three route tables,
// the Elastic IP and the record, with 100-300 ms per AWS call:
//
//	go test -run '^$' -bench AWSFailover -benchtime 20x -timeout 60m ./cmd/minato/internal/hatest
package hatest
