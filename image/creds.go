package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
)

// Credentials are what a registry accepts from a user: a user name and
// password (or token), an identity token (OAuth refresh token), or a
// registry token (bearer). Zero means anonymous.
type Credentials struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"-"`
	IdentityToken string `json:"-"`
	RegistryToken string `json:"-"`
}

// anonymous reports whether c carries no credentials at all.
func (c Credentials) anonymous() bool { return c == Credentials{} }

// credentialStore finds the credentials for a registry host. Lookup is
// safe for concurrent use, may run a credential helper program, returns
// zero Credentials (and no error) when none are configured for host, and
// an error only when the configuration cannot be read or a helper fails.
type credentialStore interface {
	Lookup(ctx context.Context, host string) (Credentials, error)
}

// WithCredentials makes the Client ask f for registry credentials instead
// of reading the docker CLI's config file, e.g. to hand out short-lived ECR
// tokens. f is called before each registry operation (and by the engine
// side for X-Registry-Auth) with the registry host as in
// [Reference.Registry] ("docker.io", "registry.example:5000"); it must be
// safe for concurrent use, return zero Credentials for anonymous access,
// and return an error only when it cannot decide (the error is passed on,
// wrapped).
func WithCredentials(f func(ctx context.Context, host string) (Credentials, error)) Option {
	return func(c *Client) {
		if f != nil {
			c.creds = credentialFunc(f)
		}
	}
}

type credentialFunc func(ctx context.Context, host string) (Credentials, error)

func (f credentialFunc) Lookup(ctx context.Context, host string) (Credentials, error) {
	cr, err := f(ctx, host)
	if err != nil {
		return Credentials{}, fmt.Errorf("image: credentials for registry %s: %w", host, err)
	}
	return cr, nil
}

// dockerHubAuthKey is the key under which the docker CLI keeps Docker
// Hub's credentials, in "auths" and in credential helpers.
const dockerHubAuthKey = "https://index.docker.io/v1/"

// isDockerHub reports whether host names Docker Hub in any of the
// spellings users and tools write.
func isDockerHub(host string) bool {
	switch strings.TrimSuffix(strings.ToLower(host), "/") {
	case "docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1",
		"https://index.docker.io", "https://registry-1.docker.io", "https://docker.io":
		return true
	}
	return false
}

// normalizeRegistry maps every spelling of Docker Hub to DefaultRegistry
// and leaves other hosts as they are.
func normalizeRegistry(host string) string {
	if isDockerHub(host) {
		return DefaultRegistry
	}
	return host
}

// dockerConfigStore reads the docker CLI's config.json at every Lookup, so
// a `docker login` while minato runs takes effect at the next call.
type dockerConfigStore struct {
	// dir is the configured directory; "" means $DOCKER_CONFIG, else
	// ~/.docker, resolved at each Lookup.
	dir string
}

// newCredentialStore returns the store that reads the docker CLI's
// configuration in dir ("" for the CLI's default place).
func newCredentialStore(dir string) credentialStore { return dockerConfigStore{dir: dir} }

// configDir resolves where config.json is, as the docker CLI does.
func (s dockerConfigStore) configDir() (string, error) {
	if s.dir != "" {
		return s.dir, nil
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("image: cannot find the docker config directory: $DOCKER_CONFIG is unset and %w; set Config.DockerConfig or $DOCKER_CONFIG", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// Lookup returns the credentials config.json gives for host: from the
// registry's credential helper (credHelpers), else the default store
// (credsStore), else "auths". A missing file means anonymous. ctx is only
// checked before starting; helpers run to completion as the docker CLI
// runs them.
func (s dockerConfigStore) Lookup(ctx context.Context, host string) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	dir, err := s.configDir()
	if err != nil {
		return Credentials{}, err
	}
	file := filepath.Join(dir, config.ConfigFileName)
	cf, err := config.Load(dir)
	if err != nil {
		return Credentials{}, fmt.Errorf("image: docker config %s: %w; fix the file (valid JSON as `docker login` writes it) or point Config.DockerConfig / $DOCKER_CONFIG at another directory", file, err)
	}
	hub := isDockerHub(host)
	key := host
	if hub {
		key = dockerHubAuthKey
	}
	ac, err := cf.GetAuthConfig(key)
	if err != nil {
		helper := "docker-credential-" + helperFor(cf, key)
		return Credentials{}, fmt.Errorf("image: credential helper %s (configured in %s) failed for registry %s: %w; check that %s is on PATH and works (`echo %s | %s get`), or log in again (docker login %s)",
			helper, file, host, err, helper, key, helper, loginArg(host))
	}
	cr := fromAuthConfig(ac)
	if cr.anonymous() && hub && helperFor(cf, key) == "" {
		// Docker Hub written under another of its names.
		for k, a := range cf.GetAuthConfigs() {
			if isDockerHub(credentials.ConvertToHostname(k)) || isDockerHub(k) {
				if c := fromAuthConfig(a); !c.anonymous() {
					return c, nil
				}
			}
		}
	}
	return cr, nil
}

// helperFor returns the credential helper suffix that applies to key, or
// "" for the plain file store (as configfile does).
func helperFor(cf *configfile.ConfigFile, key string) string {
	if h, ok := cf.CredentialHelpers[key]; ok && key != "" {
		return h
	}
	return cf.CredentialsStore
}

func fromAuthConfig(ac types.AuthConfig) Credentials {
	return Credentials{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
}

// loginArg is what follows `docker login` for host ("" for Docker Hub).
func loginArg(host string) string {
	if isDockerHub(host) {
		return ""
	}
	return host
}
