package dockerinv

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minato-ops/minato/container"
)

// LocalName is the engine name [FromEnv] gives: the engine the docker CLI's
// variables point at, without asking it or the machine for a name, so that
// the result is the same on every machine and for a remote DOCKER_HOST
// too. Set Name yourself when the engine is a Hinemos host node with its
// own facility ID.
const LocalName = "local"

// FromEnv returns the engine the docker CLI's variables describe
// (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, as
// [container.ConfigFromEnv] reads them), named [LocalName]. Its Timeout is
// left zero, so that a Fleet applies its own. getenv is usually os.Getenv;
// nil means os.Getenv.
func FromEnv(getenv func(string) string) EngineConfig {
	c := container.ConfigFromEnv(getenv)
	return EngineConfig{Name: LocalName, Host: c.Host, APIVersion: c.APIVersion, TLS: c.TLS}
}

// Docker CLI context store layout, under the CLI's configuration directory
// (~/.docker, or $DOCKER_CONFIG):
//
//	contexts/meta/<sha256 of the name>/meta.json
//	contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem
const (
	contextsMeta    = "contexts/meta"
	contextsTLS     = "contexts/tls"
	contextMetaFile = "meta.json"
	dockerEndpoint  = "docker"
)

// FromContexts returns one engine per Docker CLI context stored under
// dir, the docker CLI's configuration directory (usually ~/.docker, or
// $DOCKER_CONFIG when set), sorted by name. Each context's meta.json gives
// the name and the docker endpoint's Host and SkipTLSVerify; its TLS
// material, when the context has some, is referred to by path
// (contexts/tls/<sha256 of the name>/docker/ca.pem, cert.pem, key.pem).
// The implicit "default" context, which the CLI does not store, is not
// included: use [FromEnv] for it.
//
// A directory without contexts gives an empty list and no error. A context
// that cannot be used (unreadable or malformed meta.json, no docker
// endpoint, a name that is not a valid facility ID, an invalid host) is
// left out and its problem, naming the context, is joined into the error
// returned with the others.
func FromContexts(dir string) ([]EngineConfig, error) {
	entries, err := os.ReadDir(filepath.Join(dir, contextsMeta))
	if errors.Is(err, fs.ErrNotExist) {
		return []EngineConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dockerinv: docker contexts: %w", err)
	}
	out := []EngineConfig{}
	var errs []error
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		path := filepath.Join(dir, contextsMeta, ent.Name(), contextMetaFile)
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("dockerinv: docker context %s: %w", ent.Name(), err))
			continue
		}
		meta, err := parseContextMeta(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("dockerinv: docker context in %s: %w", path, err))
			continue
		}
		ec := EngineConfig{Name: meta.name, Host: meta.host}
		if tls := contextTLS(dir, meta); tls != nil && !localSocket(ec.Host) {
			ec.TLS = tls
		}
		if err := ec.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("dockerinv: docker context %q: %w", meta.name, err))
			continue
		}
		out = append(out, ec)
	}
	slices.SortFunc(out, func(a, b EngineConfig) int { return strings.Compare(a.Name, b.Name) })
	return out, errors.Join(errs...)
}

// contextMeta is what minato reads of a context's meta.json.
type contextMeta struct {
	name, host    string
	skipTLSVerify bool
}

// parseContextMeta reads a Docker CLI context's meta.json:
//
//	{"Name": "prod", "Metadata": {...},
//	 "Endpoints": {"docker": {"Host": "tcp://10.0.0.5:2376", "SkipTLSVerify": false}}}
//
// Other endpoints (a context's former "kubernetes" endpoint) are ignored;
// a context without a docker endpoint is an error.
func parseContextMeta(b []byte) (contextMeta, error) {
	var doc struct {
		Name      string                     `json:"Name"`
		Endpoints map[string]json.RawMessage `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return contextMeta{}, fmt.Errorf("meta.json: %w", err)
	}
	if doc.Name == "" {
		return contextMeta{}, errors.New("meta.json: no context name")
	}
	raw, ok := doc.Endpoints[dockerEndpoint]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return contextMeta{}, fmt.Errorf("context %q: no docker endpoint", doc.Name)
	}
	var ep struct {
		Host          string `json:"Host"`
		SkipTLSVerify bool   `json:"SkipTLSVerify"`
	}
	if err := json.Unmarshal(raw, &ep); err != nil {
		return contextMeta{}, fmt.Errorf("context %q: docker endpoint: %w", doc.Name, err)
	}
	return contextMeta{name: doc.Name, host: ep.Host, skipTLSVerify: ep.SkipTLSVerify}, nil
}

// contextTLS returns the TLS files of the context's docker endpoint, or
// nil when it has none and does not skip verification (plain TCP).
func contextTLS(dir string, m contextMeta) *container.TLSConfig {
	sum := sha256.Sum256([]byte(m.name))
	base := filepath.Join(dir, contextsTLS, hex.EncodeToString(sum[:]), dockerEndpoint)
	file := func(name string) string {
		p := filepath.Join(base, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
		return ""
	}
	t := &container.TLSConfig{CAFile: file("ca.pem"), InsecureSkipVerify: m.skipTLSVerify}
	if cert, key := file("cert.pem"), file("key.pem"); cert != "" && key != "" {
		t.CertFile, t.KeyFile = cert, key
	}
	if t.CAFile == "" && t.CertFile == "" && !t.InsecureSkipVerify {
		return nil
	}
	return t
}

// localSocket reports whether host is a unix socket or named pipe (never
// TLS); empty is the default unix socket.
func localSocket(host string) bool {
	return host == "" || strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://")
}
