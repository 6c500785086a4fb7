package image

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by errors for an image, tag or repository that
// the engine or the registry does not have.
var ErrNotFound = errors.New("image not found")

// AuthError is the error for a registry that refused the credentials
// minato sent (or asked for some when none were configured): HTTP 401 or
// 403, or the engine's "unauthorized" / "denied" on a pull or push. Its
// message carries the advice operators need (log in to that registry's
// domain again), naming the domain.
type AuthError struct {
	// Registry is the registry host ("registry.example:5000", "docker.io").
	Registry string
	// Anonymous says no credentials were found for Registry.
	Anonymous bool
	// Err is the registry's or engine's own error.
	Err error
}

// Error says what was refused and what to do.
func (e *AuthError) Error() string {
	login := e.Registry
	if login == DefaultRegistry {
		login = "" // docker login with no argument logs in to Docker Hub
	}
	how := "docker login " + login
	if e.Anonymous {
		return fmt.Sprintf("registry %s refused an anonymous request: %v; log in to the registry domain %s first (%s), or check the repository name",
			e.Registry, e.Err, e.Registry, how)
	}
	return fmt.Sprintf("registry %s refused the credentials: %v; log in to the registry domain %s again (%s): the password or token may have expired, or lack pull/push rights on this repository",
		e.Registry, e.Err, e.Registry, how)
}

// Unwrap returns the underlying error.
func (e *AuthError) Unwrap() error { return e.Err }

// IsAuth reports whether err is, or wraps, an [*AuthError].
func IsAuth(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// Descriptor identifies content in a registry: a manifest or an index.
type Descriptor struct {
	// Digest is the content digest, "sha256:<64 hex>".
	Digest string `json:"digest"`
	// MediaType is the manifest's media type (OCI index, Docker manifest
	// list, image manifest).
	MediaType string `json:"media_type,omitempty"`
	// Size is the manifest's size in bytes.
	Size int64 `json:"size,omitempty"`
}

// Progress is one step of a pull, push or copy, as the engine or the
// registry reports it, per layer.
type Progress struct {
	// Layer is the short layer ID ("a1b2c3d4e5f6"); "" for a message
	// about the whole image.
	Layer string `json:"layer,omitempty"`
	// Action is what happens to the layer: "waiting", "downloading",
	// "verifying", "extracting", "complete", "exists" (already there),
	// "preparing", "pushing", "pushed", or "status" for a whole-image
	// message in Note.
	Action string `json:"action"`
	// Current and Total are bytes done and expected for the layer during
	// downloading, extracting and pushing; Total is 0 when unknown.
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
	// Note is the engine's own text ("Digest: sha256:…", "Status:
	// Downloaded newer image for …").
	Note string `json:"note,omitempty"`
}
