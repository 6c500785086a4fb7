package image

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

// DefaultCheckConcurrency is how many engine or registry calls [Client.Check]
// makes at once when CheckOptions.Concurrency is 0.
const DefaultCheckConcurrency = 4

// Statuses of a [CheckResult].
const (
	// StatusCurrent: the container runs the image its tag names in the
	// registry now.
	StatusCurrent = "current"
	// StatusOutdated: the tag names other content in the registry than
	// the container runs (Latest != Running): pull the tag and recreate
	// the container.
	StatusOutdated = "outdated"
	// StatusStaleLocal: the engine already has the tag's newest image, but
	// the container still runs an older image ID: a redeploy (or a pull)
	// happened and the container was not recreated. Found on the engine
	// alone, so it is reported even when the registry cannot be asked.
	StatusStaleLocal = "stale-local"
	// StatusLocal: the container's image has no digest for its repository
	// (built here, or tagged here and never pushed or pulled): there is
	// nothing in a registry to compare it with.
	StatusLocal = "local"
	// StatusPinned: the container was created by image ID or by digest;
	// it cannot fall behind a tag.
	StatusPinned = "pinned"
	// StatusError: the question could not be answered; see Err.
	StatusError = "error"
)

// CheckOptions selects the containers [Client.Check] looks at and tunes it.
// The zero value checks every running container, without tag search.
type CheckOptions struct {
	// Selector picks the containers (IDs, names, labels, states); the zero
	// Selector picks all. Its Kind must be "" or "container", and it may not
	// name scopes (resolve them to names or labels first).
	Selector inventory.Selector `json:"selector,omitzero"`
	// All includes containers that are not running (created, exited,
	// dead). Without it, and without Selector.States, only live
	// containers are checked: running, paused or restarting, as docker ps
	// lists them. Selector.States, when set, decides instead of All.
	All bool `json:"all,omitempty"`
	// Tags asks for newer tags of each container's repository: "" (no tag
	// search), "newer" ([TagsNewer]: any higher version spelt like the
	// container's tag) or a semver constraint ("^1", ">=1.4 <2"). See
	// [NewerTags]. It costs one tag listing per distinct repository.
	Tags string `json:"tags,omitempty"`
	// Concurrency is how many engine or registry calls are made at once;
	// 0 means DefaultCheckConcurrency (4).
	Concurrency int `json:"concurrency,omitempty"`
	// Now is the clock for CheckResult.Checked; default time.Now.
	Now func() time.Time `json:"-"`
}

// CheckResult is what [Client.Check] found for one container.
type CheckResult struct {
	// Container is the container checked.
	Container inventory.Target `json:"container"`
	// Reference is the image reference the container was created with,
	// normalised ("docker.io/library/nginx:1.27"); zero when it was
	// created by image ID.
	Reference Reference `json:"reference,omitzero"`
	// ImageID is the ID of the image the container runs ("sha256:…").
	ImageID string `json:"image_id"`
	// Running is the registry digest of the image the container runs, for
	// Reference's repository, from the image's RepoDigests; "" when the
	// image has none for that repository (Status "local").
	Running string `json:"running,omitempty"`
	// Latest is the digest the tag names in the registry now; "" when
	// the registry was not asked (local, pinned) or did not answer.
	Latest string `json:"latest,omitempty"`
	// Status is StatusCurrent, StatusOutdated, StatusStaleLocal,
	// StatusLocal, StatusPinned or StatusError.
	Status string `json:"status"`
	// Err says what went wrong for this container: an [*AuthError] (see
	// [IsAuth]), an error wrapping [ErrNotFound] (the registry has no such
	// tag or repository), a registry's budget or network error, an
	// inspection that failed. It is always set when Status is StatusError,
	// and may be set with another Status when only part of the check
	// failed: the tag search, or the registry when the engine alone showed
	// StatusStaleLocal. JSON carries its text as "error".
	Err error `json:"-"`
	// NewerTags are the repository's tags that are newer versions than the
	// container's tag and match CheckOptions.Tags, the highest first.
	NewerTags []string `json:"newer_tags,omitempty"`
	// Checked is when the status was decided (the end of the Check run,
	// by CheckOptions.Now).
	Checked time.Time `json:"checked"`
}

// MarshalJSON encodes r with Err as its text under "error".
func (r CheckResult) MarshalJSON() ([]byte, error) {
	type plain CheckResult
	var msg string
	if r.Err != nil {
		msg = r.Err.Error()
	}
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(r), msg})
}

