package image

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry calls made without the engine go through
// github.com/google/go-containerregistry (remote), over one transport per
// registry host:
//
//   - TLS trusts the system roots plus <Config.CertsDir>/<host[:port]>/*.crt,
//     and presents a client certificate from *.cert + *.key there, as
//     dockerd reads certs.d.
//   - Loopback registries (127.0.0.0/8, ::1, localhost) and private
//     RFC 1918 addresses are tried with HTTPS first and, when that fails,
//     with plain HTTP: go-containerregistry's ping does this for every
//     host it considers local (name.Registry.Scheme() == "http"), so a
//     plain-HTTP test registry and a loopback registry with TLS whose CA
//     is in CertsDir both work without marking anything insecure. Other
//     hosts are HTTPS only, as the engine treats them by default.
//   - Every request passes the registry's budget (see ratelimit.go); each
//     non-blob request is bounded by Config.RegistryTimeout, blob
//     transfers of a Copy only by the caller's context (their response
//     headers by RegistryTimeout).

// registries holds the per-registry transports, budgets and cached
// pullers of a Client. It is safe for concurrent use.
type registries struct {
	cfg   Config
	creds credentialStore
	log   *slog.Logger

	mu    sync.Mutex
	hosts map[string]*registryHost
}

// registryHost is the state kept for one registry host.
type registryHost struct {
	budget *budget
	// puller reuses pings and tokens across calls while the credentials
	// stay the same (credFP is a hash of them, never logged).
	puller *remote.Puller
	credFP [32]byte
}

func newRegistries(cfg Config, creds credentialStore, log *slog.Logger) *registries {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &registries{cfg: cfg, creds: creds, log: log, hosts: map[string]*registryHost{}}
}

// host returns the state for host, making its transport on first use.
func (rs *registries) host(host string) (*registryHost, error) {
	host = normalizeRegistry(host)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if h, ok := rs.hosts[host]; ok {
		return h, nil
	}
	tr, err := rs.transport(host)
	if err != nil {
		return nil, err
	}
	h := &registryHost{budget: newBudget(tr, host, rs.cfg.RegistryBudget, rs.cfg.RegistryTimeout)}
	rs.hosts[host] = h
	return h, nil
}

// transport builds the HTTP transport for host with the CAs and client
// certificates of <CertsDir>/<host>.
func (rs *registries) transport(host string) (*http.Transport, error) {
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	tr.ResponseHeaderTimeout = rs.cfg.RegistryTimeout
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	dir := filepath.Join(rs.cfg.CertsDir, host)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("image: registry %s: read certificates in %s: %w", host, dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".crt"):
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("image: registry %s: read CA certificate: %w", host, err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("image: registry %s: %s holds no PEM certificate; put the registry's CA certificate there in PEM form", host, p)
			}
		case strings.HasSuffix(e.Name(), ".cert"):
			keyFile := strings.TrimSuffix(p, ".cert") + ".key"
			cert, err := tls.LoadX509KeyPair(p, keyFile)
			if err != nil {
				return nil, fmt.Errorf("image: registry %s: client certificate %s with key %s: %w; certs.d wants NAME.cert and NAME.key side by side", host, p, keyFile, err)
			}
			tc.Certificates = append(tc.Certificates, cert)
		}
	}
	tr.TLSClientConfig = tc
	return tr, nil
}

// remoteOptions are the go-containerregistry options for calls to h with
// credentials cr. 429 is left to the budget, which honours Retry-After.
func remoteOptions(h *registryHost, cr Credentials) []remote.Option {
	return []remote.Option{
		remote.WithTransport(h.budget),
		remote.WithAuth(authenticator(cr)),
		remote.WithUserAgent("minato"),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
}

func authenticator(cr Credentials) authn.Authenticator {
	if cr.anonymous() {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: cr.Username, Password: cr.Password,
		IdentityToken: cr.IdentityToken, RegistryToken: cr.RegistryToken})
}

func credFingerprint(cr Credentials) [32]byte {
	return sha256.Sum256([]byte(cr.Username + "\x00" + cr.Password + "\x00" + cr.IdentityToken + "\x00" + cr.RegistryToken))
}

