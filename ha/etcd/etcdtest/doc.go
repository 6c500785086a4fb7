// Package etcdtest starts a real etcd server (Debian package
// "etcd-server", /usr/bin/etcd) for the integration tests of package
// ha/etcd.
//
// [Start] runs a single-member etcd on free loopback ports with its data
// in t.TempDir(), waits until its /health endpoint says so, and stops it
// in t.Cleanup; [StartTLS] does the same with TLS on the client port and
// client certificates required, writing a test CA, a server and a client
// certificate into the server's directory. The harness speaks to etcd
// over plain HTTP only (its health endpoint), never through the etcd
// client: it is the independent part the package is checked against.
//
// When no etcd binary is installed the test is skipped, or failed when
// the environment variable [RequireEnv] is "1" (CI sets it: real
// components are required there).
package etcdtest
