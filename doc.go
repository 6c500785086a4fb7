// Package minato is the root of the minato toolkit for agentless operation
// of Docker container estates. It holds no code: import the package you
// need.
//
//   - inventory: the shared nouns (Target, Selector, Resolver), stdlib only.
//   - container: the Docker Engine boundary: list, inspect, lifecycle, exec
//     with real deadlines, copy, stats, events, the State model.
//   - job: Actions, Run and the seed-002 exit codes (0/9/1); job/docker has
//     the container jobs start, stop, restart, rm, exec and download.
//   - monitor: resource and state monitors with Nagios, Hinemos and
//     Prometheus outputs (in progress).
//   - ha: HA groups and AWS resources (in progress).
//   - image: image references, build, push and update detection (in progress).
//   - diag: diagnostics and runbooks (in progress).
//   - cmd/minato: the reference command line; examples/: small programs that
//     import only what they need.
//
// Core packages (inventory, monitor, job, ha, diag) import only the
// standard library and inventory; Docker, AWS and SNMP code lives in leaf
// adapter packages. Only container and image import the Docker client.
// The layout test in this directory enforces both rules.
package minato