// checkItem is one container on its way to a CheckResult.
type checkItem struct {
	res  CheckResult
	errs []error
	// pinned: created by image ID or digest.
	pinned bool
	// running are the digests that name the content the container runs:
	// its image's RepoDigests (every repository) and its ID.
	running []string
	// localDigests name the image the engine's tag names, when that is not
	// the image the container runs.
	localDigests []string
}

// Check reports, for each selected container, whether it runs the image
// its tag names now (the Container Service FAQ's D01: did the redeploy
// take effect?), and, with o.Tags, which newer version tags exist. It
// never pulls and changes nothing.
//
// On the engine it lists and inspects the containers and inspects their
// images and the images their tags name locally; in registries it makes
// one [Client.RemoteDigest] call (a manifest HEAD) per distinct reference
// (containers created from the same reference share it; pinned and local
// ones need none) and, with o.Tags, one [Client.RemoteTags] listing per
// distinct repository whose container's tag is a version. At most
// o.Concurrency calls run at once, and registry calls count against the
// per-registry budget (Config.RegistryBudget).
//
// The running image's digest is taken from its RepoDigests, which hold
// the digest the engine pulled or pushed: for a multi-arch tag that is
// the index's digest when the tag was pulled, and the registry's HEAD
// answers the index's digest too, so they compare equal. Running is
// compared with every RepoDigests entry of the image (any repository:
// digests name content) and with the image ID (the engine's containerd
// image store uses the index or manifest digest as the ID). An image that
// arrived by its platform manifest's digest while the tag now names an
// index holding that same manifest reports StatusOutdated, as the index's
// children are not fetched; pulling the tag records the index's digest,
// after which it reports current.
//
// Per-container failures (registry refusals, unknown tags, budget waits
// cut short by ctx, a failed inspection) are in CheckResult.Err and do not
// stop the others. The error return is for a Check that could not start:
// invalid options (a bad Selector, Tags constraint or Concurrency) or a
// container listing that failed. Results are sorted by container name,
// then ID.
func (c *Client) Check(ctx context.Context, o CheckOptions) ([]CheckResult, error) {
	matcher, err := parseTagConstraint(o.Tags)
	if err != nil {
		return nil, fmt.Errorf("image: check: %w", err)
	}
	if o.Concurrency < 0 {
		return nil, fmt.Errorf("image: check: concurrency %d: want a positive number of calls at once, or 0 for %d", o.Concurrency, DefaultCheckConcurrency)
	}
	if err := validateSelector(o.Selector); err != nil {
		return nil, fmt.Errorf("image: check: %w", err)
	}
	n := cmp.Or(o.Concurrency, DefaultCheckConcurrency)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	c.ready(ctx)
	listed, err := c.cc.Select(ctx, o.Selector)
	if err != nil {
		return nil, fmt.Errorf("image: check: list containers: %w", err)
	}
	var todo []container.Summary
	for _, s := range listed {
		if len(o.Selector.States) > 0 || o.All || live(s.State) {
			todo = append(todo, s)
		}
	}
	items := c.inspectContainers(ctx, n, todo)
	c.inspectImages(ctx, n, items)
	askRegistries(ctx, n, items, matcher, c.RemoteDigest, c.RemoteTags)

	out := make([]CheckResult, 0, len(items))
	for _, it := range items {
		it.res.Err = joinErrs(it.errs)
		if it.res.Status == "" {
			it.res.Status = StatusError
			if it.res.Err == nil {
				it.res.Err = errors.New("the check did not reach a verdict")
			}
		}
		it.res.Checked = now()
		out = append(out, it.res)
	}
	slices.SortFunc(out, func(a, b CheckResult) int {
		return cmp.Or(strings.Compare(a.Container.Name, b.Container.Name), strings.Compare(a.Container.ID, b.Container.ID))
	})
	return out, nil
}

// validateSelector refuses a Selector Check cannot apply.
func validateSelector(sel inventory.Selector) error {
	switch {
	case sel.Kind != "" && sel.Kind != inventory.KindContainer:
		return fmt.Errorf("selector kind %q: image check selects containers only (kind %q or none)", sel.Kind, inventory.KindContainer)
	case len(sel.Scopes) > 0:
		return fmt.Errorf("select %s: %w (resolve the scopes to names or labels first)", sel, inventory.ErrScopes)
	}
	if err := sel.Validate(); err != nil {
		return fmt.Errorf("selector %s: %w", sel, err)
	}
	return nil
}

// live says whether docker ps lists a container in this state without -a.
func live(s container.State) bool {
	return s == container.Running || s == container.Paused || s == container.Restarting
}

// forEach calls fn for each element of xs, at most n at once, and waits
// for all of them.
func forEach[T any](n int, xs []T, fn func(T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, x := range xs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(x)
		}()
	}
	wg.Wait()
}

