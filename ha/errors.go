package ha

import (
	"context"
	"errors"
	"fmt"
)

// Codes shared by every resource and monitor type. Other codes are
// numbered per type (CLUSTERPRO's code 7 means three different things in
// its AWS virtual IP, Elastic IP and DNS types), so read them together with
// the type that returned them.
const (
	// CodeFailed: the command or API call that does the work failed.
	CodeFailed = 5
	// CodeTimeout: the work did not finish in time ("Timeout occurred.").
	CodeTimeout = 6
	// CodeInternal: anything unforeseen ("Internal error.").
	CodeInternal = 99
	// WarnOffset turns an error code into the warning code a monitor
	// reports when its policy says warn instead of recover (5 → 105).
	WarnOffset = 100
)

// ResourceError is a resource or monitor failure with CLUSTERPRO's
// numbered code and detail text. Err, when set, is the underlying error
// (errors.Is and errors.As see through it).
type ResourceError struct {
	Code   int
	Detail string
	Err    error
}

// Error returns "(<code> : <detail>)", the part CLUSTERPRO's messages put
// in parentheses.
func (e *ResourceError) Error() string { return fmt.Sprintf("(%d : %s)", e.Code, e.Detail) }

// Unwrap returns Err.
func (e *ResourceError) Unwrap() error { return e.Err }

// Errorf returns a *ResourceError with the code and a formatted detail;
// a %w verb in format becomes its Err.
func Errorf(code int, format string, a ...any) *ResourceError {
	err := fmt.Errorf(format, a...)
	return &ResourceError{Code: code, Detail: err.Error(), Err: errors.Unwrap(err)}
}

// AsResourceError returns err as a *ResourceError: itself when it is one
// (or wraps one); code 6 "Timeout occurred." for a deadline; code 99 with
// err's text otherwise. nil stays nil.
func AsResourceError(err error) *ResourceError {
	if err == nil {
		return nil
	}
	var re *ResourceError
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &ResourceError{Code: CodeTimeout, Detail: "Timeout occurred.", Err: err}
	}
	return &ResourceError{Code: CodeInternal, Detail: err.Error(), Err: err}
}

// ActivateMessage is CLUSTERPRO's activation failure line:
// "Activating <resource> resource has failed.(<code> : <detail>)".
func ActivateMessage(resource string, err error) string {
	return "Activating " + resource + " resource has failed." + AsResourceError(err).Error()
}

// DeactivateMessage is the deactivation failure line:
// "Deactivating <resource> resource has failed.(<code> : <detail>)".
func DeactivateMessage(resource string, err error) string {
	return "Deactivating " + resource + " resource has failed." + AsResourceError(err).Error()
}

// MessageFormatter is an optional interface of a [Resource] whose
// activation and deactivation failure lines differ from the common
// grammar of [ActivateMessage] and [DeactivateMessage] (CLUSTERPRO's AWS
// DNS resource writes a space before the parenthesis). The engine uses it,
// when implemented, for the lines it reports.
type MessageFormatter interface {
	ActivateMessage(resource string, err error) string
	DeactivateMessage(resource string, err error) string
}

// MonitorErrorMessage is CLUSTERPRO's monitor error line:
// "Detected an error in monitoring <monitor>. (<code> : <detail>)".
func MonitorErrorMessage(monitor string, err error) string {
	return "Detected an error in monitoring " + monitor + ". " + AsResourceError(err).Error()
}

// MonitorWarnMessage is the monitor warning line, with the code given
// (callers add WarnOffset for the warning form of an error code):
// "Warn monitoring <monitor>. (<code> : <detail>)".
func MonitorWarnMessage(monitor string, code int, detail string) string {
	return "Warn monitoring " + monitor + ". " + (&ResourceError{Code: code, Detail: detail}).Error()
}
