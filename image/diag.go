package image

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minato-ops/minato/diag"
)

// CheckCurrent is the ID of the check [Client.DiagCheck] returns.
const CheckCurrent = "image.current"

// Codes of [Client.DiagCheck]'s findings. Besides these it uses the
// Container Service FAQ's rows D01 (redeploy not effective: the running
// image's digest is not the tag's) and D31 (the registry refused minato:
// log in to the registry domain again).
const (
	// CodeNotInRegistry: the registry has no such tag or repository.
	CodeNotInRegistry = "image.not_in_registry"
	// CodeCheckFailed: the container's image could not be checked for
	// another reason (the registry unreachable or over budget, an engine
	// error).
	CodeCheckFailed = "image.check_failed"
)

const (
	refD01 = "Container Service FAQ D01 (§2.3): redeploy not effective"
	refD31 = "Container Service FAQ D31 (§2.19): image pull failure"
)

// DiagCheck returns a [diag.Check] ("image.current", catalogue row D01,
// about containers) that runs [Client.Check] with o and reports one
// Warning per container whose running image is not the one its tag names
// now (status outdated or stale-local), with the reference, digests and
// image ID as evidence and the remedy (recreate the container, or pull the
// tag first). A container that could not be checked is a finding too,
// not a failure of the whole check: D31 with the log-in advice when the
// registry refused the credentials, CodeNotInRegistry when it has no such
// tag, CodeCheckFailed otherwise. Current, local and pinned containers
// give nothing. The check fails (Run's error) only when the containers
// cannot be listed or o is invalid. It is safe for concurrent use.
func (c *Client) DiagCheck(o CheckOptions) diag.Check {
	info := diag.CheckInfo{ID: CheckCurrent, Title: "Containers run their tag's current image", Subject: diag.SubjectContainer, Reference: "D01"}
	return diag.NewCheck(info, func(ctx context.Context) ([]diag.Finding, error) {
		res, err := c.Check(ctx, o)
		if err != nil {
			return nil, err
		}
		return checkFindings(res), nil
	})
}

// checkFindings turns Check's results into findings, in their order.
func checkFindings(res []CheckResult) []diag.Finding {
	var out []diag.Finding
	for _, r := range res {
		subj := diag.Subject{Kind: diag.SubjectContainer, ID: r.Container.ID, Name: r.Container.Name, Engine: r.Container.Engine}
		name := r.Container.Name
		if name == "" {
			name = r.Container.ShortID()
		}
		ref := r.Reference.Familiar()
		switch r.Status {
		case StatusOutdated:
			out = append(out, diag.Finding{
				Code: "D01", Severity: diag.Warning, Subject: subj,
				Title: "Runs an older image than its tag names in the registry",
				Detail: fmt.Sprintf("The registry's %s is %s now, but the container runs %s: the image pushed to the tag has not reached it "+
					"(a redeploy did not take effect, or nobody pulled and recreated it).", ref, short(r.Latest), short(r.Running)),
				Remedy:    fmt.Sprintf("The running image is not the tag's current one: recreate the container (minato image update %s), or pull the tag (docker pull %s) and recreate it", name, ref),
				Evidence:  evidence(r),
				Reference: refD01,
			})
		case StatusStaleLocal:
			out = append(out, diag.Finding{
				Code: "D01", Severity: diag.Warning, Subject: subj,
				Title: "Not recreated after its tag's new image arrived",
				Detail: fmt.Sprintf("The engine's %s names a newer image than the container runs (image %s): the image was pulled or built, "+
					"but the container was not recreated, so the redeploy did not take effect.", ref, short(r.ImageID)),
				Remedy:    fmt.Sprintf("The running image is not the tag's current one: recreate the container (minato image update %s); the engine already has the new image", name),
				Evidence:  evidence(r),
				Reference: refD01,
			})
		}
		if r.Err != nil {
			out = append(out, errorFinding(r, subj))
		}
	}
	return out
}

// errorFinding reports why r could not be checked, or only partly (Err
// set with a status other than error: the tag list failed, or the
// registry when the engine alone gave the status). A partial failure is
// Info, unless the registry refused the credentials (D31: pulls fail too).
func errorFinding(r CheckResult, subj diag.Subject) diag.Finding {
	f := diag.Finding{
		Code: CodeCheckFailed, Severity: diag.Warning, Subject: subj,
		Title:    "Could not check its image against the registry",
		Detail:   r.Err.Error(),
		Remedy:   "Check that the registry " + orNone(r.Reference.Registry) + " is reachable from here and answers, then check again",
		Evidence: evidence(r),
	}
	if r.Reference.Registry == "" {
		f.Title, f.Remedy = "Could not check its image", "Check that the engine answers and the container still exists, then check again"
	}
	var ae *AuthError
	auth := errors.As(r.Err, &ae)
	switch {
	case auth:
		f.Code, f.Reference = "D31", refD31
		f.Title = "The registry refused the check"
		f.Remedy = fmt.Sprintf("Log in to the registry domain %s again (%s) with a user that may pull %s; the same refusal makes pulls and updates of this container fail",
			ae.Registry, strings.TrimSpace("docker login "+loginHost(ae.Registry)), r.Reference.Familiar())
	case errors.Is(r.Err, ErrNotFound):
		f.Code = CodeNotInRegistry
		f.Title = "Its tag or repository is not in the registry"
		f.Remedy = fmt.Sprintf("Check the reference %s; if the tag was deleted, push it again or move the container to a tag that exists: until then it cannot be recreated from its tag on another engine", r.Reference.Familiar())
	}
	if r.Status != StatusError {
		f.Title += " (partly checked: status " + r.Status + ")"
		if !auth {
			f.Severity = diag.Info
		}
	}
	return f
}

// loginHost is the argument of docker login for a registry: none for
// Docker Hub.
func loginHost(registry string) string {
	if registry == DefaultRegistry {
		return ""
	}
	return registry
}

// evidence lists what Check saw for r.
func evidence(r CheckResult) []string {
	var ev []string
	if r.Reference.Repository != "" {
		ev = append(ev, "reference: "+r.Reference.String())
	}
	ev = append(ev, "running digest: "+orNone(r.Running), "latest digest: "+orNone(r.Latest), "image ID: "+orNone(r.ImageID))
	if len(r.NewerTags) > 0 {
		ev = append(ev, "newer tags: "+strings.Join(r.NewerTags, ", "))
	}
	return ev
}

// short shortens a digest for prose ("sha256:0123456789ab").
func short(d string) string {
	if d == "" {
		return "unknown"
	}
	if algo, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return algo + ":" + hex[:12]
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