// inspectContainers inspects the containers, n at once, and reads the
// reference each was created with (the listing's Image shows the image ID
// instead once the tag names another image, exactly the case of interest).
// Containers removed meanwhile are left out.
func (c *Client) inspectContainers(ctx context.Context, n int, cs []container.Summary) []*checkItem {
	items := make([]*checkItem, len(cs))
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	forEach(n, idx, func(i int) {
		s := cs[i]
		it := &checkItem{res: CheckResult{Container: s.Target(c.Host()), ImageID: s.ImageID}}
		ins, err := c.cc.Inspect(ctx, s.ID, container.InspectOptions{})
		switch {
		case container.IsNotFound(err):
			return
		case err != nil:
			it.errs = append(it.errs, fmt.Errorf("inspect container %s: %w", s.Name, err))
			it.res.Status = StatusError
		default:
			it.res.Container = ins.Target(c.Host())
			it.res.ImageID = ins.ImageID
			c.readReference(it, ins.Image)
		}
		items[i] = it
	})
	return slices.DeleteFunc(items, func(it *checkItem) bool { return it == nil })
}

// readReference sets the item's Reference from the container's configured
// image, or marks it pinned (by ID or digest) or failed.
func (c *Client) readReference(it *checkItem, image string) {
	if createdByID(image, it.res.ImageID) {
		it.pinned = true
		return
	}
	ref, err := ParseReference(image)
	if err != nil {
		it.errs = append(it.errs, fmt.Errorf("container %s: image %w", it.res.Container.Name, err))
		it.res.Status = StatusError
		return
	}
	it.res.Reference = ref
	it.pinned = ref.Digest != ""
}

// createdByID says whether image, the reference a container was created
// with, is the ID of its image rather than a name: "sha256:<hex>", or a
// hexadecimal prefix of the ID of at least 12 digits (docker's short ID).
func createdByID(image, imageID string) bool {
	hex, hasAlgo := strings.CutPrefix(image, "sha256:")
	if hex == "" || strings.Trim(hex, "0123456789abcdef") != "" {
		return false
	}
	if !hasAlgo && len(hex) < inventory.ShortIDLen {
		return false
	}
	return strings.HasPrefix(strings.TrimPrefix(imageID, "sha256:"), hex)
}

// localImage is what the engine says about one image.
type localImage struct {
	id      string
	digests []string // RepoDigests, as references
	err     error    // nil, or not a not-found
}

// inspectImages inspects the images the containers run and the ones their
// tags name on the engine (each once, n at once), fills Running, and
// decides the statuses that need no registry: pinned, local, and
// stale-local (kept, but refined by the registry's answer when there is
// one).
func (c *Client) inspectImages(ctx context.Context, n int, items []*checkItem) {
	keys := map[string]bool{}
	for _, it := range items {
		if it.res.Status != "" {
			continue
		}
		if it.res.ImageID != "" {
			keys[it.res.ImageID] = true
		}
		if !it.pinned && it.res.Reference.Tag != "" {
			keys[it.res.Reference.String()] = true
		}
	}
	imgs := make(map[string]*localImage, len(keys))
	var mu sync.Mutex
	forEach(n, sortedKeys(keys), func(k string) {
		li := &localImage{}
		r, err := c.api.ImageInspect(ctx, k)
		switch {
		case cerrdefs.IsNotFound(err):
		case err != nil:
			li.err = fmt.Errorf("inspect image %s: %w", k, err)
		default:
			li.id, li.digests = r.ID, r.RepoDigests
		}
		mu.Lock()
		imgs[k] = li
		mu.Unlock()
	})
	for _, it := range items {
		if it.res.Status != "" {
			continue
		}
		run := imgs[it.res.ImageID]
		if run == nil || run.id == "" {
			err := fmt.Errorf("image %s of container %s is gone from the engine", it.res.ImageID, it.res.Container.Name)
			if run != nil && run.err != nil {
				err = run.err
			}
			it.errs = append(it.errs, err)
			it.res.Status = StatusError
			continue
		}
		it.running = append([]string{run.id}, digestsOf(run.digests)...)
		it.res.Running = digestFor(run.digests, it.res.Reference)
		if it.pinned {
			if it.res.Reference.Digest != "" {
				it.res.Running = it.res.Reference.Digest
			}
			it.res.Status = StatusPinned
			continue
		}
		tag := imgs[it.res.Reference.String()]
		if tag != nil && tag.err != nil {
			it.errs = append(it.errs, tag.err)
		}
		if tag != nil && tag.id != "" && tag.id != run.id {
			// The engine's tag names another image than the container runs.
			it.res.Status = StatusStaleLocal
			it.localDigests = append([]string{tag.id}, digestsOf(tag.digests)...)
		}
		if it.res.Running == "" && it.res.Status == "" {
			it.res.Status = StatusLocal
		}
	}
}

