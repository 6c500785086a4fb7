package rest

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/minato-ops/minato/inventory"
)

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		exception string
		message   string
		class     error
	}{
		{404, `{"status":404,"message":"Facility not found.","exception":"com.clustercontrol.fault.FacilityNotFound","stack":["a.b(C.java:1)"]}`,
			exFacilityNotFound, "Facility not found.", inventory.ErrNotFound},
		{409, `{"status":409,"message":"dup","exception":"com.clustercontrol.fault.FacilityDuplicate"}`, exFacilityDuplicate, "dup", inventory.ErrConflict},
		{400, `{"status":400,"message":"used","exception":"com.clustercontrol.fault.UsedFacility"}`, exUsedFacility, "used", inventory.ErrConflict},
		{400, `{"status":400,"message":"Please input Node Name.","exception":"com.clustercontrol.fault.InvalidSetting"}`, exInvalidSetting, "Please input Node Name.", inventory.ErrInvalid},
		{401, `{"status":401,"message":"no","exception":"com.clustercontrol.fault.InvalidUserPass"}`, "com.clustercontrol.fault.InvalidUserPass", "no", ErrUnauthorized},
		{403, `{"status":403,"message":"no","exception":"com.clustercontrol.fault.InvalidRole"}`, "com.clustercontrol.fault.InvalidRole", "no", ErrForbidden},
		{404, `{"status":404,"message":"HTTP 404 Not Found","exception":"com.clustercontrol.fault.HinemosUnknown"}`, "com.clustercontrol.fault.HinemosUnknown", "HTTP 404 Not Found", nil},
		{404, "<html><body>Not Found</body></html>", "", "<html><body>Not Found</body></html>", nil},
		{500, `{"message":"x","exception":"not a class; rm -rf"}`, "", "x", nil},
		{502, "\xff\xfe binary", "", "", nil},
		{503, "", "", "", nil},
	} {
		e := parseError("GET", "/p", tc.status, []byte(tc.body))
		if e.Exception != tc.exception || e.Message != tc.message {
			t.Errorf("parseError(%d, %.40q) = %q, %q; want %q, %q", tc.status, tc.body, e.Exception, e.Message, tc.exception, tc.message)
		}
		if got := e.Unwrap(); got != tc.class {
			t.Errorf("parseError(%d, %.40q).Unwrap() = %v, want %v", tc.status, tc.body, got, tc.class)
		}
	}
	long := parseError("PUT", "/p", 500, []byte(strings.Repeat("あ", 400)))
	if len(long.Message) > maxMessage+3 || !utf8.ValidString(long.Message) || !strings.HasSuffix(long.Message, "...") {
		t.Errorf("a long message is kept as %d bytes %q", len(long.Message), long.Message[len(long.Message)-10:])
	}
	if s := long.Error(); !strings.HasPrefix(s, "PUT /p: 500: あ") {
		t.Errorf("Error() = %.60q", s)
	}
}

// FuzzParseError feeds arbitrary answers to the error parser: it must not
// panic, must keep the message one valid UTF-8 line of bounded size, and
// must only report class-like exception names.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{
		`{"status":404,"message":"Facility not found.","exception":"com.clustercontrol.fault.FacilityNotFound","stack":[]}`,
		`{"status":409,"exception":"com.clustercontrol.fault.FacilityDuplicate"}`,
		`{"message":null,"exception":7}`,
		"<html>Bad Gateway</html>",
		"",
		"\xff",
		`{"message":"line\nbreak\r\tand\u0000nul"}`,
	} {
		f.Add(404, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError("GET", "/p", status, body)
		if len(e.Message) > maxMessage+3 || !utf8.ValidString(e.Message) || strings.ContainsFunc(e.Message, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("message %q: want one valid UTF-8 line without control characters of at most %d bytes", e.Message, maxMessage)
		}
		if e.Exception != "" && !validClass(e.Exception) {
			t.Errorf("exception %q is not a class name", e.Exception)
		}
		_ = e.Error()
		if c := e.Unwrap(); c != nil && !errors.Is(e, c) {
			t.Errorf("errors.Is(e, Unwrap()) is false")
		}
	})
}
