package aws

// Codes of the AWS virtual IP resource (CLUSTERPRO's awsvip) and its
// monitor (awsvipw), in [ha.ResourceError].Code and in the Code of a
// Critical monitor.Result. They add to the codes every resource shares:
// [ha.CodeFailed] (5: an AWS call failed; the detail is AWS's own message,
// such as "The vpc ID 'vpc-…' does not exist", or "Failed in the AWS CLI
// command." when AWS did not answer) and [ha.CodeTimeout] (6: "Timeout
// occurred.").
const (
	// CodeVIPInVPC: activation refused because the virtual IP lies inside
	// one of the VPC's CIDR blocks ("The VIP address <ip> belongs to a VPC
	// subnet."). No route is touched.
	CodeVIPInVPC = 7
	// CodeVIPRouteChanged: a VPC route for <ip>/32 no longer leads to
	// this node's ENI ("The routing for VIP <ip> was changed."): another
	// ENI, a blackhole, or the routes were deleted. Recovery restarts the
	// resource, which re-points the routes.
	CodeVIPRouteChanged = 8
	// CodeVIPNotLocal: the virtual IP is missing from the configured local
	// interface ("The VIP address <ip> does not exist on the own
	// server."). CLUSTERPRO's guide detects this case without naming its
	// code; minato numbers it 9.
	CodeVIPNotLocal = 9
)

// Code of the AWS Elastic IP monitor (CLUSTERPRO's awseipw), besides 5
// and 6 as above.
const (
	// CodeEIPNotAssociated: the Elastic IP is not associated with this
	// node's ENI ("The EIP address does not exist. (EIP ALLOCATION
	// ID=<id>)"): disassociated, or moved to another ENI. Recovery restarts
	// the resource, which associates it again.
	CodeEIPNotAssociated = 7
)

// Code of the AWS AZ monitor (CLUSTERPRO's awsazw), besides 5 and 6 as
// above (their warning forms are 105 and 106).
const (
	// CodeAZUnhealthy: the availability zone is impaired, unavailable or
	// in another state that is not healthy ("The availability zone <zone>
	// is <state>."). CLUSTERPRO's guide leaves this code to its reference
	// manual; minato numbers it 7. It is a Critical result, not an error,
	// so it is acted on even when API failures are set to be silent.
	CodeAZUnhealthy = 7
)
