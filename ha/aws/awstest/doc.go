// Package awstest is a wire-level AWS endpoint for tests: one local HTTP
// server that speaks, for exactly the calls minato's AWS resources make,
// the protocols the AWS SDK for Go v2 serialises and parses, over a small
// in-memory model of an account, with the faults that matter for high
// availability injectable. Tests point the real SDK at it (BaseEndpoint =
// [Server.URL], the IMDS endpoint = [Server.IMDS]) so the whole path, from
// the SDK's serialiser to its error parser and retryer, is exercised.
//
// # What it models
//
//   - EC2 (Query protocol, API version 2016-11-15): DescribeVpcs,
//     DescribeSubnets, DescribeNetworkInterfaces, DescribeRouteTables,
//     ReplaceRoute, DescribeAddresses, AssociateAddress,
//     DisassociateAddress, DescribeAvailabilityZones, DescribeInstances and
//     StopInstances, with the filters minato uses (an unsupported filter
//     name is refused as EC2 refuses an invalid one). Route tables get the
//     "local" route of each VPC CIDR block as EC2 creates them; a route to
//     an ENI that does not exist is a "blackhole". A stopped instance is
//     "stopping" for about a second, then "stopped".
//   - Route 53 (REST-XML, 2013-04-01): GetHostedZone,
//     ListResourceRecordSets (Route 53's order: by name with its labels
//     reversed, then type; paging by StartRecordName/StartRecordType and
//     MaxItems), ChangeResourceRecordSets (CREATE, UPSERT, DELETE, checked
//     as one batch with Route 53's InvalidChangeBatch texts) and GetChange
//     (PENDING until the consistency delay passed, then INSYNC). Names are
//     stored lower-case with the trailing dot. A new zone holds its NS and
//     SOA records.
//   - DynamoDB (JSON 1.0, 20120810): DescribeTable, GetItem, PutItem,
//     UpdateItem and DeleteItem on tables with a string hash key,
//     attributes of types S, N, BOOL and NULL, condition expressions
//     (attribute_exists, attribute_not_exists, = <> < <= > >= with numbers
//     compared as numbers, AND, OR, NOT, parentheses), update expressions
//     (SET p = operand with operand a value, a path, or p ± :v; REMOVE),
//     ReturnValues and ReturnValuesOnConditionCheckFailure. Operations on a
//     table are atomic; reads are always strongly consistent.
//   - IMDSv2 on one listener per instance, tokens required (a GET without
//     a valid token of that instance is 401, as on a hardened instance):
//     instance-id, placement, local-ipv4, mac, the network/interfaces/macs
//     tree, public-ipv4, iam/info and iam/security-credentials (role
//     [RoleName], credentials valid one hour, so the SDK's default chain
//     works), and the instance identity document.
//
// Every API request must carry a SigV4 Authorization header (the
// signature is not verified); an unsigned one gets the protocol's
// authentication error.
//
// # Faults
//
// Latency per call (uniform in a range, seeded), throttling per action
// ([Server.Throttle]), any AWS error code ([Server.Fail]), missing IAM
// permissions per action and resource ([Server.Deny]), an endpoint outage
// ([Server.SetOutage]), an IMDS whose token responses never arrive, as
// with a metadata hop limit of 1 seen from a container
// ([Server.DropIMDSTokens]), and eventual consistency
// ([Server.SetConsistencyDelay]): a write is applied at once, and later
// writes are checked against it, but readers see it only after the delay.
// [Server.Calls] counts calls per action, faulted ones included.
//
// The test itself plays "another actor" with SetRoute, SetAssociation and
// SetRecord (drift), and reads the truth with RouteTarget, Association,
// Record, InstanceState and Item, which include writes readers cannot see
// yet.
//
// # What it does not model
//
// Signatures, IAM policies (only [Server.Deny]), pagination of EC2
// results (everything comes in one page), IPv6, secondary private
// addresses, security groups, alias and weighted records, the VPCs of a
// private hosted zone, DynamoDB sort keys, indexes, projections,
// list/map/set attributes, nested document paths, functions other than
// attribute_exists and attribute_not_exists, and calls not listed above
// (EC2 answers InvalidAction, Route 53 and DynamoDB
// UnknownOperationException). IMDS has no latency, and it still answers
// for a stopped instance.
package awstest