// puller returns the cached puller of host for the current credentials.
func (rs *registries) puller(ctx context.Context, host string) (*remote.Puller, bool, error) {
	h, err := rs.host(host)
	if err != nil {
		return nil, false, err
	}
	cr, err := rs.lookup(ctx, host)
	if err != nil {
		return nil, false, err
	}
	fp := credFingerprint(cr)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if h.puller == nil || h.credFP != fp {
		p, err := remote.NewPuller(remoteOptions(h, cr)...)
		if err != nil {
			return nil, false, fmt.Errorf("image: registry %s: %w", host, err)
		}
		h.puller, h.credFP = p, fp
	}
	return h.puller, cr.anonymous(), nil
}

func (rs *registries) lookup(ctx context.Context, host string) (Credentials, error) {
	if rs.creds == nil {
		return Credentials{}, nil
	}
	return rs.creds.Lookup(ctx, normalizeRegistry(host))
}

// stats returns the counters of host (zero when never called).
func (rs *registries) stats(host string) RegistryStats {
	rs.mu.Lock()
	h, ok := rs.hosts[normalizeRegistry(host)]
	rs.mu.Unlock()
	if !ok {
		return RegistryStats{}
	}
	return h.budget.Stats()
}

// toName converts r for go-containerregistry: by digest when r has one
// (a digest wins over a tag, as for the engine), else by tag.
func toName(r Reference) (name.Reference, error) {
	if r.Registry == "" || r.Repository == "" {
		return nil, fmt.Errorf("%w: %q: want a parsed reference with a registry and a repository (see ParseReference)", ErrReference, r.String())
	}
	repo := r.Registry + "/" + r.Repository
	if r.Digest != "" {
		d, err := name.NewDigest(repo + "@" + r.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrReference, r, err)
		}
		return d, nil
	}
	tag := r.Tag
	if tag == "" {
		tag = DefaultTag
	}
	t, err := name.NewTag(repo + ":" + tag)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrReference, r, err)
	}
	return t, nil
}

func toRepository(r Reference) (name.Repository, error) {
	if r.Registry == "" || r.Repository == "" {
		return name.Repository{}, fmt.Errorf("%w: %q: want a parsed reference with a registry and a repository (see ParseReference)", ErrReference, r.String())
	}
	repo, err := name.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%w: %s: %v", ErrReference, r.Name(), err)
	}
	return repo, nil
}

// registryError classifies err of an operation on what (a reference or
// repository) at host: 401/403 become an [*AuthError]; 404 and the
// MANIFEST_UNKNOWN / NAME_UNKNOWN codes wrap [ErrNotFound].
func registryError(op, what, host string, anonymous bool, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return fmt.Errorf("image: %s %s: %w", op, what, &AuthError{Registry: normalizeRegistry(host), Anonymous: anonymous, Err: err})
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("image: %s %s: %w: registry %s answered: %w", op, what, ErrNotFound, host, err)
		}
	}
	return fmt.Errorf("image: %s %s at registry %s: %w", op, what, host, err)
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// RemoteDigest returns the descriptor of the manifest (or index) ref names
// in its registry, without the engine and without pulling: one HEAD
// request (after the first call's ping and token), or a GET when the
// registry answers HEAD without Docker-Content-Digest. For a reference
// with a digest it checks that the registry has that digest and returns
// it. A refused login is an [*AuthError] (see [IsAuth]); an unknown tag,
// digest or repository wraps [ErrNotFound] and names ref. Credentials
// come from the Client's credential store for ref.Registry.
func (c *Client) RemoteDigest(ctx context.Context, ref Reference) (Descriptor, error) {
	n, err := toName(ref)
	if err != nil {
		return Descriptor{}, err
	}
	p, anon, err := c.regs.puller(ctx, ref.Registry)
	if err != nil {
		return Descriptor{}, err
	}
	d, err := p.Head(ctx, n)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) || ctx.Err() != nil {
			return Descriptor{}, registryError("digest of", ref.String(), ref.Registry, anon, err)
		}
		// No Docker-Content-Digest (or Content-Type/Length) on HEAD:
		// GET the manifest, whose digest go-containerregistry computes.
		c.log.DebugContext(ctx, "image: HEAD gave no digest, trying GET", "ref", ref.String(), "err", err)
		g, gerr := p.Get(ctx, n)
		if gerr != nil {
			return Descriptor{}, registryError("digest of", ref.String(), ref.Registry, anon, gerr)
		}
		d = &g.Descriptor
	}
	return Descriptor{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size}, nil
}

