package awstest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// faults is the injected misbehaviour; guarded by Server.mu.
type faults struct {
	outage     bool
	dropTokens bool
	queue      []*queued // Throttle and Fail, in the order given
	denies     []deny
}

// queued answers the next n calls of action ("" any) with code; code ""
// means the protocol's throttling error.
type queued struct {
	action, code string
	n            int
}

type deny struct {
	action string
	ids    []string // none: every call of action
}

// SetLatency makes every API call (not IMDS) sleep a uniformly random time
// in [min, max] before it is answered (min when max < min); zero for both
// means none.
func (s *Server) SetLatency(min, max time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = [2]time.Duration{min, max}
}

// SetConsistencyDelay models eventual consistency: from now on a write
// through the API to an EC2 route or an Elastic IP association, or to a
// Route 53 record, is applied at once (later writes are checked against
// it) but API reads see the old value until d has passed; Route 53's
// GetChange says PENDING until then, INSYNC after. Writes by the test
// (SetRoute, SetAssociation, SetRecord) are visible at once. Zero turns it
// off.
func (s *Server) SetConsistencyDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consistency = d
}

// Throttle answers the next n calls of action (an API operation name such
// as "ReplaceRoute", "ChangeResourceRecordSets" or "PutItem"; "" for any)
// with the protocol's throttling error: EC2 RequestLimitExceeded (503),
// Route 53 Throttling (400, "Rate exceeded"), DynamoDB ThrottlingException
// (400). The SDK retries them. n <= 0 cancels the throttling of action.
func (s *Server) Throttle(action string, n int) {
	s.enqueue(action, "", n)
}

// Fail answers the next n calls of action ("" for any) with the AWS error
// code, its HTTP status and, for the codes AWS documents, AWS's usual
// message (naming the call's resource ID where AWS does). n <= 0 cancels
// the failures of action with code.
func (s *Server) Fail(action, code string, n int) {
	s.enqueue(action, code, n)
}

func (s *Server) enqueue(action, code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		s.faults.queue = slices.DeleteFunc(s.faults.queue, func(q *queued) bool { return q.action == action && q.code == code })
		return
	}
	s.faults.queue = append(s.faults.queue, &queued{action: action, code: code, n: n})
}

// Deny refuses action ("" for any) on the given resources (route table,
// allocation, ENI, instance, hosted zone IDs, or table names), or on every
// resource when none are given, as a missing IAM permission does: EC2
// answers UnauthorizedOperation (403, "You are not authorized to perform
// this operation. Encoded authorization failure message: …"), Route 53
// AccessDenied, DynamoDB AccessDeniedException. Denials add up; see
// ClearFaults.
func (s *Server) Deny(action string, resourceIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.denies = append(s.faults.denies, deny{action: action, ids: slices.Clone(resourceIDs)})
}

// SetOutage makes every call, IMDS included, answer 503 (EC2
// "Unavailable", Route 53 and DynamoDB "ServiceUnavailable") while on.
func (s *Server) SetOutage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.outage = on
}

// DropIMDSTokens, while on, leaves every IMDSv2 token request unanswered
// until the caller gives up, as an instance whose metadata response hop
// limit (HttpPutResponseHopLimit) is 1 does for a caller in a container
// one network hop further; GETs without a token still answer 401.
func (s *Server) DropIMDSTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropTokens = on
}

// ClearFaults ends the outage and the dropping of IMDS tokens, and drops
// every pending throttling, failure and denial. Latency and the
// consistency delay stay.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faults{}
}

// Calls returns how many calls of action the server received, faulted and
// refused ones included; "" counts every API call (EC2, Route 53,
// DynamoDB) and "IMDS" every instance metadata request.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// ResetCalls sets every call count to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// take returns the fault the call answers, if any, consuming one of a
// queued fault's n.
func (f *faults) take(proto, region, action string, ids []string, params map[string]string) *apiErr {
	for i, q := range f.queue {
		if q.action != "" && q.action != action {
			continue
		}
		q.n--
		if q.n <= 0 {
			f.queue = slices.Delete(f.queue, i, i+1)
		}
		if q.code == "" {
			return throttleError(proto)
		}
		return knownError(proto, q.code, ids, params)
	}
	for _, d := range f.denies {
		if d.action != "" && d.action != action {
			continue
		}
		if len(d.ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(d.ids, id) }) {
			continue
		}
		return denyError(proto, region, action, ids)
	}
	return nil
}

func throttleError(proto string) *apiErr {
	switch proto {
	case protoEC2:
		return errf(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
	case protoRoute53:
		return errf(http.StatusBadRequest, "Throttling", "Rate exceeded")
	default:
		return errf(http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	}
}

func outageError(proto string) *apiErr {
	switch proto {
	case protoEC2:
		return errf(http.StatusServiceUnavailable, "Unavailable", "The service is unavailable. Please try again shortly.")
	case protoRoute53:
		return errf(http.StatusServiceUnavailable, "ServiceUnavailable", "Service Unavailable")
	default:
		return errf(http.StatusServiceUnavailable, "ServiceUnavailable", "Service Unavailable")
	}
}

// principal is who the server says made a call, in denials.
const principal = "arn:aws:sts::" + accountID + ":assumed-role/awstest-role/awstest"

func denyError(proto, region, action string, ids []string) *apiErr {
	switch proto {
	case protoEC2:
		blob := base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("awstest denied ec2:%s on %s for %s", action, strings.Join(ids, ","), principal)))
		return errf(http.StatusForbidden, "UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: %s", blob)
	case protoRoute53:
		res := "*"
		if len(ids) > 0 {
			res = "arn:aws:route53:::hostedzone/" + ids[0]
		}
		return errf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: route53:%s on resource: %s because no identity-based policy allows the route53:%s action", principal, action, res, action)
	default:
		res := "*"
		if len(ids) > 0 {
			res = "arn:aws:dynamodb:" + region + ":" + accountID + ":table/" + ids[0]
		}
		return errf(http.StatusBadRequest, "AccessDeniedException", "User: %s is not authorized to perform: dynamodb:%s on resource: %s because no identity-based policy allows the dynamodb:%s action", principal, action, res, action)
	}
}

