// Package explain is minato's catalogue of known error texts: the rules
// that let `minato diag explain` say what a pasted error or log means, why
// it happens and what to do.
//
// [Rules] returns the catalogue and [Default] a [diag.Classifier] built
// from it once. Its sources, each with the document's own wording:
//
//   - the Container Service FAQ: the thirteen errors that make cluster
//     creation fail (§2.12), with the step, RequestId, HTTP status and
//     code read into fields ("faq.cluster.*"); the RAM access key error
//     (D17), the Log Service ACL error (D25), the "device or resource
//     busy" kernel rule (D29) and the container CIDR conflict (D33);
//   - JobCenter's container guide: every message that stops the MG
//     container at start (§2.4.1.1.2), the image-build messages and those
//     of the diagnostics collector ("jobcenter.*"); "Site names do not
//     match." tells its two causes apart when the text shows how long the
//     container ran (`docker logs --timestamps`, or the State of `docker
//     inspect`), else lists both and how to tell;
//   - CLUSTERPRO's AWS guide: every resource and monitor message of its
//     troubleshooting chapter ("clusterpro.*"). Resource and monitor names
//     are any; the AWS DNS resource's space before the parenthesis tells
//     its messages from the virtual IP and Elastic IP ones;
//   - minato's own failover lines, which share CLUSTERPRO's grammar
//     ("ha.*"): the codes whose meaning is fixed (6, a timeout; 99, an
//     internal error) and the known details of the container, script and
//     AWS resources;
//   - the Docker Engine's errors operators paste most ("docker.*"): pull
//     refused, unauthorized or not found (log in to the registry again,
//     naming its host), a full disk, a port already allocated, an
//     executable not found, a container name in use, the daemon
//     unreachable, the socket's permission, the pull rate limit.
//
// Nothing is guessed: a text no rule knows is unclassified. So is an
// Aliyun API error whose code the FAQ does not list, even in the envelope
// the FAQ's codes come in; so is a CLUSTERPRO-style line whose code and
// detail no document gives; so is a text as vague as "context deadline
// exceeded" alone.
//
// Patterns are written to keep a literal prefix where the grammar allows
// it, which lets the regular expression engine skip to the candidates;
// the few that read context before their key text (the FAQ's "Config cs
// <Step> failed" step, docker logs time stamps before "Site names do not
// match.", a registry URL before "unauthorized") scan the whole text.
//
// Rule IDs are stable. Each rule's catalogue texts are in testdata/*.txt,
// one file per source, and the tests run the classifier over all of them.
package explain
