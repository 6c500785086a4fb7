package image_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/minato-ops/minato/image"
)

func TestParseReference(t *testing.T) {
	const dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in                     string
		reg, repo, tag, digest string
		full, familiar         string
	}{
		{"nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest", "nginx:latest"},
		{"nginx:1.27", "docker.io", "library/nginx", "1.27", "", "docker.io/library/nginx:1.27", "nginx:1.27"},
		{"bitnami/redis:7", "docker.io", "bitnami/redis", "7", "", "docker.io/bitnami/redis:7", "bitnami/redis:7"},
		{"registry.example:5000/shop/web:1.4", "registry.example:5000", "shop/web", "1.4", "", "registry.example:5000/shop/web:1.4", "registry.example:5000/shop/web:1.4"},
		{"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest", "localhost/app:latest"},
		{"web@" + dg, "docker.io", "library/web", "", dg, "docker.io/library/web@" + dg, "web@" + dg},
		{"web:2@" + dg, "docker.io", "library/web", "2", dg, "docker.io/library/web:2@" + dg, "web:2@" + dg},
		{"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/web:1.4", "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com", "shop/web", "1.4", "",
			"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/web:1.4", "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/web:1.4"},
		{"  nginx  ", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest", "nginx:latest"},
	} {
		r, err := image.ParseReference(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if r.Registry != tc.reg || r.Repository != tc.repo || r.Tag != tc.tag || r.Digest != tc.digest {
			t.Errorf("%q: %+v", tc.in, r)
		}
		if r.String() != tc.full || r.Familiar() != tc.familiar {
			t.Errorf("%q: String %q Familiar %q, want %q %q", tc.in, r.String(), r.Familiar(), tc.full, tc.familiar)
		}
		back, err := image.ParseReference(r.String())
		if err != nil || back != r {
			t.Errorf("%q: String does not parse back to itself: %+v %v", tc.in, back, err)
		}
	}
}

func TestParseReferenceErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "empty",
		"Nginx":                             "must be lower case",
		"nginx:-bad":                        "a tag is 1 to 128",
		"nginx:" + strings.Repeat("a", 129): "a tag is 1 to 128",
		"nginx@sha256:abc":                  "a digest is ALGORITHM:HEX",
		"shop//web":                         "want [REGISTRY[:PORT]/]REPOSITORY",
		"http://registry/x":                 "want [REGISTRY[:PORT]/]REPOSITORY",
	} {
		_, err := image.ParseReference(in)
		if err == nil || !errors.Is(err, image.ErrReference) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an ErrReference saying %q", in, err, want)
		}
	}
}

func TestWithTagAndECR(t *testing.T) {
	r, err := image.ParseReference("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	acct, region, ok := r.ECR()
	if !ok || acct != "123456789012" || region != "ap-northeast-1" {
		t.Errorf("ECR() = %q %q %v", acct, region, ok)
	}
	r2, err := r.WithTag("1.5")
	if err != nil || r2.Tag != "1.5" || r2.Digest != "" {
		t.Errorf("WithTag: %+v %v", r2, err)
	}
	if _, err := r.WithTag(".x"); !errors.Is(err, image.ErrReference) {
		t.Errorf("WithTag(.x): %v", err)
	}
	if _, _, ok := (image.Reference{Registry: "docker.io"}).ECR(); ok {
		t.Error("docker.io is not ECR")
	}
}

// FuzzParseReference: never panics; what parses prints back to the same
// reference.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"nginx", "a/b:c", "registry.example:5000/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "UPPER", ":", "@", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := image.ParseReference(s)
		if err != nil {
			if !errors.Is(err, image.ErrReference) {
				t.Fatalf("%q: error %v does not wrap ErrReference", s, err)
			}
			return
		}
		back, err := image.ParseReference(r.String())
		if err != nil || back != r {
			t.Fatalf("%q → %q → %+v %v", s, r.String(), back, err)
		}
		_ = r.Familiar()
	})
}
