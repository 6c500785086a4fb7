// Package diag is the core of minato's diagnostics: it says what is wrong
// with a Docker estate, why, and what to do, following the catalogues
// operators already use — the Container Service FAQ's troubleshooting
// (its catalogue of diagnosable problems D01-D35, the seven-step link
// check, the log troubleshooting steps, the cluster-creation errors),
// JobCenter's start-up messages, failure modes and diagnostic collection,
// and the troubleshooting chapter of CLUSTERPRO's AWS guide.
//
// Like every core package it imports only the standard library (and
// inventory); the checks that talk to an engine or a host live in
// adapter packages.
//
// # The model
//
// A [Check] asks one question about an engine, a host, a container or a
// cloud resource. Its Run returns [Finding]s — what is wrong, or worth
// knowing — or an error when the question could not be answered (the
// engine is unreachable, a permission is missing): an unknown answer is
// not a finding. [NewCheck] makes a Check from a function.
//
// [Run] runs checks concurrently, each bounded by a timeout, turning a
// panic, a timeout ("timed out after 30s") or a nil check into that
// check's error, and returns a [Report]: the results in the order of the
// checks. [Report.Findings] lists the findings most serious first,
// [Report.Errors] the checks that could not answer, [Report.Summary] the
// counts. [WriteText], [WriteJSON] and [WriteMarkdown] write a report for
// a terminal, a program or a ticket; [WriteText] tells a healthy report in
// one line plus its Info findings.
//
// A [Runbook] is an ordered procedure whose steps are checks, each with
// the catalogue's advice: it stops at the first step that fails (a
// finding at Warning or above, or a check that could not answer), as
// later steps assume the earlier ones passed, and its result names that
// step and its advice. [Connectivity] is the Container Service FAQ's
// seven-step link check and [LogCollection] its log troubleshooting
// steps (which run every step: the FAQ says not to skip any). The caller
// gives the checks; a nil check is a step with no counterpart here (a
// cloud load balancer, a routing container) and is reported as "not
// applicable here" and passed. [WriteRunbookText] writes a run.
//
// A [Classifier] explains pasted error texts by a table of [Rule]s
// (RE2 patterns whose named groups become fields, with cause, remedy and
// ordered steps). [Classifier.Explain] returns each rule that matches,
// with the matched text as evidence and its offset and line; a text no
// rule matches is unclassified, and nothing is guessed.
// [WriteExplanations] writes the result, saying "unclassified" when
// there is none.
//
// # Codes and severities
//
// A finding's Code is stable across releases: the Container Service
// FAQ's catalogue row ("D21") when it has one, else a dotted name
// ("container.no_restart_policy", "engine.warning", "host.ip_forward").
// Its Severity is one of:
//
//   - [Critical]: something is broken now;
//   - [Warning]: something will break, or works by luck;
//   - [Info]: worth knowing, nothing to fix;
//   - [OK]: nothing wrong (a check that reports what it saw).
//
// Every finding carries a Remedy an operator can act on and Evidence with
// the values seen, never secrets.
//
// # Exit codes
//
// [Report.ExitCode] is what a command exits with: 0 when nothing is at
// Warning or above (Info findings included), 1 when the worst is Warning
// — a check that could not answer counts as a Warning, as something is
// not known — and 2 when something is Critical. [RunbookResult.ExitCode]
// is 0 when every step passed, 2 when a failed step has a Critical
// finding, else 1.
//
// # Catalogues
//
// The catalogues live beside this package: diag/docker holds the engine
// and container checks, diag/host the host's (rp_filter, arp_announce,
// ip_forward, disk of the Docker data root, clock, kernel), diag/explain
// the explanation rules for the three documents' error texts and the
// common Docker errors, and diag/bundle the support bundle collected as
// JobCenter's collector does it.
package diag
