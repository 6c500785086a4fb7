// Package dockerdtest starts a second, private Docker Engine (dockerd) for
// integration tests that need two engines: an inventory of several engines,
// a failover between hosts. Like internal/dockertest it imports no minato
// library package: it talks to the engine through internal/dockertest, so
// that the code under test is checked against an independent oracle.
//
// # What the daemon is
//
// [Start] (or [Get], for a daemon shared by the test binary) runs the
// machine's dockerd binary with everything of its own, in a temporary
// directory with a short path (unix socket paths are limited to about 100
// bytes):
//
//	docker.sock   the API socket: Daemon.Host is "unix://DIR/docker.sock"
//	data/         --data-root, with the vfs storage driver (no overlay or
//	              fuse-overlayfs mounts; image layers are plain copies)
//	exec/         --exec-root, where dockerd also runs its own containerd
//	daemon.json   --config-file: an empty configuration, so that the
//	              machine's /etc/docker/daemon.json (which pins a data root
//	              and a storage driver) is not read
//	docker.pid    --pidfile
//	dockerd.log   the daemon's output, whose tail a failed start reports
//
// with --bridge=none --iptables=false --ip6tables=false, in a network
// namespace of its own. The namespace is not optional: a dockerd started
// with --bridge=none deletes the host's "docker0" interface at startup,
// which breaks the default bridge of the machine's own engine (its
// containers then fail to start with "could not find bridge docker0").
// Inside its namespace the second daemon can remove, create and route what
// it likes without touching the host. As a consequence the host cannot
// reach the second daemon's containers over the network, and ports they
// publish are published inside that namespace only; the API socket, a file,
// is reachable as usual.
//
// Both daemons read the machine's /etc/docker/key.json on Docker 20.10 and
// older, so they report the same Info ID: tell engines apart by endpoint.
//
// The test image (internal/dockertest's FROM scratch testbox image) is
// built on the new daemon when it starts, so Daemon.Image and
// Daemon.Harness work at once; nothing is pulled. The Docker API side of
// the daemon (Client, Host, Image, ID, Harness) is an embedded
// [dockertest.Engine]: this package runs the dockerd process and leaves
// Docker client code to internal/dockertest.
//
// # Skipping
//
// Starting a daemon needs root and a dockerd binary. Without them the test
// is skipped, or failed when MINATO_REQUIRE_DOCKER=1 (as for
// internal/dockertest). A daemon that does not answer /_ping within 30 s
// fails the test with the tail of its log.
//
// # Sharing one daemon
//
// Starting takes a few seconds, so a test binary can share one daemon:
//
//	func TestMain(m *testing.M) { os.Exit(dockerdtest.Shared(m)) }
//
//	func TestTwoEngines(t *testing.T) {
//		d := dockerdtest.Get(t)   // started on first use, stopped after m.Run
//		h := d.Harness(t)         // labels and removes what this test creates
//		c := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
//		// ... use d.Host ...
//	}
//
// Without Shared in TestMain, Get starts a daemon for the calling test
// alone, as Start does.
//
// # Teardown
//
// [Daemon.Stop] force-removes every container first (so that their mounts
// go away cleanly), sends dockerd SIGTERM and waits for it (SIGKILL after
// 20 s), ends the daemon's own containerd if it outlived it, detaches any
// mount left under the directory and removes the directory. The daemon also
// gets SIGTERM if the test process dies first.
package dockerdtest