// remoteAnswer is a registry's answer for one reference or repository.
type remoteAnswer struct {
	digest string
	tags   []string
	err    error
}

// askRegistries asks digest for the digest of each distinct reference
// that needs it, and tags for the tags of each distinct repository when m
// is set, n calls at once, then decides the remaining statuses.
func askRegistries(ctx context.Context, n int, items []*checkItem, m *tagMatcher,
	digest func(context.Context, Reference) (Descriptor, error), tags func(context.Context, Reference) ([]string, error)) {
	type call struct {
		key  string
		ref  Reference
		tags bool
	}
	var calls []call
	seen := map[string]bool{}
	for _, it := range items {
		ref := it.res.Reference
		if needsDigest(it) && !seen["d "+ref.String()] {
			seen["d "+ref.String()] = true
			calls = append(calls, call{key: "d " + ref.String(), ref: ref})
		}
		if needsTags(it, m) && !seen["t "+ref.Name()] {
			seen["t "+ref.Name()] = true
			calls = append(calls, call{key: "t " + ref.Name(), ref: Reference{Registry: ref.Registry, Repository: ref.Repository}, tags: true})
		}
	}
	answers := make(map[string]*remoteAnswer, len(calls))
	var mu sync.Mutex
	forEach(n, calls, func(cl call) {
		a := &remoteAnswer{}
		if cl.tags {
			a.tags, a.err = tags(ctx, cl.ref)
			if a.err != nil {
				a.err = fmt.Errorf("tag list of %s: %w", cl.ref.Name(), a.err)
			}
		} else {
			var d Descriptor
			d, a.err = digest(ctx, cl.ref)
			a.digest = d.Digest
		}
		mu.Lock()
		answers[cl.key] = a
		mu.Unlock()
	})
	for _, it := range items {
		ref := it.res.Reference
		if a := answers["t "+ref.Name()]; a != nil && needsTags(it, m) {
			if a.err != nil {
				it.errs = append(it.errs, a.err)
			} else {
				it.res.NewerTags = m.newer(ref.Tag, a.tags)
			}
		}
		a := answers["d "+ref.String()]
		if a == nil || !needsDigest(it) {
			continue
		}
		if a.err != nil {
			it.errs = append(it.errs, a.err)
		}
		it.res.Latest = a.digest
		it.res.Status = decideStatus(it.res.Status, a.digest, it.running, it.localDigests)
	}
}

// needsDigest says whether the registry is asked for the item's tag: not
// when the status is settled without it (error, pinned, local).
func needsDigest(it *checkItem) bool {
	s := it.res.Status
	return (s == "" || s == StatusStaleLocal) && it.res.Running != "" && it.res.Reference.Tag != ""
}

// needsTags says whether the item's repository's tags are listed: with a
// constraint, for a tag that is a version, when the repository is in a
// registry.
func needsTags(it *checkItem, m *tagMatcher) bool {
	s := it.res.Status
	return m != nil && s != StatusError && s != StatusLocal && it.res.Reference.Repository != "" && parseTagVersion(it.res.Reference.Tag) != nil
}

// decideStatus settles a container's status from the registry's answer:
// prior is "" or StatusStaleLocal (the engine's tag names another image
// than the container runs); latest the tag's digest in the registry (""
// when it did not answer); running the digests naming the content the
// container runs; local the digests naming the image the tag names on
// the engine (when it differs). The registry is the reference when it
// answers.
func decideStatus(prior, latest string, running, local []string) string {
	switch {
	case latest == "" && prior == StatusStaleLocal:
		return StatusStaleLocal
	case latest == "":
		return StatusError
	case slices.Contains(running, latest):
		return StatusCurrent
	case prior == StatusStaleLocal && slices.Contains(local, latest):
		return StatusStaleLocal
	default:
		return StatusOutdated
	}
}

// digestsOf returns the digests of RepoDigests entries ("repo@sha256:…").
func digestsOf(repoDigests []string) []string {
	var out []string
	for _, rd := range repoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok && d != "" {
			out = append(out, d)
		}
	}
	return out
}

// digestFor returns the digest RepoDigests hold for ref's repository, ""
// when none.
func digestFor(repoDigests []string, ref Reference) string {
	for _, rd := range repoDigests {
		r, err := ParseReference(rd)
		if err == nil && r.Digest != "" && r.Name() == ref.Name() {
			return r.Digest
		}
	}
	return ""
}

// joinErrs returns nil, the only error, or all of them joined.
func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