// RemoteTags returns every tag of repo's repository (repo's tag and digest
// are ignored) in the registry's order (lexical for distribution),
// following pagination: one call per page of up to 1000 tags. A refused
// login is an [*AuthError]; an unknown repository wraps [ErrNotFound].
func (c *Client) RemoteTags(ctx context.Context, repo Reference) ([]string, error) {
	r, err := toRepository(repo)
	if err != nil {
		return nil, err
	}
	p, anon, err := c.regs.puller(ctx, repo.Registry)
	if err != nil {
		return nil, err
	}
	tags, err := p.List(ctx, r)
	if err != nil {
		return nil, registryError("tags of", repo.Name(), repo.Registry, anon, err)
	}
	return tags, nil
}

// CopyOptions are the per-call options of [Client.Copy].
type CopyOptions struct {
	// Progress, when set, receives per-layer steps: "pushing" (Current and
	// Total bytes, repeatedly), "pushed" when a layer is complete, and
	// "exists" for layers the destination already had (reported when the
	// copy ends). Calls are serialized; Progress must not block for long.
	Progress func(Progress)
}

// Copy copies the manifest src names, and everything it refers to, to dst
// without the engine: an index (multi-platform image) is copied whole,
// with every platform's image, so the digest stays the same. dst's tag
// (or, for a digest-only dst, src's digest, which dst's must equal) is
// set. Layers the destination already has are not sent again. It returns
// the descriptor of what was copied. Credentials for each side come from
// the credential store; errors are classified as for [Client.RemoteDigest]
// ([*AuthError] naming the side's registry, [ErrNotFound] for src).
func (c *Client) Copy(ctx context.Context, src, dst Reference, o CopyOptions) (Descriptor, error) {
	sn, err := toName(src)
	if err != nil {
		return Descriptor{}, fmt.Errorf("image: copy source: %w", err)
	}
	dn, err := toName(dst)
	if err != nil {
		return Descriptor{}, fmt.Errorf("image: copy destination: %w", err)
	}
	p, anon, err := c.regs.puller(ctx, src.Registry)
	if err != nil {
		return Descriptor{}, err
	}
	desc, err := p.Get(ctx, sn)
	if err != nil {
		return Descriptor{}, registryError("copy: read", src.String(), src.Registry, anon, err)
	}
	if dst.Digest != "" && dst.Digest != desc.Digest.String() {
		return Descriptor{}, fmt.Errorf("image: copy %s to %s: the source's digest is %s, not the destination's %s; give the destination a tag, or its digest equal to the source's", src, dst, desc.Digest, dst.Digest)
	}

	rep := &copyReporter{f: o.Progress, seen: map[string]int64{}, read: map[string]bool{}}
	var t remote.Taggable = desc
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return Descriptor{}, registryError("copy: read", src.String(), src.Registry, anon, err)
		}
		t = &indexWrap{idx: idx, rep: rep}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return Descriptor{}, registryError("copy: read", src.String(), src.Registry, anon, err)
		}
		t = &imageWrap{Image: img, rep: rep}
	}

	h, err := c.regs.host(dst.Registry)
	if err != nil {
		return Descriptor{}, err
	}
	dcr, err := c.regs.lookup(ctx, dst.Registry)
	if err != nil {
		return Descriptor{}, err
	}
	pusher, err := remote.NewPusher(remoteOptions(h, dcr)...)
	if err != nil {
		return Descriptor{}, fmt.Errorf("image: registry %s: %w", dst.Registry, err)
	}
	if err := pusher.Push(ctx, dn, t); err != nil {
		// A read error of the source surfaces here too (lazy layers);
		// name the registry whose answer it is.
		side, host, a := "write", dst.Registry, dcr.anonymous()
		var te *transport.Error
		if errors.As(err, &te) && te.Request != nil && te.Request.URL != nil && !sameRegistry(te.Request.URL.Host, dst.Registry) && sameRegistry(te.Request.URL.Host, src.Registry) {
			side, host, a = "read", src.Registry, anon
		}
		return Descriptor{}, registryError("copy: "+side, src.String()+" to "+dst.String(), host, a, err)
	}
	rep.finish()
	return Descriptor{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: desc.Size}, nil
}

