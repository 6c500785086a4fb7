package diag

import (
	"fmt"
	"strings"
)

// Severity is how serious a [Finding] is. The zero value is OK.
type Severity int

// Severities, in increasing order.
const (
	// OK: nothing wrong (a runbook step that passed).
	OK Severity = iota
	// Info: worth knowing, nothing to fix.
	Info
	// Warning: something will go wrong, or works by luck.
	Warning
	// Critical: something is broken now.
	Critical
)

var severityNames = [...]string{"ok", "info", "warning", "critical"}

// String returns "ok", "info", "warning" or "critical".
func (s Severity) String() string {
	if s < OK || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText returns the name of s.
func (s Severity) MarshalText() ([]byte, error) {
	if s < OK || s > Critical {
		return nil, fmt.Errorf("diag: severity %d out of range", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses a name that String returns (any case).
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity parses "ok", "info", "warning" or "critical" (any case).
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return OK, fmt.Errorf("diag: severity %q: want ok, info, warning or critical", name)
}

// SubjectKind says what a [Subject] is.
type SubjectKind string

// Subject kinds.
const (
	SubjectEngine    SubjectKind = "engine"
	SubjectHost      SubjectKind = "host"
	SubjectContainer SubjectKind = "container"
	SubjectImage     SubjectKind = "image"
	SubjectVolume    SubjectKind = "volume"
	SubjectNetwork   SubjectKind = "network"
	SubjectCloud     SubjectKind = "cloud"
	SubjectText      SubjectKind = "text"
)

// Subject is what a [Finding] is about.
type Subject struct {
	Kind SubjectKind `json:"kind"`
	// ID and Name identify it (a container's ID and name, an engine's
	// name, a host's name, a cloud resource's ID); either may be empty.
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Engine names the engine the subject belongs to, when it does.
	Engine string `json:"engine,omitempty"`
}

// String returns "kind name" (or the ID when there is no name).
func (s Subject) String() string {
	n := s.Name
	if n == "" {
		n = s.ID
	}
	if n == "" {
		return string(s.Kind)
	}
	return string(s.Kind) + " " + n
}

// Finding is one thing a [Check] found wrong (or worth knowing), told as
// an operator needs it: what, why, what to do, and what was seen.
type Finding struct {
	// Code is stable across releases: the Container Service FAQ's row
	// ("D21") when the catalogue has one, else a dotted name
	// ("container.no_restart_policy").
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Subject  Subject  `json:"subject"`
	// Title says what is wrong in one line.
	Title string `json:"title"`
	// Detail says why it matters, with the values involved.
	Detail string `json:"detail,omitempty"`
	// Remedy says what to do.
	Remedy string `json:"remedy,omitempty"`
	// Evidence are the facts observed ("/var/lib/docker: 94 % of 20 GiB
	// used"), never secrets.
	Evidence []string `json:"evidence,omitempty"`
	// Reference names where the behaviour is described ("Container
	// Service FAQ D21 (§2.14)", "JobCenter: collecting diagnostics",
	// "CLUSTERPRO AWS guide, troubleshooting T2").
	Reference string `json:"reference,omitempty"`
}
