package aws

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/minato-ops/minato/ha"
)

// Detail texts of CLUSTERPRO's AWS resources and monitors, verbatim.
// "AWS CLI command" is kept because operators and their log rules grep for
// it; here it means the AWS API call.
const (
	detailCLIFailed     = "Failed in the AWS CLI command."
	detailTimeout       = "Timeout occurred."
	detailUnauthorized  = "You are not authorized to perform this operation."
	codeUnauthorizedOp  = "UnauthorizedOperation"
	codeAccessDenied    = "AccessDenied"
	codeAccessDeniedExc = "AccessDeniedException"
)

// apiError turns an error of an AWS call into a *ha.ResourceError with
// CLUSTERPRO's codes: 6 "Timeout occurred." when the call ran out of
// time; 5 with AWS's own message when AWS answered with an error (the
// guide's "The vpc ID 'vpc-…' does not exist", "No hosted zone found with
// ID: …"; an authorisation failure keeps only its first sentence, since
// the encoded failure message AWS appends is for the account's
// administrator); 5 "Failed in the AWS CLI command." when no answer came.
// The original error stays in Err. A *ha.ResourceError passes through.
func apiError(err error) *ha.ResourceError {
	if err == nil {
		return nil
	}
	var re *ha.ResourceError
	if errors.As(err, &re) {
		return re
	}
	if isTimeout(err) {
		return &ha.ResourceError{Code: ha.CodeTimeout, Detail: detailTimeout, Err: err}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case codeUnauthorizedOp, codeAccessDenied, codeAccessDeniedExc:
			return &ha.ResourceError{Code: ha.CodeFailed, Detail: detailUnauthorized, Err: err}
		}
		if msg := strings.TrimSpace(ae.ErrorMessage()); msg != "" {
			return &ha.ResourceError{Code: ha.CodeFailed, Detail: msg, Err: err}
		}
	}
	return &ha.ResourceError{Code: ha.CodeFailed, Detail: detailCLIFailed, Err: err}
}

// isTimeout reports whether err is a deadline: the call's context or a
// network timeout.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unavailable reports whether err means AWS could not give an answer
// (a timeout, a network error, throttling, a 5xx) rather than answering
// that something is wrong. Monitors return such errors from Check so the
// policy's OnUnreachable applies.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	if isTimeout(err) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if (retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}).IsErrorThrottle(err).Bool() {
			return true
		}
		if ae.ErrorFault() == smithy.FaultServer {
			return true
		}
		// A 503 (EC2's Unavailable, ServiceUnavailable elsewhere) comes
		// back as a generic API error whose fault is unknown.
		var re *awshttp.ResponseError
		return errors.As(err, &re) && re.HTTPStatusCode() >= 500
	}
	return true
}

// errorCode returns the AWS error code of err ("InvalidVpcID.NotFound"),
// or "" when AWS did not answer with one.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
