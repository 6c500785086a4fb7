package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/minato-ops/minato/inventory"
)

// Errors an [APIError] wraps besides the inventory ones.
var (
	// ErrUnauthorized: the manager refused the login (wrong user or
	// password, locked account), or refused the session token again right
	// after a fresh login.
	ErrUnauthorized = errors.New("hinemos rest: not authorized")
	// ErrForbidden: the user lacks a privilege the call needs (the
	// Repository read, add or modify privilege, or the owner role).
	ErrForbidden = errors.New("hinemos rest: forbidden")
)

// Exception classes of the Hinemos manager that the client maps to the
// inventory errors; the manager names them in the "exception" field of its
// error answers.
const (
	exFacilityNotFound  = "com.clustercontrol.fault.FacilityNotFound"
	exFacilityDuplicate = "com.clustercontrol.fault.FacilityDuplicate"
	exUsedFacility      = "com.clustercontrol.fault.UsedFacility"
	exInvalidSetting    = "com.clustercontrol.fault.InvalidSetting"
)

// maxMessage bounds the manager's message kept in an [APIError].
const maxMessage = 512

// APIError is an answer of the Hinemos manager with a status other than
// 200. It unwraps to [inventory.ErrNotFound] (the manager's
// FacilityNotFound), [inventory.ErrConflict] (FacilityDuplicate, any 409,
// and UsedFacility: the facility is still referenced by monitor or job
// settings), [inventory.ErrInvalid] (InvalidSetting), [ErrUnauthorized]
// (401) or [ErrForbidden] (403), and to nothing otherwise. A 404 whose
// exception is not FacilityNotFound (a wrong URL, a proxy's page) is not
// ErrNotFound.
type APIError struct {
	// Method and Path are the request's, the path below /HinemosWeb/api
	// ("/RepositoryRestEndpoints/repository/node/web-1").
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Exception is the Java class of the manager's exception
	// ("com.clustercontrol.fault.FacilityNotFound"); empty when the
	// answer was not a Hinemos error body.
	Exception string
	// Message is the manager's message, at most 512 bytes.
	Message string
}

// Error renders the error as "METHOD PATH: STATUS Exception: message".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Path, e.Status)
	if e.Exception != "" {
		b.WriteString(" " + e.Exception[strings.LastIndexByte(e.Exception, '.')+1:])
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Unwrap returns the error class of the answer, or nil.
func (e *APIError) Unwrap() error {
	switch {
	case e.Exception == exFacilityNotFound:
		return inventory.ErrNotFound
	case e.Exception == exFacilityDuplicate, e.Exception == exUsedFacility, e.Status == 409:
		return inventory.ErrConflict
	case e.Exception == exInvalidSetting:
		return inventory.ErrInvalid
	case e.Status == 401:
		return ErrUnauthorized
	case e.Status == 403:
		return ErrForbidden
	}
	return nil
}

// exceptionBody is the manager's error answer (ExceptionBody in the
// manager's source); its stack trace is ignored.
type exceptionBody struct {
	Status    int    `json:"status"`
	Message   string `json:"message"`
	Exception string `json:"exception"`
}

// parseError builds the APIError for an answer with that status and body.
// A body that is not a Hinemos error body leaves Exception empty and keeps
// the start of the body, if it is text, as the message.
func parseError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var eb exceptionBody
	if err := json.Unmarshal(body, &eb); err == nil && (eb.Exception != "" || eb.Message != "") {
		if validClass(eb.Exception) {
			e.Exception = eb.Exception
		}
		e.Message = clip(eb.Message)
		return e
	}
	if utf8.Valid(body) {
		e.Message = clip(string(body))
	}
	return e
}

// validClass reports whether s looks like a Java class name, so that an
// arbitrary string from the wire is never shown as one.
func validClass(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '$') {
			return false
		}
	}
	return true
}

// clip trims s to one line of printable text of at most maxMessage
// bytes.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	s = s[:maxMessage]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}
