package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// jsonMessage is the part of the engine's JSON message stream (pull, push,
// build) minato reads: one JSON object per message, concatenated.
type jsonMessage struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	ProgressDetail *progressDetail `json:"progressDetail"`
	Stream         string          `json:"stream"`
	Aux            json.RawMessage `json:"aux"`
	Error          string          `json:"error"`
	ErrorDetail    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errorDetail"`
}

type progressDetail struct {
	Current int64 `json:"current"`
	Total   int64 `json:"total"`
}

// streamError is an error the engine reported inside a message stream,
// after the HTTP status was already sent.
type streamError struct {
	Code    int
	Message string
}

func (e *streamError) Error() string { return e.Message }

// err returns the message's error, or nil when it carries none.
func (m *jsonMessage) err() error {
	msg := m.Error
	code := 0
	if m.ErrorDetail != nil {
		code = m.ErrorDetail.Code
		if m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
	}
	if msg == "" {
		return nil
	}
	return &streamError{Code: code, Message: msg}
}

// decodeStream reads r to its end, calling fn for every message. It
// returns the first error in the stream (a message with errorDetail), a
// decoding error, or fn's error; after an engine error it still drains the
// stream so the connection can be reused.
func decodeStream(r io.Reader, fn func(*jsonMessage) error) error {
	dec := json.NewDecoder(r)
	var first error
	for {
		var m jsonMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return first
			}
			if first != nil {
				return first
			}
			return fmt.Errorf("read the engine's message stream: %w", err)
		}
		if first != nil {
			continue
		}
		if err := m.err(); err != nil {
			first = err
			continue
		}
		if fn != nil {
			if err := fn(&m); err != nil {
				first = err
			}
		}
	}
}

// toProgress turns one pull or push message into a Progress. ok is false
// for messages that carry no progress (empty status, aux-only messages).
func toProgress(m *jsonMessage) (p Progress, ok bool) {
	status := strings.TrimSpace(m.Status)
	if status == "" {
		return Progress{}, false
	}
	p = Progress{Layer: m.ID, Note: status}
	if m.ProgressDetail != nil {
		p.Current, p.Total = m.ProgressDetail.Current, m.ProgressDetail.Total
		if p.Current < 0 {
			p.Current = 0
		}
		if p.Total < 0 {
			p.Total = 0
		}
	}
	if m.ID == "" || !isLayerID(m.ID) {
		// Whole-image messages: "Pulling from library/x" carries the tag
		// in id, "Digest: …", "Status: …", "The push refers to …".
		p.Layer = ""
		p.Action = "status"
		return p, true
	}
	p.Action = layerAction(status)
	return p, true
}

// isLayerID reports whether id looks like a short layer ID (hex) rather
// than a tag ("Pulling from x" messages carry the tag in id).
func isLayerID(id string) bool {
	if len(id) < 12 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// layerAction maps the engine's per-layer status to Progress.Action.
func layerAction(status string) string {
	s := strings.ToLower(status)
	switch {
	case s == "waiting" || s == "pulling fs layer":
		return "waiting"
	case s == "downloading":
		return "downloading"
	case strings.HasPrefix(s, "verifying"):
		return "verifying"
	case s == "extracting":
		return "extracting"
	case s == "download complete" || s == "pull complete":
		return "complete"
	case s == "already exists" || s == "layer already exists" || strings.HasPrefix(s, "mounted from"):
		return "exists"
	case s == "preparing":
		return "preparing"
	case s == "pushing":
		return "pushing"
	case s == "pushed":
		return "pushed"
	}
	return "status"
}

// pullTally accumulates what a pull stream says about the pull as a whole.
type pullTally struct {
	digest   string
	upToDate bool
	// layers holds the bytes of each downloaded layer: the expected total
	// when known, else the largest count seen.
	layers map[string]int64
}

func (t *pullTally) add(m *jsonMessage) {
	status := strings.TrimSpace(m.Status)
	switch {
	case strings.HasPrefix(status, "Digest: "):
		t.digest = strings.TrimSpace(strings.TrimPrefix(status, "Digest: "))
	case strings.HasPrefix(status, "Status: Image is up to date"):
		t.upToDate = true
	case m.ID != "" && status == "Downloading" && m.ProgressDetail != nil:
		if t.layers == nil {
			t.layers = map[string]int64{}
		}
		n := max(m.ProgressDetail.Total, m.ProgressDetail.Current, 0)
		t.layers[m.ID] = max(t.layers[m.ID], n)
	}
}

func (t *pullTally) downloaded() int64 {
	var n int64
	for _, b := range t.layers {
		if n > math.MaxInt64-b {
			return math.MaxInt64 // nonsense sizes: saturate, never wrap
		}
		n += b
	}
	return n
}

// pushTally accumulates what a push stream says: the aux message
// {"Tag","Digest","Size"} and the "TAG: digest: sha256:… size: N" line.
type pushTally struct {
	digest string
	size   int64
}

func (t *pushTally) add(m *jsonMessage) {
	if len(m.Aux) > 0 {
		var aux struct {
			Digest string `json:"Digest"`
			Size   int64  `json:"Size"`
		}
		if json.Unmarshal(m.Aux, &aux) == nil && aux.Digest != "" {
			t.digest, t.size = aux.Digest, aux.Size
			return
		}
	}
	if _, rest, ok := strings.Cut(m.Status, " digest: "); ok && t.digest == "" {
		d, size, _ := strings.Cut(rest, " size: ")
		t.digest = strings.TrimSpace(d)
		var n int64
		if _, err := fmt.Sscan(strings.TrimSpace(size), &n); err == nil {
			t.size = n
		}
	}
}