// sameRegistry compares a URL host with a registry host, Docker Hub's
// names included.
func sameRegistry(urlHost, registry string) bool {
	if urlHost == registry {
		return true
	}
	return isDockerHub(urlHost) && isDockerHub(registry)
}

// RegistryStats returns the call counters of registry host ("docker.io",
// "registry.example:5000") since the Client was made; zero when minato
// never called it. It never blocks on registry calls in flight.
func (c *Client) RegistryStats(host string) RegistryStats {
	return c.regs.stats(host)
}

// copyReporter turns layer reads during a push into Progress steps.
type copyReporter struct {
	f    func(Progress)
	mu   sync.Mutex
	seen map[string]int64 // layer ID -> size, every layer of the copy
	read map[string]bool  // layer IDs whose content was read (sent)
}

func (r *copyReporter) emit(p Progress) {
	if r.f == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f(p)
}

func (r *copyReporter) saw(id string, size int64) {
	r.mu.Lock()
	r.seen[id] = size
	r.mu.Unlock()
}

func (r *copyReporter) reading(id string) {
	r.mu.Lock()
	r.read[id] = true
	r.mu.Unlock()
}

// finish reports "exists" for every layer that was never read.
func (r *copyReporter) finish() {
	r.mu.Lock()
	var ids []string
	for id := range r.seen {
		if !r.read[id] {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.emit(Progress{Layer: id, Action: "exists"})
	}
}

func shortHash(h v1.Hash) string { return shortID(h.Hex) }

// indexWrap and imageWrap hand out layers that report their reads.
type indexWrap struct {
	idx v1.ImageIndex
	rep *copyReporter
}

func (w *indexWrap) MediaType() (types.MediaType, error)       { return w.idx.MediaType() }
func (w *indexWrap) Digest() (v1.Hash, error)                  { return w.idx.Digest() }
func (w *indexWrap) Size() (int64, error)                      { return w.idx.Size() }
func (w *indexWrap) IndexManifest() (*v1.IndexManifest, error) { return w.idx.IndexManifest() }
func (w *indexWrap) RawManifest() ([]byte, error)              { return w.idx.RawManifest() }

func (w *indexWrap) Image(h v1.Hash) (v1.Image, error) {
	img, err := w.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return &imageWrap{Image: img, rep: w.rep}, nil
}

func (w *indexWrap) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := w.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &indexWrap{idx: idx, rep: w.rep}, nil
}

type imageWrap struct {
	v1.Image
	rep *copyReporter
}

func (w *imageWrap) Layers() ([]v1.Layer, error) {
	ls, err := w.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		lw := &layerWrap{Layer: l, rep: w.rep}
		if d, err := l.Digest(); err == nil {
			lw.id = shortHash(d)
			size, _ := l.Size()
			lw.size = size
			w.rep.saw(lw.id, size)
		}
		out[i] = lw
	}
	return out, nil
}

type layerWrap struct {
	v1.Layer
	rep  *copyReporter
	id   string
	size int64
}

// Compressed is called by the pusher only for a layer the destination
// does not have: report it as being pushed.
func (l *layerWrap) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	l.rep.reading(l.id)
	l.rep.emit(Progress{Layer: l.id, Action: "pushing", Total: l.size})
	return &progressReader{ReadCloser: rc, l: l}, nil
}

// progressReader reports "pushing" about every MiB and "pushed" at EOF.
type progressReader struct {
	io.ReadCloser
	l        *layerWrap
	n, last  int64
	reported bool
}

const progressStep = 1 << 20

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.n += int64(n)
	if p.n-p.last >= progressStep {
		p.last = p.n
		p.l.rep.emit(Progress{Layer: p.l.id, Action: "pushing", Current: p.n, Total: p.l.size})
	}
	if err == io.EOF && !p.reported {
		p.reported = true
		p.l.rep.emit(Progress{Layer: p.l.id, Action: "pushed", Current: p.n, Total: p.l.size})
	}
	return n, err
}
