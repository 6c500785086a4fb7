package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/imagetest"
	"github.com/minato-ops/minato/internal/registrytest"
	"github.com/minato-ops/minato/inventory"
)

const (
	dgA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dgB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	dgC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	idR = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	idL = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestDecideStatus(t *testing.T) {
	for _, tc := range []struct {
		name           string
		prior, latest  string
		running, local []string
		want           string
	}{
		{"current", "", dgA, []string{idR, dgA}, nil, StatusCurrent},
		{"current by another repository's digest", "", dgA, []string{idR, dgC, dgA}, nil, StatusCurrent},
		{"current by image ID (containerd store)", "", dgA, []string{dgA}, nil, StatusCurrent},
		{"outdated", "", dgB, []string{idR, dgA}, nil, StatusOutdated},
		{"stale-local: the engine has the tag's newest", StatusStaleLocal, dgB, []string{idR, dgA}, []string{idL, dgB}, StatusStaleLocal},
		{"stale-local but the engine's tag is old too", StatusStaleLocal, dgC, []string{idR, dgA}, []string{idL, dgB}, StatusOutdated},
		{"engine tag moved but the registry says current", StatusStaleLocal, dgA, []string{idR, dgA}, []string{idL}, StatusCurrent},
		{"stale-local without the registry", StatusStaleLocal, "", []string{idR, dgA}, []string{idL, dgB}, StatusStaleLocal},
		{"no registry answer", "", "", []string{idR, dgA}, nil, StatusError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideStatus(tc.prior, tc.latest, tc.running, tc.local); got != tc.want {
				t.Errorf("decideStatus = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAskRegistriesShares checks that containers sharing a reference
// share one digest call, and a repository one tag listing, that calls stay
// within the concurrency bound, and that one reference's failure stays
// with its containers.
func TestAskRegistriesShares(t *testing.T) {
	item := func(ref string, prior string, running ...string) *checkItem {
		r, err := ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		it := &checkItem{res: CheckResult{Reference: r, Status: prior, Running: dgA}, running: running}
		if prior == StatusLocal {
			it.res.Running = ""
		}
		return it
	}
	items := []*checkItem{
		item("reg:5000/app:1.0.0", "", idR, dgA),
		item("reg:5000/app:1.0.0", "", idR, dgA),
		item("reg:5000/app:1.1.0", "", idR, dgA),
		item("reg:5000/gone:1", "", idR, dgA),
		item("reg:5000/other:1", "", idR, dgC),
		item("reg:5000/local:1", StatusLocal, idR),
		item("reg:5000/broken:1", StatusError),
	}
	var mu sync.Mutex
	calls := map[string]int{}
	inflight, peak := 0, 0
	enter := func(key string) func() {
		mu.Lock()
		calls[key]++
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return func() { mu.Lock(); inflight--; mu.Unlock() }
	}
	digest := func(_ context.Context, r Reference) (Descriptor, error) {
		defer enter("d " + r.String())()
		switch r.Repository {
		case "gone":
			return Descriptor{}, fmt.Errorf("%s: %w", r, ErrNotFound)
		case "other":
			return Descriptor{Digest: dgB}, nil
		}
		return Descriptor{Digest: dgA}, nil
	}
	tags := func(_ context.Context, r Reference) ([]string, error) {
		defer enter("t " + r.String())()
		if r.Tag != "" || r.Digest != "" {
			t.Errorf("tags asked with a tag or digest: %s", r)
		}
		return []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0", "latest"}, nil
	}
	m, err := parseTagConstraint("^1")
	if err != nil {
		t.Fatal(err)
	}
	askRegistries(context.Background(), 2, items, m, digest, tags)

	wantCalls := map[string]int{
		"d reg:5000/app:1.0.0": 1, "d reg:5000/app:1.1.0": 1, "d reg:5000/gone:1": 1, "d reg:5000/other:1": 1,
		"t reg:5000/app": 1, "t reg:5000/gone": 1, "t reg:5000/other": 1,
	}
	if fmt.Sprint(calls) != fmt.Sprint(wantCalls) {
		t.Errorf("calls %v, want %v", calls, wantCalls)
	}
	if peak > 2 {
		t.Errorf("%d calls at once, want at most 2", peak)
	}
	for i, w := range []struct {
		status string
		newer  []string
	}{
		{StatusCurrent, []string{"1.2.0", "1.1.0"}},
		{StatusCurrent, []string{"1.2.0", "1.1.0"}},
		{StatusCurrent, []string{"1.2.0"}},
		{StatusError, []string{"1.2.0", "1.1.0"}}, // tag "1" is 1.0.0; the tag list still answered
		{StatusOutdated, []string{"1.2.0", "1.1.0"}},
		{StatusLocal, nil},
		{StatusError, nil},
	} {
		r := items[i].res
		if r.Status != w.status || !slices.Equal(r.NewerTags, w.newer) {
			t.Errorf("item %d (%s): status %q newer %q, want %q %q", i, r.Reference, r.Status, r.NewerTags, w.status, w.newer)
		}
	}
	if errs := items[3].errs; len(errs) != 1 || !errors.Is(errs[0], ErrNotFound) {
		t.Errorf("gone: errors %v", errs)
	}
	if items[4].res.Latest != dgB || items[0].res.Latest != dgA {
		t.Errorf("latest digests %q %q", items[4].res.Latest, items[0].res.Latest)
	}
}

func TestCreatedByID(t *testing.T) {
	id := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		image string
		want  bool
	}{
		{id, true},
		{"sha256:0123", true},
		{"0123456789ab", true},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"0123456789a", false}, // shorter than a short ID: a name
		{"0123456789ac", false},
		{"sha256:ff", false},
		{"nginx", false},
		{"fedcba987654", false},
		{"", false},
		{"sha256:", false},
		{"registry.example:5000/app@" + id, false},
	} {
		if got := createdByID(tc.image, id); got != tc.want {
			t.Errorf("createdByID(%q) = %v, want %v", tc.image, got, tc.want)
		}
	}
}

func TestDigestFor(t *testing.T) {
	ref, _ := ParseReference("127.0.0.1:5000/shop/web:1")
	rds := []string{"127.0.0.1:5000/other@" + dgA, "127.0.0.1:5000/shop/web@" + dgB, "nginx@" + dgC}
	if got := digestFor(rds, ref); got != dgB {
		t.Errorf("digestFor = %q, want %q", got, dgB)
	}
	hub, _ := ParseReference("nginx:1.27")
	if got := digestFor(rds, hub); got != dgC {
		t.Errorf("digestFor(nginx) = %q, want %q (familiar RepoDigests normalised)", got, dgC)
	}
	if got := digestFor(nil, ref); got != "" {
		t.Errorf("digestFor(nil) = %q", got)
	}
	if got := digestsOf(rds); !slices.Equal(got, []string{dgA, dgB, dgC}) {
		t.Errorf("digestsOf = %q", got)
	}
}

func TestCheckResultJSON(t *testing.T) {
	ref, _ := ParseReference("nginx:1.27")
	r := CheckResult{Reference: ref, Status: StatusError, Err: fmt.Errorf("x: %w", ErrNotFound), Checked: time.Unix(0, 0).UTC()}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["error"] != "x: image not found" || m["status"] != "error" || m["reference"].(map[string]any)["tag"] != "1.27" {
		t.Errorf("JSON %s", b)
	}
	b, _ = json.Marshal(CheckResult{Status: StatusPinned})
	if strings.Contains(string(b), `"error"`) || strings.Contains(string(b), `"reference"`) {
		t.Errorf("JSON without error or reference: %s", b)
	}
}

func TestCheckInvalidOptions(t *testing.T) {
	cc, err := container.New(container.Config{Host: "tcp://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c, err := New(cc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []CheckOptions{
		{Tags: "^^1"},
		{Concurrency: -1},
		{Selector: inventory.Selector{Names: []string{"a*b"}}},
		{Selector: inventory.Selector{Kind: inventory.KindImage}},
		{Selector: inventory.Selector{Scopes: []string{"web"}}},
	} {
		if _, err := c.Check(context.Background(), o); err == nil {
			t.Errorf("Check(%+v) accepted", o)
		}
	}
}

// checkEnv is a registry on loopback, the engine, and a Client.
type checkEnv struct {
	h   *dockertest.Harness
	reg *registrytest.Registry
	c   *Client
	// auth is the X-Registry-Auth value for the engine's pushes.
	auth string
}

func newCheckEnv(t *testing.T, o registrytest.Options) *checkEnv {
	t.Helper()
	h := dockertest.New(t)
	reg := registrytest.Start(t, o)
	cc, err := container.New(container.Config{Host: h.Host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	// An empty docker config: the Client checks anonymously.
	c, err := New(cc, Config{DockerConfig: t.TempDir(), CertsDir: reg.CertsDir})
	if err != nil {
		t.Fatal(err)
	}
	return &checkEnv{h: h, reg: reg, c: c, auth: reg.AuthHeader()}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomHex(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// ref returns "ADDR/repo:tag" on the env's registry.
func (e *checkEnv) ref(repoTag string) string { return e.reg.Addr + "/" + repoTag }

// build builds a distinct image (its own label) as ref and returns its
// ID; the image is force-removed in t.Cleanup, after the containers the
// test creates later.
func (e *checkEnv) build(t *testing.T, ref string) string {
	t.Helper()
	id := imagetest.Build(t, e.h, ref, imagetest.Options{Labels: map[string]string{"minato.test.variant": randomHex(t)}, Cmd: []string{"sleep", "forever"}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := e.h.Client.ImageRemove(ctx, id, dimage.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Logf("cleanup: remove image %s: %v", id, err)
		}
	})
	return id
}

// tag tags src as ref on the engine.
func (e *checkEnv) tag(t *testing.T, src, ref string) {
	t.Helper()
	if err := e.h.Client.ImageTag(ctxFor(t), src, ref); err != nil {
		t.Fatalf("tag %s %s: %v", src, ref, err)
	}
}

// push pushes ref with the engine and returns the digest it reports.
func (e *checkEnv) push(t *testing.T, ref string) string {
	t.Helper()
	rc, err := e.h.Client.ImagePush(ctxFor(t), ref, dimage.PushOptions{RegistryAuth: e.auth})
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	defer rc.Close()
	var digest string
	err = readStream(rc, func(m streamMessage) {
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	})
	if err != nil || digest == "" {
		t.Fatalf("push %s: digest %q, %v", ref, digest, err)
	}
	return digest
}

// pull pulls ref with the engine.
func (e *checkEnv) pull(t *testing.T, ref string) {
	t.Helper()
	rc, err := e.h.Client.ImagePull(ctxFor(t), ref, dimage.PullOptions{RegistryAuth: e.auth})
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	defer rc.Close()
	if err := readStream(rc, func(streamMessage) {}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
}

// run runs a labelled container of image (sleeping).
func (e *checkEnv) run(t *testing.T, image string) dockertest.Container {
	t.Helper()
	return e.h.Run(t, dockertest.RunOptions{Image: image, Args: []string{"sleep", "forever"}})
}

// deleteManifest deletes repo's manifest digest from the registry.
func (e *checkEnv) deleteManifest(t *testing.T, repo, digest string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, e.reg.URL()+"/v2/"+repo+"/manifests/"+digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.reg.User != "" {
		req.SetBasicAuth(e.reg.User, e.reg.Password)
	}
	resp, err := e.reg.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE %s@%s: %s", repo, digest, resp.Status)
	}
}

// check runs Check on the env's containers (all of the harness's).
func (e *checkEnv) check(t *testing.T, o CheckOptions) map[string]CheckResult {
	t.Helper()
	o.Selector = inventory.Selector{Labels: map[string]string{dockertest.LabelKey: e.h.RunID()}}
	res, err := e.c.Check(ctxFor(t), o)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	out := map[string]CheckResult{}
	for _, r := range res {
		out[r.Container.Name] = r
	}
	return out
}

type streamMessage struct {
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux *struct {
		Digest string `json:"Digest"`
	} `json:"aux"`
}

// readStream reads an engine JSON message stream to its end.
func readStream(r io.Reader, fn func(streamMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		fn(m)
	}
}

// want checks the fields of r that a scenario step fixes.
func want(t *testing.T, step string, r CheckResult, status, running, latest string) {
	t.Helper()
	if r.Status != status || r.Running != running || r.Latest != latest {
		t.Errorf("%s: %s: status %q running %q latest %q (err %v); want %q, %q, %q",
			step, r.Container.Name, r.Status, r.Running, r.Latest, r.Err, status, running, latest)
	}
	if status != StatusError && r.Err != nil {
		t.Errorf("%s: %s: unexpected error %v", step, r.Container.Name, r.Err)
	}
}

// TestCheckRedeploy follows the D01 story on a real registry: current,
// then a new image pushed to the tag (outdated), then pulled without
// recreating the container (stale-local).
func TestCheckRedeploy(t *testing.T) {
	t.Parallel()
	e := newCheckEnv(t, registrytest.Options{})
	ref := e.ref("app:1")
	v1 := e.build(t, ref)
	d1 := e.push(t, ref)
	web := e.run(t, ref)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	r := e.check(t, CheckOptions{Now: func() time.Time { return now }})[web.Name]
	want(t, "pushed", r, StatusCurrent, d1, d1)
	if r.ImageID != v1 || r.Reference.String() != ref || r.Container.ID != web.ID || !r.Checked.Equal(now) || r.Container.Engine != e.c.Host() {
		t.Errorf("pushed: result %+v", r)
	}

	// A new image is pushed to the tag from elsewhere: the engine's tag
	// still names v1.
	v2 := e.build(t, e.ref("app:build2"))
	e.tag(t, v2, ref)
	d2 := e.push(t, ref)
	e.tag(t, v1, ref)
	if d2 == d1 {
		t.Fatal("v2 has v1's digest")
	}
	want(t, "new push", e.check(t, CheckOptions{})[web.Name], StatusOutdated, d1, d2)

	// Pulled, not recreated: the D01 case.
	e.pull(t, ref)
	r = e.check(t, CheckOptions{})[web.Name]
	want(t, "pulled", r, StatusStaleLocal, d1, d2)
	if r.ImageID != v1 {
		t.Errorf("pulled: image ID %s, want the old %s", r.ImageID, v1)
	}

	// A container on the new image is current; stopped ones only with All.
	fresh := e.run(t, ref)
	stopped := e.h.Run(t, dockertest.RunOptions{Image: ref, Args: []string{"sleep", "forever"}, Start: new(bool)})
	got := e.check(t, CheckOptions{})
	want(t, "recreated", got[fresh.Name], StatusCurrent, d2, d2)
	if _, ok := got[stopped.Name]; ok {
		t.Errorf("created container checked without All")
	}
	want(t, "all", e.check(t, CheckOptions{All: true})[stopped.Name], StatusCurrent, d2, d2)
}

// TestCheckKinds covers pinned, local, newer tags and a repository the
// registry no longer has, in one run: each container gets its answer.
func TestCheckKinds(t *testing.T) {
	t.Parallel()
	e := newCheckEnv(t, registrytest.Options{})
	v1 := e.build(t, e.ref("app:1.0.0"))
	d1 := e.push(t, e.ref("app:1.0.0"))
	for _, tg := range []string{"1.2.0", "2.0.0", "1", "latest"} {
		e.tag(t, v1, e.ref("app:"+tg))
		e.push(t, e.ref("app:"+tg))
	}
	e.tag(t, v1, e.ref("ghost:1.0.0"))
	dg := e.push(t, e.ref("ghost:1.0.0"))

	versioned := e.run(t, e.ref("app:1.0.0"))
	twin := e.run(t, e.ref("app:1.0.0"))
	byID := e.run(t, v1)
	byDigest := e.run(t, e.ref("app@"+d1))
	local := e.run(t, e.h.Image(t))
	ghost := e.run(t, e.ref("ghost:1.0.0"))
	e.deleteManifest(t, "ghost", dg)

	got := e.check(t, CheckOptions{Tags: "^1", Concurrency: 2})
	if len(got) != 6 {
		t.Fatalf("%d results, want 6: %v", len(got), got)
	}
	for _, name := range []string{versioned.Name, twin.Name} {
		r := got[name]
		want(t, "versioned", r, StatusCurrent, d1, d1)
		if !slices.Equal(r.NewerTags, []string{"1.2.0"}) {
			t.Errorf("%s: newer tags %q, want [1.2.0]", name, r.NewerTags)
		}
	}
	want(t, "by ID", got[byID.Name], StatusPinned, "", "")
	if r := got[byID.Name]; r.Reference != (Reference{}) || r.ImageID != v1 {
		t.Errorf("by ID: %+v", r)
	}
	want(t, "by digest", got[byDigest.Name], StatusPinned, d1, "")
	want(t, "local", got[local.Name], StatusLocal, "", "")
	r := got[ghost.Name]
	want(t, "ghost", r, StatusError, dg, "")
	if !errors.Is(r.Err, ErrNotFound) {
		t.Errorf("ghost: error %v, want ErrNotFound", r.Err)
	}

	// "newer": same shape only; 2.0.0 is not hidden by a constraint.
	if r := e.check(t, CheckOptions{Tags: TagsNewer})[versioned.Name]; !slices.Equal(r.NewerTags, []string{"2.0.0", "1.2.0"}) {
		t.Errorf("newer: %q", r.NewerTags)
	}
	// Selecting by name picks one container.
	res, err := e.c.Check(ctxFor(t), CheckOptions{Selector: inventory.Selector{Names: []string{local.Name}}})
	if err != nil || len(res) != 1 || res[0].Container.Name != local.Name {
		t.Errorf("by name: %v, %v", res, err)
	}
}
