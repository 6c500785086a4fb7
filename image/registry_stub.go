package image

import (
	"context"
	"log/slog"
)

// Placeholder shapes for the registry side (credentials, budgets); the
// registry helper replaces this file with creds.go and registry.go.

// Credentials are what a registry accepts from a user: a user name and
// password (or token), an identity token (OAuth refresh token), or a
// registry token (bearer). Zero means anonymous.
type Credentials struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"-"`
	IdentityToken string `json:"-"`
	RegistryToken string `json:"-"`
}

type credentialStore interface {
	Lookup(ctx context.Context, host string) (Credentials, error)
}

type noCreds struct{}

func (noCreds) Lookup(context.Context, string) (Credentials, error) { return Credentials{}, nil }

func newCredentialStore(dir string) credentialStore { return noCreds{} }

type registries struct{}

func newRegistries(cfg Config, creds credentialStore, log *slog.Logger) *registries {
	return &registries{}
}
