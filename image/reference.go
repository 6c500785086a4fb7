package image

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// DefaultRegistry is the registry of a reference that names none, as the
// docker CLI assumes (Docker Hub); DefaultTag the tag of one that gives
// neither a tag nor a digest.
const (
	DefaultRegistry = "docker.io"
	DefaultTag      = "latest"
)

// Reference is an image reference, parsed and normalised the way the
// docker CLI reads it: "nginx" is docker.io/library/nginx:latest,
// "registry.example:5000/shop/web:1.4" keeps its registry and port, and a
// digest pins the content ("…@sha256:…", with or without a tag).
type Reference struct {
	// Registry is the registry host, with its port if any ("docker.io",
	// "registry.example:5000",
	// "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com").
	Registry string `json:"registry"`
	// Repository is the path in the registry ("library/nginx",
	// "shop/web").
	Repository string `json:"repository"`
	// Tag is the tag: DefaultTag when the reference gives neither a tag
	// nor a digest, "" when it gives only a digest.
	Tag string `json:"tag,omitempty"`
	// Digest is the content digest ("sha256:<64 hex>"), "" when none.
	Digest string `json:"digest,omitempty"`
}

// ErrReference is wrapped by every error of [ParseReference] and
// [Reference.WithTag].
var ErrReference = errors.New("invalid image reference")

// ParseReference parses s as the docker CLI does and normalises it: the
// default registry (docker.io, with "library/" for a one-part name on it)
// and tag ("latest" when there is neither a tag nor a digest). Upper-case
// repositories, empty parts, bad digests and tags longer than 128
// characters are refused with an error that says which part and what is
// allowed.
func ParseReference(s string) (Reference, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Reference{}, fmt.Errorf("%w: empty: want [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST], such as nginx:1.27 or registry.example:5000/shop/web@sha256:…", ErrReference)
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Reference{}, explainReference(orig, err)
	}
	r := Reference{Registry: reference.Domain(named), Repository: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = DefaultTag
	}
	return r, nil
}

// explainReference turns the parser's terse errors into one that says
// what is allowed.
func explainReference(s string, err error) error {
	q := fmt.Sprintf("%q", s)
	switch {
	case errors.Is(err, reference.ErrNameContainsUppercase) || strings.Contains(err.Error(), "must be lowercase"):
		return fmt.Errorf("%w %s: the repository must be lower case (registries refuse upper case; the registry host may have it)", ErrReference, q)
	case errors.Is(err, reference.ErrNameTooLong):
		return fmt.Errorf("%w %s: the name is longer than %d characters", ErrReference, q, reference.RepositoryNameTotalLengthMax)
	case errors.Is(err, reference.ErrTagInvalidFormat):
		return fmt.Errorf("%w %s: a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ErrReference, q)
	case errors.Is(err, reference.ErrDigestInvalidFormat):
		return fmt.Errorf("%w %s: a digest is ALGORITHM:HEX, such as sha256: and 64 hexadecimal digits", ErrReference, q)
	case errors.Is(err, reference.ErrNameEmpty):
		return fmt.Errorf("%w %s: the repository name is empty", ErrReference, q)
	}
	// The parser says only "invalid reference format": tell a bad tag or
	// digest apart from a bad name.
	name, dgst, hasDigest := strings.Cut(strings.TrimSpace(s), "@")
	if hasDigest && !digestRE.MatchString(dgst) {
		return fmt.Errorf("%w %s: a digest is ALGORITHM:HEX, such as sha256: and 64 hexadecimal digits", ErrReference, q)
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') && !tagRE.MatchString(name[i+1:]) {
		return fmt.Errorf("%w %s: a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ErrReference, q)
	}
	return fmt.Errorf("%w %s: want [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST], lower-case path components of letters, digits and separators ('.', '_', '__', '-'), such as nginx:1.27 or registry.example:5000/shop/web:1.4 (%v)", ErrReference, q, err)
}

// Name returns the repository with its registry
// ("docker.io/library/nginx").
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// String returns the full reference: Name, then ":" and the tag when
// there is one, then "@" and the digest when there is one.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Familiar returns the reference as the docker CLI shows it: without the
// default registry and "library/" ("nginx:latest").
func (r Reference) Familiar() string {
	n, err := reference.ParseNormalizedNamed(r.String())
	if err != nil {
		return r.String()
	}
	return reference.FamiliarString(n)
}

// WithTag returns r with tag as its tag and without its digest (a tag
// names other content than a digest pinned).
func (r Reference) WithTag(tag string) (Reference, error) {
	if !tagRE.MatchString(tag) {
		return Reference{}, fmt.Errorf("%w: tag %q: a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", ErrReference, tag)
	}
	r.Tag, r.Digest = tag, ""
	return r, nil
}

var (
	tagRE    = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestRE = regexp.MustCompile(`^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,})$`)
)

// ecrRE matches an Amazon ECR private registry host:
// <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn].
var ecrRE = regexp.MustCompile(`^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// ECR reports whether the registry is an Amazon ECR private registry, and
// its account ID and region.
func (r Reference) ECR() (account, region string, ok bool) {
	m := ecrRE.FindStringSubmatch(r.Registry)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
