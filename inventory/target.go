package inventory

import (
	"strings"
)

// Kind says what sort of thing a [Target] is.
type Kind string

// The kinds of Target minato knows about.
const (
	// KindHost is a Docker Engine endpoint; its ID is the engine address.
	KindHost Kind = "host"
	// KindContainer is one container; its ID is the 64-hex container ID.
	KindContainer Kind = "container"
	// KindImage is one image; its ID is the image's content digest.
	KindImage Kind = "image"
	// KindNode is an HA cluster member or a cloud instance.
	KindNode Kind = "node"
)

// ShortIDLen is the length of the short container ID docker ps prints and
// the Hinemos Docker scripts' output lines use.
const ShortIDLen = 12

// Target identifies one thing minato observes or acts on. It is a value:
// copy it freely, but do not mutate Labels after construction, since copies
// share the map.
type Target struct {
	// Kind says what the Target is.
	Kind Kind `json:"kind"`
	// ID is the full, stable identifier: a 64-hex container ID, an engine
	// address, an EC2 instance ID.
	ID string `json:"id"`
	// Name is the human name, without Docker's leading "/".
	Name string `json:"name,omitempty"`
	// Engine is the Docker endpoint the Target lives on ("unix:///var/run/docker.sock",
	// "tcp://10.0.0.5:2375"); empty for non-Docker targets.
	Engine string `json:"engine,omitempty"`
	// Labels are the Target's labels (container labels, instance tags).
	Labels map[string]string `json:"labels,omitempty"`
}

// Key returns a stable key, unique across kinds and engines, for maps and
// state files: "kind/engine/id".
func (t Target) Key() string {
	return string(t.Kind) + "/" + t.Engine + "/" + t.ID
}

// ShortID returns the first 12 characters of the ID (all of it when shorter),
// the form docker ps and the Hinemos Docker scripts' output lines print.
func (t Target) ShortID() string {
	if len(t.ID) > ShortIDLen {
		return t.ID[:ShortIDLen]
	}
	return t.ID
}

// String renders the Target for logs and messages: "container web-1
// (0e0d8cdf3a57)". Container and image IDs are shortened to 12 characters;
// other IDs (URLs, instance IDs) are shown whole.
func (t Target) String() string {
	var b strings.Builder
	if t.Kind != "" {
		b.WriteString(string(t.Kind))
		b.WriteByte(' ')
	}
	id := t.ID
	if t.Kind == KindContainer || t.Kind == KindImage {
		id = t.ShortID() // hex IDs: the short form docker prints
	}
	switch {
	case t.Name != "" && id != "" && t.Name != id:
		b.WriteString(t.Name + " (" + id + ")")
	case t.Name != "":
		b.WriteString(t.Name)
	default:
		b.WriteString(id)
	}
	return b.String()
}

// TrimName strips Docker's leading "/" from a container name. The Engine API
// reports names as "/web-1"; minato never shows or compares that slash.
func TrimName(name string) string {
	return strings.TrimPrefix(name, "/")
}
