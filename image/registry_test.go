package image_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dimage "github.com/docker/docker/api/types/image"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/minato-ops/minato/image"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/registrytest"
)

// pushTestImage tags the harness's test image as r.Addr/repo:tag and
// pushes it with the engine (X-Registry-Auth from r), returning the
// digest the push reported. The tag is removed in t.Cleanup.
func pushTestImage(t testing.TB, h *dockertest.Harness, r *registrytest.Registry, repo, tag string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target := r.Addr + "/" + repo + ":" + tag
	if err := h.Client.ImageTag(ctx, h.Image(t), target); err != nil {
		t.Fatalf("tag %s: %v", target, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.Client.ImageRemove(ctx, target, dimage.RemoveOptions{})
	})
	rc, err := h.Client.ImagePush(ctx, target, dimage.PushOptions{RegistryAuth: r.AuthHeader()})
	if err != nil {
		t.Fatalf("push %s: %v", target, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	var digest string
	for {
		var m struct {
			Error string `json:"error"`
			Aux   struct {
				Digest string `json:"Digest"`
			} `json:"aux"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("push %s: read progress: %v", target, err)
		}
		if m.Error != "" {
			t.Fatalf("push %s: %s", target, m.Error)
		}
		if m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	}
	if digest == "" {
		t.Fatalf("push %s: no digest reported", target)
	}
	return digest
}

// setup writes one docker config and one certs.d for several registries;
// password overrides a registry's password (by Addr) to test refusals.
func setup(t testing.TB, password map[string]string, regs ...*registrytest.Registry) (dockerConfig, certsDir string) {
	t.Helper()
	auths := map[string]any{}
	certsDir = t.TempDir()
	for _, r := range regs {
		if r.User != "" {
			pw := r.Password
			if p, ok := password[r.Addr]; ok {
				pw = p
			}
			auths[r.Addr] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.User + ":" + pw))}
		}
		if r.CAPEM != nil {
			if err := os.MkdirAll(filepath.Join(certsDir, r.Addr), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(certsDir, r.Addr, "ca.crt"), r.CAPEM, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	dockerConfig = t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dockerConfig, certsDir
}

func newClient(t testing.TB, h *dockertest.Harness, cfg image.Config) *image.Client {
	t.Helper()
	c, err := image.New(clienttest.New(t, h), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRef(t testing.TB, s string) image.Reference {
	t.Helper()
	r, err := image.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ggcrAuth is how the test itself (independently of minato's store)
// talks to r with go-containerregistry.
func ggcrOpts(r *registrytest.Registry) []remote.Option {
	o := []remote.Option{remote.WithTransport(r.HTTPClient().Transport)}
	if r.User != "" {
		o = append(o, remote.WithAuth(&authn.Basic{Username: r.User, Password: r.Password}))
	}
	return o
}

func TestRegistry(t *testing.T) {
	h := dockertest.New(t)
	for _, tc := range []struct {
		name string
		o    registrytest.Options
	}{
		{"http", registrytest.Options{}},
		{"http+auth", registrytest.Options{Auth: true}},
		{"tls+auth", registrytest.Options{TLS: true, Auth: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := registrytest.Start(t, tc.o)
			dst := registrytest.Start(t, tc.o)
			d1 := pushTestImage(t, h, src, "minato/testbox", "v1")
			d2 := pushTestImage(t, h, src, "minato/testbox", "v2")
			if d1 != d2 {
				t.Fatalf("same image pushed twice has digests %s and %s", d1, d2)
			}
			dc, certs := setup(t, nil, src, dst)
			c := newClient(t, h, image.Config{DockerConfig: dc, CertsDir: certs})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			v1ref := mustRef(t, src.Addr+"/minato/testbox:v1")
			got, err := c.RemoteDigest(ctx, v1ref)
			if err != nil {
				t.Fatalf("RemoteDigest(%s): %v", v1ref, err)
			}
			if got.Digest != d1 || got.Size <= 0 || got.MediaType == "" {
				t.Errorf("RemoteDigest = %+v, want digest %s", got, d1)
			}
			// Once pinged (and authorized), a digest check is one call.
			calls := c.RegistryStats(src.Addr).Calls
			if _, err := c.RemoteDigest(ctx, v1ref); err != nil {
				t.Fatal(err)
			}
			if n := c.RegistryStats(src.Addr).Calls - calls; n != 1 {
				t.Errorf("a second RemoteDigest cost %d calls, want 1", n)
			}
			byDigest := mustRef(t, src.Addr+"/minato/testbox@"+d1)
			if got, err := c.RemoteDigest(ctx, byDigest); err != nil || got.Digest != d1 {
				t.Errorf("RemoteDigest(by digest) = %+v, %v", got, err)
			}

			tags, err := c.RemoteTags(ctx, v1ref)
			if err != nil || !slices.Equal(tags, []string{"v1", "v2"}) {
				t.Errorf("RemoteTags = %v, %v; want [v1 v2]", tags, err)
			}

			// Copy to the second registry, then again (everything exists).
			var mu sync.Mutex
			actions := map[string]int{}
			prog := func(p image.Progress) {
				mu.Lock()
				actions[p.Action]++
				mu.Unlock()
			}
			dstRef := mustRef(t, dst.Addr+"/copied/testbox:c1")
			cd, err := c.Copy(ctx, v1ref, dstRef, image.CopyOptions{Progress: prog})
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if cd.Digest != d1 || actions["pushed"] == 0 {
				t.Errorf("Copy = %+v, progress %v; want digest %s and pushed layers", cd, actions, d1)
			}
			if got, err := c.RemoteDigest(ctx, dstRef); err != nil || got.Digest != d1 {
				t.Errorf("RemoteDigest(copy) = %+v, %v; want %s", got, err, d1)
			}
			clear(actions)
			if _, err := c.Copy(ctx, v1ref, mustRef(t, dst.Addr+"/copied/testbox:c2"), image.CopyOptions{Progress: prog}); err != nil {
				t.Fatalf("second Copy: %v", err)
			}
			if actions["pushed"] != 0 || actions["exists"] == 0 {
				t.Errorf("second copy progress %v, want only exists", actions)
			}

			// Not found: a tag, a repository.
			_, err = c.RemoteDigest(ctx, mustRef(t, src.Addr+"/minato/testbox:nope"))
			if !errors.Is(err, image.ErrNotFound) || !strings.Contains(err.Error(), "minato/testbox:nope") {
				t.Errorf("unknown tag: err = %v, want ErrNotFound naming the reference", err)
			}
			if _, err := c.RemoteTags(ctx, mustRef(t, src.Addr+"/no/such")); !errors.Is(err, image.ErrNotFound) {
				t.Errorf("unknown repository tags: err = %v, want ErrNotFound", err)
			}

			st := c.RegistryStats(src.Addr)
			if st.Calls < 4 {
				t.Errorf("RegistryStats(%s) = %+v, want calls counted", src.Addr, st)
			}

			if !tc.o.Auth {
				return
			}
			// Wrong password, and no credentials at all.
			dc, certs = setup(t, map[string]string{src.Addr: "wrong"}, src)
			bad := newClient(t, h, image.Config{DockerConfig: dc, CertsDir: certs})
			_, err = bad.RemoteDigest(ctx, v1ref)
			var ae *image.AuthError
			if !image.IsAuth(err) || !errors.As(err, &ae) || ae.Anonymous || !strings.Contains(err.Error(), "log in to the registry domain "+src.Addr) {
				t.Errorf("wrong password: err = %v, want an AuthError naming %s", err, src.Addr)
			}
			_, certs = setup(t, nil, src)
			anon := newClient(t, h, image.Config{DockerConfig: t.TempDir(), CertsDir: certs})
			_, err = anon.RemoteTags(ctx, v1ref)
			if !errors.As(err, &ae) || !ae.Anonymous || ae.Registry != src.Addr {
				t.Errorf("anonymous: err = %v, want an anonymous AuthError for %s", err, src.Addr)
			}
		})
	}
}

// TestRegistryIndexCopy copies a two-platform index and checks that the
// index (not one platform) arrives, with the same digest.
func TestRegistryIndexCopy(t *testing.T) {
	t.Parallel()
	h := dockertest.New(t)
	src := registrytest.Start(t, registrytest.Options{Auth: true})
	dst := registrytest.Start(t, registrytest.Options{TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(4096, 2)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	tag, err := name.NewTag(src.Addr + "/multi/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx, append(ggcrOpts(src), remote.WithContext(ctx))...); err != nil {
		t.Fatalf("write index: %v", err)
	}
	want, _ := idx.Digest()

	dc, certs := setup(t, nil, src, dst)
	c := newClient(t, h, image.Config{DockerConfig: dc, CertsDir: certs})
	var mu sync.Mutex
	pushed := map[string]bool{}
	d, err := c.Copy(ctx, mustRef(t, tag.String()), mustRef(t, dst.Addr+"/multi/app:1"), image.CopyOptions{Progress: func(p image.Progress) {
		mu.Lock()
		if p.Action == "pushed" {
			pushed[p.Layer] = true
		}
		mu.Unlock()
	}})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if d.Digest != want.String() || !strings.Contains(d.MediaType, "index") {
		t.Errorf("Copy = %+v, want index %s", d, want)
	}
	if len(pushed) != 4 {
		t.Errorf("pushed layers %v, want 4 (2 per platform)", pushed)
	}
	got, err := remote.Index(mustName(t, dst.Addr+"/multi/app:1"), append(ggcrOpts(dst), remote.WithContext(ctx))...)
	if err != nil {
		t.Fatalf("read copied index: %v", err)
	}
	im, _ := got.IndexManifest()
	if gd, _ := got.Digest(); gd != want || len(im.Manifests) != 2 {
		t.Errorf("copied index %s with %d manifests, want %s with 2", gd, len(im.Manifests), want)
	}
	for _, m := range im.Manifests {
		if _, err := got.Image(m.Digest); err != nil {
			t.Errorf("platform %v not copied: %v", m.Platform, err)
		}
	}
}

func mustName(t testing.TB, s string) name.Reference {
	t.Helper()
	n, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// benchTags makes n tags of one pushed image in a fresh registry.
func benchTags(b *testing.B, n int) (*dockertest.Harness, *registrytest.Registry, []image.Reference) {
	b.Helper()
	h := dockertest.New(b)
	r := registrytest.Start(b, registrytest.Options{})
	pushTestImage(b, h, r, "bench/app", "t0")
	desc, err := remote.Get(mustName(b, r.Addr+"/bench/app:t0"), ggcrOpts(r)...)
	if err != nil {
		b.Fatal(err)
	}
	refs := []image.Reference{mustRef(b, r.Addr+"/bench/app:t0")}
	for i := 1; i < n; i++ {
		tag, _ := name.NewTag(fmt.Sprintf("%s/bench/app:t%d", r.Addr, i))
		if err := remote.Tag(tag, desc, ggcrOpts(r)...); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, mustRef(b, tag.String()))
	}
	return h, r, refs
}

// BenchmarkRemoteDigest checks the digests of 50 tags by HEAD per
// iteration; bytes/op is what the registry sent (BytesServed).
func BenchmarkRemoteDigest(b *testing.B) {
	h, r, refs := benchTags(b, 50)
	c := newClient(b, h, image.Config{DockerConfig: b.TempDir(), RegistryBudget: 1 << 30})
	ctx := context.Background()
	if _, err := c.RemoteDigest(ctx, refs[0]); err != nil { // ping outside the timing
		b.Fatal(err)
	}
	before, calls := r.BytesServed(), c.RegistryStats(r.Addr).Calls
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, ref := range refs {
			if _, err := c.RemoteDigest(ctx, ref); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(r.BytesServed()-before)/float64(b.N), "bytes/op")
	b.ReportMetric(float64(c.RegistryStats(r.Addr).Calls-calls)/float64(b.N), "calls/op")
}

// BenchmarkPullBytes fetches every blob of the same 50 tags (what a pull
// without a local cache moves), for comparison with
// BenchmarkRemoteDigest; bytes/op is what the registry sent.
func BenchmarkPullBytes(b *testing.B) {
	_, r, refs := benchTags(b, 50)
	before := r.BytesServed()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, ref := range refs {
			img, err := remote.Image(mustName(b, ref.String()), ggcrOpts(r)...)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := img.RawConfigFile(); err != nil {
				b.Fatal(err)
			}
			ls, err := img.Layers()
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range ls {
				rc, err := l.Compressed()
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(r.BytesServed()-before)/float64(b.N), "bytes/op")
}
