// Package dockerinv sees Docker engines as inventory data: what containers,
// images, networks and volumes each engine holds now, as an
// [inventory.Snapshot] that can be saved, compared with [inventory.Diff],
// and kept in step with a Hinemos-style repository (the Hinemos Docker
// kit's RepositoryDockerNodeAdd/Delete/Update scripts).
//
// An [Engine] is one engine behind a [container.Client]; a [Fleet] is many,
// configured by name and endpoint ([Config], [EngineConfig]) and asked
// concurrently, each within its own timeout, so that an engine that is
// down or hangs is reported with its error while the others' answers are
// returned. Both are an [inventory.Inventory] and an [inventory.Resolver].
//
// # Engines
//
// An engine is identified by its configured name together with its
// endpoint. Engines cloned from one machine image, or several daemons on
// one machine (Docker 20.10 reads the machine's key file), report the same
// Info ID, so the ID is informative only. For the Hinemos repository sync
// the name is the host node's facility ID, which is why it must pass
// [inventory.ValidFacilityID]. [FromEnv] builds the engine the docker CLI's
// DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH describe (named
// "local"), and [FromContexts] one engine per Docker CLI context.
//
// # Items
//
// Containers (running or not) carry their State and these attributes,
// from the engine's list call:
//
//	image, image_id, command, created, status
//	ports        as docker ps prints them: "0.0.0.0:8080->80/tcp, 443/tcp"
//	networks     network names, sorted: "bridge, web-net"
//	mounts       "source:destination[:ro]", sorted by that text
//	ip_address   the first IPv4 address, networks taken in name order
//
// With [WithDetail] (Config.Detail) each selected container is also
// inspected, with bounded concurrency, for exit_code, started_at,
// finished_at, oom_killed, restart_count, health and pid. Images carry
// tags, size_bytes and created (their Target name is their first tag);
// networks driver, scope and created; volumes driver, mountpoint and
// created (their ID is their name). Times are RFC 3339 in UTC.
//
// # Cost
//
// A snapshot of containers costs one list call per engine: the engine's
// identity (docker info) is asked for once and reused for a few minutes
// ([DefaultIdentityTTL]), and again after any failure. A Selector's labels
// are filtered by the engine; its IDs, names and states here.
//
// # Usage
//
//	cfg := dockerinv.DefaultConfig()
//	cfg.Engines = []dockerinv.EngineConfig{
//		{Name: "docker_host1", Host: "tcp://10.0.200.123:2376", TLS: &container.TLSConfig{
//			CAFile: "/etc/minato/ca.pem", CertFile: "/etc/minato/cert.pem", KeyFile: "/etc/minato/key.pem"}},
//		{Name: "docker_host2", Host: "tcp://10.0.200.124:2375"},
//	}
//	fleet, err := dockerinv.New(cfg)
//	if err != nil {
//		return err
//	}
//	defer fleet.Close()
//	snap, err := fleet.Snapshot(ctx, inventory.Selector{Kind: inventory.KindContainer})
//	if err != nil {
//		return err // an invalid selector, or ctx ended
//	}
//	for _, down := range snap.Down() {
//		log.Print(down) // engine docker_host2 (tcp://10.0.200.124:2375): no answer within 10s
//	}
package dockerinv
