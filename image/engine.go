package image

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// dockerHubAuthServer is the ServerAddress the engine expects in the
// credentials for Docker Hub, as the docker CLI sends it.
const dockerHubAuthServer = "https://index.docker.io/v1/"

// Image is a local image as the engine describes it.
type Image struct {
	// ID is the image ID ("sha256:<64 hex>").
	ID string `json:"id"`
	// Tags are the engine's RepoTags, in the engine's (familiar) form:
	// "nginx:latest" for Docker Hub's library images,
	// "127.0.0.1:5000/shop/web:1.4" for others. Empty for an untagged
	// image. Normalise one with [ParseReference] when needed.
	Tags []string `json:"tags,omitempty"`
	// Digests are the engine's RepoDigests ("nginx@sha256:…"): the
	// registry digests this image was pulled by or pushed as.
	Digests []string `json:"digests,omitempty"`
	// Created is when the image was built (whole seconds in List results).
	Created time.Time `json:"created"`
	// Size is the image's size in bytes, layers shared with other images
	// included.
	Size int64 `json:"size"`
	// Labels are the image's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Containers is how many containers use the image; -1 when the engine
	// did not count them (Inspect; List counts them itself when the engine
	// does not).
	Containers int `json:"containers"`
	// Config holds the defaults a container gets from the image. Empty in
	// List results: use Inspect.
	Config ImageConfig `json:"config"`
	// Architecture and OS are the image's platform ("amd64", "linux").
	// Empty in List results.
	Architecture string `json:"architecture,omitempty"`
	OS           string `json:"os,omitempty"`
}

