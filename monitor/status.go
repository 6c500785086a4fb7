package monitor

import (
	"fmt"
	"strings"
)

// Status is a verdict. Its numeric values are the Nagios / Monitoring
// Plugins exit codes.
type Status uint8

// The verdicts.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

// String returns "OK", "WARNING", "CRITICAL" or "UNKNOWN".
func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	case Unknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// ExitCode returns the Monitoring Plugins exit code for s: 0, 1, 2 or 3.
func (s Status) ExitCode() int {
	if s > Unknown {
		return int(Unknown)
	}
	return int(s)
}

// ParseStatus reads "OK", "WARNING", "CRITICAL", "UNKNOWN" (any case, and
// the short forms "warn", "crit").
func ParseStatus(s string) (Status, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "OK":
		return OK, nil
	case "WARNING", "WARN":
		return Warning, nil
	case "CRITICAL", "CRIT":
		return Critical, nil
	case "UNKNOWN":
		return Unknown, nil
	}
	return Unknown, fmt.Errorf("monitor: status %q: want OK, WARNING, CRITICAL or UNKNOWN", s)
}

// MarshalText implements encoding.TextMarshaler with String.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseStatus.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// severity orders statuses for Worst: OK < Unknown < Warning < Critical,
// the Monitoring Plugins max_state_alt order.
func (s Status) severity() int {
	switch s {
	case OK:
		return 0
	case Unknown:
		return 1
	case Warning:
		return 2
	}
	return 3
}

// Worst returns the most severe status: Critical > Warning > Unknown > OK
// (Monitoring Plugins max_state_alt). Worst() is OK.
func Worst(ss ...Status) Status {
	w := OK
	for _, s := range ss {
		if s.severity() > w.severity() {
			w = s
		}
	}
	return w
}
