// Package registrytest runs a real container registry on loopback for
// integration tests: Debian's docker-registry (distribution v2,
// /usr/bin/docker-registry), started per test and stopped in t.Cleanup.
//
// # What it provides
//
// Start writes a registry config into t.TempDir() (filesystem storage in a
// temp dir, delete enabled, log level warn into a log file), starts
// `docker-registry serve`, puts a counting TCP proxy in front of it and
// waits until GET /v2/ answers (200, or 401 with auth). Options choose
// htpasswd basic auth (a bcrypt htpasswd made with `htpasswd -Bbn`, random
// password) and TLS (a CA and a server certificate for 127.0.0.1 and
// localhost, made in the test with crypto/x509; the registry itself serves
// TLS and the proxy only forwards bytes).
//
// Registry.Addr is the proxy's "127.0.0.1:PORT": use it in references
// ("127.0.0.1:PORT/repo:tag"). BytesServed counts the bytes the registry
// sent to clients through the proxy (TLS records included in TLS mode), and
// Requests counts the TCP connections clients opened (HTTP keep-alive
// carries many requests on one connection, so it is a lower bound on
// requests). DockerConfig gives a docker CLI config directory holding the
// credentials, and CertsDir a certs.d-style directory with the CA.
//
// When /usr/bin/docker-registry (or htpasswd, with Auth) is missing the test
// is skipped, or failed when MINATO_REQUIRE_DOCKER=1 (as CI sets).
//
// # Engine pushes and pulls
//
// The Docker Engine treats 127.0.0.0/8 registries as insecure by default:
// it speaks plain HTTP to a plain registry and does not verify the
// certificate of a TLS one, so the engine can push to and pull from every
// mode without configuration. Credentials for the engine go in
// X-Registry-Auth as usual.
package registrytest