// ImageConfig is what a container gets from its image unless the user
// says otherwise: the defaults recorded in the image.
type ImageConfig struct {
	// Env is the environment, "KEY=value" entries in image order.
	Env []string `json:"env,omitempty"`
	// Cmd and Entrypoint are the default command and entrypoint.
	Cmd        []string `json:"cmd,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	// WorkingDir, User and StopSignal are "" when the image sets none.
	WorkingDir string `json:"working_dir,omitempty"`
	User       string `json:"user,omitempty"`
	StopSignal string `json:"stop_signal,omitempty"`
	// Labels are the image's labels (the same as Image.Labels).
	Labels map[string]string `json:"labels,omitempty"`
	// ExposedPorts are "PORT/PROTO" entries ("80/tcp"), sorted.
	ExposedPorts []string `json:"exposed_ports,omitempty"`
	// Volumes are the declared volume paths, sorted.
	Volumes []string `json:"volumes,omitempty"`
	// Healthcheck is the image's HEALTHCHECK; nil when it declares none.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
}

// Healthcheck is an image's (or container's) health check.
type Healthcheck struct {
	// Test is the check: ["CMD", args...], ["CMD-SHELL", command], or
	// ["NONE"] (checks disabled).
	Test []string `json:"test,omitempty"`
	// Interval, Timeout and StartPeriod are 0 when not set (the engine's
	// defaults apply: 30 s, 30 s, 0).
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	StartPeriod time.Duration `json:"start_period,omitempty"`
	// Retries is the number of consecutive failures that make a container
	// unhealthy; 0 when not set (the engine's default: 3).
	Retries int `json:"retries,omitempty"`
}

// PullOptions are the options of [Client.Pull].
type PullOptions struct {
	// Platform asks for one platform of a multi-platform image
	// ("linux/arm64"); "" means the engine's own.
	Platform string
	// Progress, when set, is called for every progress message of the
	// pull, in order, in the goroutine that called Pull; it must return
	// promptly (the engine's stream waits for it).
	Progress func(Progress)
}

// PullResult is what a pull did.
type PullResult struct {
	// Ref is the reference pulled, normalised.
	Ref Reference `json:"ref"`
	// ID is the local image ID after the pull.
	ID string `json:"id"`
	// Digest is the registry's manifest digest for Ref ("sha256:…"), as
	// the engine reports it ("Digest:" message, else the image's
	// RepoDigests); "" if the engine reported none.
	Digest string `json:"digest,omitempty"`
	// Downloaded is the number of layer bytes downloaded; 0 when the image
	// was up to date.
	Downloaded int64 `json:"downloaded"`
	// UpToDate says the local image already matched the registry's.
	UpToDate bool `json:"up_to_date"`
}

// Pull pulls ref (parsed with [ParseReference]) into the engine, with the
// registry credentials found for ref's registry, and waits for the pull to
// finish. A bad ref is an error wrapping [ErrReference]. A registry that
// refuses the request gives an error matching [IsAuth] (an [*AuthError]
// naming the registry); a tag, manifest or repository the registry does
// not have gives an error wrapping [ErrNotFound]. Other engine errors
// keep their class (containerd errdefs).
func (c *Client) Pull(ctx context.Context, ref string, o PullOptions) (PullResult, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull: %w", err)
	}
	res := PullResult{Ref: r}
	auth, anon, err := c.registryAuth(ctx, r)
	if err != nil {
		return res, fmt.Errorf("pull %s: %w", r, err)
	}
	c.ready(ctx)
	rc, err := c.api.ImagePull(ctx, r.String(), dimage.PullOptions{RegistryAuth: auth, Platform: o.Platform})
	if err != nil {
		return res, classify("pull", r, anon, err)
	}
	defer rc.Close()
	var t pullTally
	err = decodeStream(rc, func(m *jsonMessage) error {
		t.add(m)
		if o.Progress != nil {
			if p, ok := toProgress(m); ok {
				o.Progress(p)
			}
		}
		return nil
	})
	if err != nil {
		return res, classify("pull", r, anon, err)
	}
	res.Digest, res.UpToDate = t.digest, t.upToDate
	if !t.upToDate {
		res.Downloaded = t.downloaded()
	}
	in, err := c.api.ImageInspect(ctx, engineRef(r))
	if err != nil {
		return res, fmt.Errorf("pull %s: the pull finished but inspecting the image failed: %w", r, err)
	}
	res.ID = in.ID
	if res.Digest == "" {
		res.Digest = repoDigest(in.RepoDigests, r)
	}
	return res, nil
}

// PushOptions are the options of [Client.Push].
type PushOptions struct {
	// Progress, when set, is called for every progress message of the
	// push, in order, in the goroutine that called Push; it must return
	// promptly.
	Progress func(Progress)
}

// PushResult is what a push did.
type PushResult struct {
	// Ref is the reference pushed, normalised.
	Ref Reference `json:"ref"`
	// Digest is the manifest digest the registry stored ("sha256:…").
	Digest string `json:"digest,omitempty"`
	// Size is the manifest's size in bytes, as the engine reports it.
	Size int64 `json:"size,omitempty"`
}

// Push pushes the local image ref (parsed with [ParseReference]; a tag is
// required, "latest" when none is given, and a digest is refused) to its
// registry with the credentials found for that registry, and waits for
// the push to finish. ref must name a local image: otherwise the error
// wraps [ErrNotFound] and says to tag or build it first. Registry
// refusals give an error matching [IsAuth]; other engine errors keep
// their class.
func (c *Client) Push(ctx context.Context, ref string, o PushOptions) (PushResult, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	res := PushResult{Ref: r}
	if r.Digest != "" {
		return res, fmt.Errorf("push: %w %q: a pushed reference names a tag, not a digest (the registry computes the digest)", ErrReference, ref)
	}
	c.ready(ctx)
	if _, err := c.api.ImageInspect(ctx, engineRef(r)); err != nil {
		if cerrdefs.IsNotFound(err) {
			return res, fmt.Errorf("push %s: no local image has this reference: tag an image with it (Tag) or build it first: %w: %w", r, ErrNotFound, err)
		}
		return res, fmt.Errorf("push %s: inspect the local image: %w", r, err)
	}
	auth, anon, err := c.registryAuth(ctx, r)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", r, err)
	}
	rc, err := c.api.ImagePush(ctx, engineRef(r), dimage.PushOptions{RegistryAuth: auth})
	if err != nil {
		return res, classify("push", r, anon, err)
	}
	defer rc.Close()
	var t pushTally
	err = decodeStream(rc, func(m *jsonMessage) error {
		t.add(m)
		if o.Progress != nil {
			if p, ok := toProgress(m); ok {
				o.Progress(p)
			}
		}
		return nil
	})
	if err != nil {
		return res, classify("push", r, anon, err)
	}
	res.Digest, res.Size = t.digest, t.size
	return res, nil
}

// Tag gives the local image source (an image ID, or a reference as the
// engine resolves it) the reference target, parsed and normalised with
// [ParseReference] ("latest" when no tag is given; a digest is refused).
// An existing target tag moves to source. A missing source is an error
// wrapping [ErrNotFound].
func (c *Client) Tag(ctx context.Context, source, target string) error {
	src := strings.TrimSpace(source)
	if src == "" {
		return errors.New("tag: the source image is empty: want an image ID or reference")
	}
	t, err := ParseReference(target)
	if err != nil {
		return fmt.Errorf("tag %s: target: %w", src, err)
	}
	if t.Digest != "" {
		return fmt.Errorf("tag %s: target: %w %q: a tag target is REPOSITORY[:TAG], without a digest", src, ErrReference, target)
	}
	c.ready(ctx)
	if err := c.api.ImageTag(ctx, src, t.String()); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("tag %s as %s: no such local image: %w: %w", src, t, ErrNotFound, err)
		}
		return fmt.Errorf("tag %s as %s: %w", src, t, err)
	}
	return nil
}

// Inspect returns the local image ref: an image ID (full or short) or a
// reference as the engine resolves it. A missing image is an error
// wrapping [ErrNotFound]. Image.Containers is -1 (not counted).
func (c *Client) Inspect(ctx context.Context, ref string) (Image, error) {
	s := strings.TrimSpace(ref)
	if s == "" {
		return Image{}, errors.New("inspect: the image is empty: want an image ID or reference")
	}
	c.ready(ctx)
	in, err := c.api.ImageInspect(ctx, s)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Image{}, fmt.Errorf("inspect image %s: %w: %w", s, ErrNotFound, err)
		}
		return Image{}, fmt.Errorf("inspect image %s: %w", s, err)
	}
	return imageFromInspect(in), nil
}

// ListOptions select the images [Client.List] returns; the zero value
// selects every tagged and untagged top-level image.
type ListOptions struct {
	// Reference is the engine's reference filter: a glob on
	// REPOSITORY[:TAG] in the familiar form ("shop/*", "web:1.*").
	Reference string
	// Labels keeps images with every label given; an empty value matches
	// any value of that label.
	Labels map[string]string
	// Dangling keeps only untagged images.
	Dangling bool
	// All includes intermediate images (the parents of built images).
	All bool
}

// List returns the local images matching o, newest first (ties by ID).
// Config, Architecture and OS are not filled in: use [Client.Inspect].
func (c *Client) List(ctx context.Context, o ListOptions) ([]Image, error) {
	f := filters.NewArgs()
	if o.Reference != "" {
		f.Add("reference", o.Reference)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
		if k == "" {
			return nil, errors.New("list images: a label filter has an empty key")
		}
		if v := o.Labels[k]; v != "" {
			f.Add("label", k+"="+v)
		} else {
			f.Add("label", k)
		}
	}
	if o.Dangling {
		f.Add("dangling", "true")
	}
	c.ready(ctx)
	sums, err := c.api.ImageList(ctx, dimage.ListOptions{All: o.All, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]Image, 0, len(sums))
	counted := true
	for _, s := range sums {
		im := imageFromSummary(s)
		counted = counted && im.Containers >= 0
		out = append(out, im)
	}
	if !counted && len(out) > 0 {
		// Engines before API 1.44 do not count the containers per image
		// in the list: count them from one container listing.
		if ctrs, err := c.api.ContainerList(ctx, container.ListOptions{All: true}); err == nil {
			use := map[string]int{}
			for _, ct := range ctrs {
				use[ct.ImageID]++
			}
			for i := range out {
				if out[i].Containers < 0 {
					out[i].Containers = use[out[i].ID]
				}
			}
		}
	}
	sortNewest(out)
	return out, nil
}

// RemoveOptions are the options of [Client.Remove].
type RemoveOptions struct {
	// Force removes the image even when containers use it (they keep
	// running on the untagged image) or it has several tags.
	Force bool
	// NoPrune keeps the untagged parent images.
	NoPrune bool
}

// RemoveResult is what a removal did.
type RemoveResult struct {
	// Untagged are the references removed ("web:1", "web@sha256:…").
	Untagged []string `json:"untagged,omitempty"`
	// Deleted are the image IDs deleted (the image and pruned parents).
	Deleted []string `json:"deleted,omitempty"`
}

// Remove removes the local image ref (an ID or a reference). Given a
// reference of an image with other tags, it only untags that reference.
// A missing image is an error wrapping [ErrNotFound]. An image a container
// uses (running or stopped), without Force, is refused with an error that
// names those containers and keeps the engine's conflict class
// (cerrdefs.IsConflict).
func (c *Client) Remove(ctx context.Context, ref string, o RemoveOptions) (RemoveResult, error) {
	s := strings.TrimSpace(ref)
	if s == "" {
		return RemoveResult{}, errors.New("remove: the image is empty: want an image ID or reference")
	}
	c.ready(ctx)
	var users []string
	if !o.Force {
		// Ask first: the engine's refusal names a container ID only, and
		// only sometimes.
		if in, err := c.api.ImageInspect(ctx, s); err == nil {
			users, err = c.containersUsing(ctx, in.ID)
			if err != nil {
				return RemoveResult{}, fmt.Errorf("remove image %s: %w", s, err)
			}
		}
	}
	resp, err := c.api.ImageRemove(ctx, s, dimage.RemoveOptions{Force: o.Force, PruneChildren: !o.NoPrune})
	if err != nil {
		switch {
		case cerrdefs.IsNotFound(err):
			return RemoveResult{}, fmt.Errorf("remove image %s: %w: %w", s, ErrNotFound, err)
		case cerrdefs.IsConflict(err) && len(users) > 0:
			return RemoveResult{}, fmt.Errorf("remove image %s: in use by container %s: remove the container first, or use Force: %w", s, strings.Join(users, ", "), err)
		}
		return RemoveResult{}, fmt.Errorf("remove image %s: %w", s, err)
	}
	var res RemoveResult
	for _, d := range resp {
		if d.Untagged != "" {
			res.Untagged = append(res.Untagged, d.Untagged)
		}
		if d.Deleted != "" {
			res.Deleted = append(res.Deleted, d.Deleted)
		}
	}
	return res, nil
}

// containersUsing names the containers (running or not) whose image is
// id, as "name (state)", sorted.
func (c *Client) containersUsing(ctx context.Context, id string) ([]string, error) {
	byImage, err := c.containersByImage(ctx)
	if err != nil {
		return nil, err
	}
	return byImage[id], nil
}

// containersByImage maps image IDs to the containers using them, each as
// "name (state)", sorted.
func (c *Client) containersByImage(ctx context.Context) (map[string][]string, error) {
	cs, err := c.api.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := map[string][]string{}
	for _, ct := range cs {
		name := shortID(ct.ID)
		if len(ct.Names) > 0 {
			name = strings.TrimPrefix(ct.Names[0], "/")
		}
		out[ct.ImageID] = append(out[ct.ImageID], fmt.Sprintf("%s (%s)", name, ct.State))
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// registryAuth returns the X-Registry-Auth value for r's registry and
// whether no credentials were found. Without credentials it is the
// encoding of empty credentials, which the engine accepts on every API
// version (an absent header makes some refuse a push).
func (c *Client) registryAuth(ctx context.Context, r Reference) (header string, anonymous bool, err error) {
	cr, err := c.creds.Lookup(ctx, r.Registry)
	if err != nil {
		return "", true, fmt.Errorf("registry credentials for %s: %w", r.Registry, err)
	}
	ac := registry.AuthConfig{}
	anonymous = cr.Username == "" && cr.Password == "" && cr.IdentityToken == "" && cr.RegistryToken == ""
	if !anonymous {
		server := r.Registry
		if server == DefaultRegistry {
			server = dockerHubAuthServer
		}
		ac = registry.AuthConfig{Username: cr.Username, Password: cr.Password, IdentityToken: cr.IdentityToken, RegistryToken: cr.RegistryToken, ServerAddress: server}
	}
	h, err := registry.EncodeAuthConfig(ac)
	if err != nil {
		return "", anonymous, fmt.Errorf("encode the credentials for %s: %w", r.Registry, err)
	}
	return h, anonymous, nil
}

var (
	authRE     = regexp.MustCompile(`(?i)unauthori[sz]ed|denied|authentication required|no basic auth credentials|\b40[13]\b|forbidden`)
	notFoundRE = regexp.MustCompile(`(?i)manifest unknown|not found|repository does not exist|name unknown|no such image`)
)

// classify maps an engine error of a pull or push of r to minato's
// classes: registry refusals to *AuthError, missing content to
// ErrNotFound; the engine error stays wrapped either way.
func classify(op string, r Reference, anonymous bool, err error) error {
	msg := err.Error()
	auth, nf := authRE.MatchString(msg), notFoundRE.MatchString(msg)
	switch {
	case auth:
		inner := err
		if nf {
			// Docker Hub says "repository does not exist or may require
			// 'docker login'": either may be true.
			inner = &alsoError{err: err, also: ErrNotFound}
		}
		return fmt.Errorf("%s %s: %w", op, r, &AuthError{Registry: r.Registry, Anonymous: anonymous, Err: inner})
	case nf:
		return fmt.Errorf("%s %s: %w: %w", op, r, ErrNotFound, err)
	}
	return fmt.Errorf("%s %s: %w", op, r, err)
}

// alsoError is err that also matches also with errors.Is, without saying
// so in its message.
type alsoError struct{ err, also error }

func (e *alsoError) Error() string   { return e.err.Error() }
func (e *alsoError) Unwrap() []error { return []error{e.err, e.also} }

// engineRef is r as the engine's image endpoints take it: NAME:TAG, or
// NAME@DIGEST when pinned (the engine does not resolve both at once).
func engineRef(r Reference) string {
	if r.Digest != "" {
		return r.Name() + "@" + r.Digest
	}
	return r.Name() + ":" + r.Tag
}

// repoDigest returns the digest of the RepoDigests entry for r's
// repository, or "".
func repoDigest(digests []string, r Reference) string {
	for _, d := range digests {
		dr, err := ParseReference(d)
		if err == nil && dr.Name() == r.Name() && dr.Digest != "" {
			return dr.Digest
		}
	}
	return ""
}

func imageFromInspect(in dimage.InspectResponse) Image {
	img := Image{
		ID: in.ID, Tags: slices.Clone(in.RepoTags), Digests: slices.Clone(in.RepoDigests),
		Size: in.Size, Containers: -1, Architecture: in.Architecture, OS: in.Os,
	}
	if t, err := time.Parse(time.RFC3339Nano, in.Created); err == nil {
		img.Created = t
	}
	if in.Config != nil {
		img.Config = configFromSpec(in.Config)
		img.Labels = maps.Clone(in.Config.Labels)
	}
	return img
}

func configFromSpec(s *dockerspec.DockerOCIImageConfig) ImageConfig {
	cfg := ImageConfig{
		Env: slices.Clone(s.Env), Cmd: slices.Clone(s.Cmd), Entrypoint: slices.Clone(s.Entrypoint),
		WorkingDir: s.WorkingDir, User: s.User, StopSignal: s.StopSignal,
		Labels:       maps.Clone(s.Labels),
		ExposedPorts: sortedKeys(s.ExposedPorts), Volumes: sortedKeys(s.Volumes),
	}
	if h := s.Healthcheck; h != nil && len(h.Test) > 0 {
		cfg.Healthcheck = &Healthcheck{Test: slices.Clone(h.Test), Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return cfg
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

func imageFromSummary(s dimage.Summary) Image {
	return Image{
		ID: s.ID, Tags: untagged(s.RepoTags), Digests: untagged(s.RepoDigests),
		Created: time.Unix(s.Created, 0), Size: s.Size, Labels: maps.Clone(s.Labels),
		Containers: int(s.Containers),
	}
}

// untagged drops the "<none>:<none>" and "<none>@<none>" placeholders old
// engines list for untagged images.
func untagged(refs []string) []string {
	var out []string
	for _, r := range refs {
		if !strings.HasPrefix(r, "<none>") {
			out = append(out, r)
		}
	}
	return out
}

func sortNewest(imgs []Image) {
	sort.SliceStable(imgs, func(i, j int) bool {
		if !imgs[i].Created.Equal(imgs[j].Created) {
			return imgs[i].Created.After(imgs[j].Created)
		}
		return imgs[i].ID < imgs[j].ID
	})
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