// known is the status and message of an AWS error code; %s in msg is the
// call's parameter param (its first resource ID when param is "").
type known struct {
	status int
	msg    string
	param  string
}

var knownErrors = map[string]map[string]known{
	protoEC2: {
		"RequestLimitExceeded":               {503, "Request limit exceeded.", ""},
		"Unavailable":                        {503, "The service is unavailable. Please try again shortly.", ""},
		"InternalError":                      {500, "An internal error has occurred", ""},
		"AuthFailure":                        {401, "AWS was not able to validate the provided access credentials", ""},
		"UnauthorizedOperation":              {403, "You are not authorized to perform this operation. Encoded authorization failure message: YXdzdGVzdA", ""},
		"InvalidVpcID.NotFound":              {400, "The vpc ID '%s' does not exist", "VpcId"},
		"InvalidSubnetID.NotFound":           {400, "The subnet ID '%s' does not exist", "SubnetId"},
		"InvalidNetworkInterfaceID.NotFound": {400, "The networkInterface ID '%s' does not exist", "NetworkInterfaceId"},
		"InvalidAllocationID.NotFound":       {400, "The allocation ID '%s' does not exist", "AllocationId"},
		"InvalidAssociationID.NotFound":      {400, "The association ID '%s' does not exist", "AssociationId"},
		"InvalidRouteTableID.NotFound":       {400, "The routeTable ID '%s' does not exist", "RouteTableId"},
		"InvalidInstanceID.NotFound":         {400, "The instance ID '%s' does not exist", "InstanceId"},
		"InvalidRoute.NotFound":              {400, "There is no route defined for '%s' in the route table. Please correct the destination and try again.", "DestinationCidrBlock"},
		"InvalidParameterValue":              {400, "Invalid availability zone: [%s]", "ZoneName"},
		"Resource.AlreadyAssociated":         {400, "resource %s is already associated with associate-id eipassoc-00000000000000000", "AllocationId"},
		"IncorrectInstanceState":             {400, "The instance '%s' is not in a state from which it can be stopped.", "InstanceId"},
	},
	protoRoute53: {
		"Throttling":              {400, "Rate exceeded", ""},
		"NoSuchHostedZone":        {404, "No hosted zone found with ID: %s", ""},
		"NoSuchChange":            {404, "A change with the specified change ID does not exist.", ""},
		"PriorRequestNotComplete": {400, "The request was rejected because Route 53 was still processing a prior request.", ""},
		"AccessDenied":            {403, "User: " + principal + " is not authorized to perform this operation", ""},
		"InvalidInput":            {400, "Invalid request", ""},
		"InvalidChangeBatch":      {400, "[Invalid change batch]", ""},
		"ServiceUnavailable":      {503, "Service Unavailable", ""},
		"InternalFailure":         {500, "An internal error occurred.", ""},
	},
	protoDynamo: {
		"ThrottlingException":                    {400, "Rate of requests exceeds the allowed throughput.", ""},
		"ProvisionedThroughputExceededException": {400, "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.", ""},
		"RequestLimitExceeded":                   {400, "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase", ""},
		"ConditionalCheckFailedException":        {400, "The conditional request failed", ""},
		"ResourceNotFoundException":              {400, "Requested resource not found", ""},
		"ValidationException":                    {400, "One or more parameter values were invalid", ""},
		"AccessDeniedException":                  {400, "User: " + principal + " is not authorized to perform this operation", ""},
		"TransactionConflictException":           {400, "Transaction is ongoing for the item", ""},
		"InternalServerError":                    {500, "Internal server error", ""},
		"ServiceUnavailable":                     {503, "Service Unavailable", ""},
	},
}

// knownError is code as AWS answers it; an undocumented code gets status
// 400 (5xx when it says so) and a message naming it as injected.
func knownError(proto, code string, ids []string, params map[string]string) *apiErr {
	k, ok := knownErrors[proto][code]
	if !ok {
		status := http.StatusBadRequest
		if strings.Contains(strings.ToLower(code), "unavailable") || strings.Contains(code, "Internal") {
			status = http.StatusInternalServerError
		}
		return errf(status, code, "%s (error injected by awstest)", code)
	}
	msg := k.msg
	if strings.Contains(msg, "%s") {
		id := "unknown"
		if v := params[k.param]; k.param != "" && v != "" {
			id = v
		} else if len(ids) > 0 {
			id = ids[0]
		}
		msg = fmt.Sprintf(msg, id)
	}
	return &apiErr{status: k.status, code: code, msg: msg}
}
