// Package aws makes AWS networking into [ha] resources, monitors and
// witnesses, as CLUSTERPRO's AWS resources do, on the AWS SDK for Go v2
// (no AWS CLI subprocess): a virtual IP by VPC route tables, an Elastic
// IP, a Route 53 DNS record, an availability-zone monitor, an exclusive
// lease on DynamoDB, and fencing of a silent peer by StopInstances.
//
// Every resource and monitor reports CLUSTERPRO's numbered codes and
// message texts; codes are per type (7 means three different things in
// the virtual IP, Elastic IP and DNS types). An AWS API that cannot be
// asked (throttling, an endpoint outage, a timeout) is returned as an
// error from Check, so the member's [ha.RecoveryPolicy].OnUnreachable
// decides (warn with code+100 by default), and an outage is never
// mistaken for a node failure. "Failed in the AWS CLI command." is kept
// verbatim, for the log rules operators have: here it means an AWS API
// call that got no answer.
//
// [Load] builds the [Clients] from the SDK's default configuration chain
// (the instance's IAM role through IMDSv2, the environment, ~/.aws), with
// adaptive retry and a per-call timeout. An empty ENI, zone or DNS address
// is this instance's own, from IMDSv2 ([Clients.Self]). From a container
// on Docker's bridge network the token request needs a hop limit of 2;
// Self says so ([ErrIMDSHopLimit]).
//
// # Virtual IP, Elastic IP, availability zone
//
// [VIP] is CLUSTERPRO's AWS virtual IP resource and monitor: clients in the
// VPC reach the active node at an address outside the VPC's CIDR blocks,
// because every route table of the VPC holding a route for IP/32 leads it
// to the active node's ENI. Activate checks the VPC and the ENI, refuses a
// VIP inside the VPC (7), adds IP/32 to the local interface when one is
// configured (rtnetlink, Linux), re-points the routes in parallel and
// reads them back within VerifyTimeout. The routes must exist beforehand,
// as in CLUSTERPRO. Deactivate only removes the local address: the next
// holder re-points the routes. Check reports a changed route (8) or a
// missing local address (9). The VPC routes by route table, not ARP, so
// no gratuitous ARP is sent; the ENIs need Source/Dest. Check disabled.
//
// [EIP] is the AWS Elastic IP resource and monitor: Activate associates
// the allocation with this node's ENI in one AssociateAddress with
// reassociation (no moment without the address), Deactivate disassociates
// it only while it is on this node's ENI, and Check reports a lost
// association (7).
//
// [AZMonitor] is the AWS AZ monitor: available is OK, information or
// constrained a warning, impaired, unavailable or any other state Critical
// (7), so it is acted on even when API failures are silent; give it the
// local node's groups as recovery target.
//
// # DNS
//
// [DNS] is CLUSTERPRO's AWS DNS resource: it keeps an A record in a Route
// 53 hosted zone pointing at the node that holds the group. It UPSERTs the
// record on activation and waits, within a bound, for Route 53 to report
// the change INSYNC. On deactivation it deletes the record, unless told to
// keep it, and only while the record still holds this node's address. Its
// Check is the AWS DNS monitor: the record is missing (7) or holds another
// address (8), or the name does not resolve (9) or resolves elsewhere (10)
// through the configured resolver. A resolution failure is a finding that
// recovery acts on, not an AWS failure.
//
// Codes per type, besides 5 (an AWS call failed: AWS's own text, or
// "Failed in the AWS CLI command.") and 6 ("Timeout occurred."):
//
//	awsvip  7  CodeVIPInVPC            The VIP address <ip> belongs to a VPC subnet.
//	awsvipw 8  CodeVIPRouteChanged     The routing for VIP <ip> was changed.
//	awsvipw 9  CodeVIPNotLocal         The VIP address <ip> does not exist on the own server.
//	awseipw 7  CodeEIPNotAssociated    The EIP address does not exist. (EIP ALLOCATION ID=<id>)
//	awsdnsw 7  CodeDNSRecordMissing    The resource record set in Amazon Route 53 does not exist.
//	awsdnsw 8  CodeDNSRecordChanged    IP address different from the setting is registered in the resource record set of Amazon Route 53.
//	awsdnsw 9  CodeDNSResolveFailed    Failed to resolve domain name.
//	awsdnsw 10 CodeDNSResolveMismatch  IP address which is resolved domain name from the DNS resolver does not match setting.
//	awsazw  7  CodeAZUnhealthy         The availability zone <zone> is <state>.
//
// (9 for the virtual IP and 7 for the AZ are minato's: CLUSTERPRO's guide
// gives no code for them.)
//
// # Lease and fencing
//
// [Lease] is an [ha.Lease] on a DynamoDB table, the witness that gives a
// cluster on AWS exclusivity without a third node: one item per key,
// changed only by conditional writes, its epoch (the fencing token)
// growing with every new hold and never decreasing. A contender takes an
// expired hold over only MaxClockSkew after its expiry by its own clock,
// while the holder stops at its Grant's Valid: keep the nodes' clocks in
// step (chrony with the Amazon Time Sync Service). [Lease.Claim] records a
// job's due time once per hold, as the etcd lease does; [Lease.Check]
// verifies the table.
//
// [Fence] stops a silent peer's instance with StopInstances (forced,
// skipping the OS shutdown unless Graceful), guarded as Pacemaker's
// fence_aws is: never its own instance, never from an instance that is not
// running itself, an instance already stopped counting as fenced.
//
// [IAMPolicy] prints the least-privilege IAM policy for the resources a
// configuration uses, with resource ARNs where AWS supports them;
// [AllActionsPolicy] is the broader custom policy of CLUSTERPRO's guide.
// [Clients.Preflight] checks, without changing anything, what a node uses
// on AWS against the account (credentials, region, VPC, route tables,
// ENIs and their Source/Dest. Check, allocation, hosted zone, zone, lease
// table, fencing instances) and returns [Finding]s in the words of
// CLUSTERPRO's AWS guide, with its fixes: minato ha check prints them.
//
// Tests run the real SDK against ha/aws/awstest, a local endpoint that
// speaks EC2, Route 53, DynamoDB and IMDSv2 with injectable latency,
// throttling, outages, denials and eventual consistency.
package aws
