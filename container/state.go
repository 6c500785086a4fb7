package container

import (
	"errors"
	"fmt"
	"strings"
)

// State is a container's lifecycle state, the Engine API's State field and
// the value docker ps -f status= filters on.
type State string

// The states the Engine API reports.
const (
	Created    State = "created"
	Running    State = "running"
	Paused     State = "paused"
	Restarting State = "restarting"
	Removing   State = "removing"
	Exited     State = "exited"
	Dead       State = "dead"
)

// States lists every State in the order docker documents them.
var States = []State{Created, Running, Paused, Restarting, Removing, Exited, Dead}

// ErrUnknownState is wrapped by [ParseState] and [ParseStatus] for text they
// cannot convert; the message quotes the text.
var ErrUnknownState = errors.New("container: unknown container state")

// ParseState converts the Engine API's State field ("running",
// "exited", ...; case-insensitive) to a State.
func ParseState(s string) (State, error) {
	st := State(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range States {
		if st == known {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want one of created, running, paused, restarting, removing, exited, dead)", ErrUnknownState, s)
}

// ParseStatus converts the human Status column of docker ps ("Up 35
// minutes", "Exited (0) 2 hours ago") to a State, exactly as the Hinemos
// Docker scripts' conv_docker_status function does:
//
//	""                      → exited (a start error can leave it blank)
//	"Exited …"              → exited
//	"Restarting …"          → restarting
//	"Up … (Paused)"         → paused
//	"Up …"                  → running
//
// and extended for what later engines print: "Created" → created, "Dead" →
// dead, "Removal In Progress" → removing. Anything else is an error wrapping
// [ErrUnknownState] that quotes the text, as that function's
// "変換できないステータス" (status that cannot be converted) exception does.
//
// Prefer the API's State field ([ParseState]) where it is available; this
// function exists for compatibility with tools that only have the Status text.
func ParseStatus(status string) (State, error) {
	if status == "" {
		return Exited, nil
	}
	w := strings.Split(status, " ")
	switch w[0] {
	case "Exited":
		return Exited, nil
	case "Restarting":
		return Restarting, nil
	case "Up":
		if w[len(w)-1] == "(Paused)" {
			return Paused, nil
		}
		return Running, nil
	case "Created":
		return Created, nil
	case "Dead":
		return Dead, nil
	case "Removal":
		if strings.HasPrefix(status, "Removal In Progress") {
			return Removing, nil
		}
	}
	return "", fmt.Errorf("%w: status %q cannot be converted", ErrUnknownState, status)
}
