// Package app keeps declared applications running on one Docker Engine,
// the way the WebOTX operator keeps an application server as its custom
// resource declares it (create, compare, update, delete in cascade).
//
// A [Spec] declares one application: image, replicas, command, environment
// (inline and from NAME=value files), published ports, mounts, networks,
// resources, restart policy, health check, labels, how updates roll out and
// how it is metered. [Parse] and [ParseFile] read a declaration file (YAML
// or JSON, strictly, with key paths in every error); [ParseCompose] reads a
// Compose file for the subset that maps and lists the rest as [Warning]s.
//
// [NewPlan] compares declarations with the containers on an engine and
// says, per replica, what would be done and why, field by field. A
// [Reconciler] carries a plan out on one engine: containers are named
// "<app>-<replica>" and labelled [LabelApp], [LabelReplica] and
// [LabelSpec] (the [Spec.Hash]); changed replicas are recreated one batch
// at a time behind a health gate and rolled back when it fails;
// [Reconciler.Run] repairs drift as the engine reports it.
package app
