// Package ha will hold high-availability groups: Resource (held by one node
// at a time), Group, RecoveryPolicy, Heartbeat and Witness, with AWS
// resources (virtual IP by route table, Elastic IP, Route 53) in ha/aws.
// Nothing is exported yet.
//
// Like every core package it may import only the standard library,
// inventory and monitor.
package ha
