package image

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/internal/registrytest"
	"github.com/minato-ops/minato/inventory"
)

func TestCheckFindings(t *testing.T) {
	ref, _ := ParseReference("registry.example:5000/shop/web:1.4")
	ctr := inventory.Target{Kind: inventory.KindContainer, ID: strings.Repeat("ab", 32), Name: "web", Engine: "unix:///var/run/docker.sock"}
	base := CheckResult{Container: ctr, Reference: ref, ImageID: idR, Running: dgA}
	with := func(f func(*CheckResult)) CheckResult { r := base; f(&r); return r }
	auth := &AuthError{Registry: "registry.example:5000", Err: errors.New("401 Unauthorized")}

	for _, tc := range []struct {
		name     string
		r        CheckResult
		codes    []string
		severity []diag.Severity
		contains []string // in Title, Detail, Remedy or Evidence
	}{
		{"current", with(func(r *CheckResult) { r.Status, r.Latest = StatusCurrent, dgA }), nil, nil, nil},
		{"local", with(func(r *CheckResult) { r.Status, r.Running = StatusLocal, "" }), nil, nil, nil},
		{"pinned", with(func(r *CheckResult) { r.Status = StatusPinned }), nil, nil, nil},
		{"outdated", with(func(r *CheckResult) { r.Status, r.Latest, r.NewerTags = StatusOutdated, dgB, []string{"1.5"} }),
			[]string{"D01"}, []diag.Severity{diag.Warning},
			[]string{"minato image update web", "pull the tag", "latest digest: " + dgB, "running digest: " + dgA, "image ID: " + idR, "reference: " + ref.String(), "newer tags: 1.5", "sha256:bbbbbbbbbbbb"}},
		{"stale-local", with(func(r *CheckResult) { r.Status, r.Latest = StatusStaleLocal, dgB }),
			[]string{"D01"}, []diag.Severity{diag.Warning},
			[]string{"minato image update web", "already has the new image", "was not recreated"}},
		{"auth", with(func(r *CheckResult) { r.Status, r.Err = StatusError, auth }),
			[]string{"D31"}, []diag.Severity{diag.Warning},
			[]string{"Log in to the registry domain registry.example:5000 again", "docker login registry.example:5000", "401 Unauthorized"}},
		{"not found", with(func(r *CheckResult) { r.Status, r.Err = StatusError, fmt.Errorf("shop/web:1.4: %w", ErrNotFound) }),
			[]string{CodeNotInRegistry}, []diag.Severity{diag.Warning}, []string{"push it again"}},
		{"registry down", with(func(r *CheckResult) { r.Status, r.Err = StatusError, errors.New("dial tcp: connection refused") }),
			[]string{CodeCheckFailed}, []diag.Severity{diag.Warning}, []string{"connection refused", "registry registry.example:5000 is reachable"}},
		{"stale-local, registry refused", with(func(r *CheckResult) { r.Status, r.Err = StatusStaleLocal, auth }),
			[]string{"D01", "D31"}, []diag.Severity{diag.Warning, diag.Warning}, []string{"partly checked: status stale-local"}},
		{"current, tag list failed", with(func(r *CheckResult) { r.Status, r.Latest, r.Err = StatusCurrent, dgA, errors.New("tag list: boom") }),
			[]string{CodeCheckFailed}, []diag.Severity{diag.Info}, []string{"boom"}},
		{"inspect failed", CheckResult{Container: ctr, Status: StatusError, Err: errors.New("inspect container web: EOF")},
			[]string{CodeCheckFailed}, []diag.Severity{diag.Warning}, []string{"Could not check its image", "engine answers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := checkFindings([]CheckResult{tc.r})
			var codes []string
			var sev []diag.Severity
			var text strings.Builder
			for _, f := range fs {
				codes, sev = append(codes, f.Code), append(sev, f.Severity)
				fmt.Fprintf(&text, "%s\n%s\n%s\n%s\n", f.Title, f.Detail, f.Remedy, strings.Join(f.Evidence, "\n"))
				if f.Subject != (diag.Subject{Kind: diag.SubjectContainer, ID: ctr.ID, Name: "web", Engine: ctr.Engine}) {
					t.Errorf("subject %+v", f.Subject)
				}
				if f.Title == "" || f.Remedy == "" || len(f.Evidence) == 0 {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if fmt.Sprint(codes) != fmt.Sprint(tc.codes) || fmt.Sprint(sev) != fmt.Sprint(tc.severity) {
				t.Errorf("codes %v severities %v, want %v %v", codes, sev, tc.codes, tc.severity)
			}
			for _, s := range tc.contains {
				if !strings.Contains(text.String(), s) {
					t.Errorf("findings lack %q:\n%s", s, text.String())
				}
			}
		})
	}
}

func TestDiagCheckInfo(t *testing.T) {
	var c Client
	info := c.DiagCheck(CheckOptions{}).Info()
	if info.ID != "image.current" || info.Reference != "D01" || info.Subject != diag.SubjectContainer || info.Title == "" {
		t.Errorf("info %+v", info)
	}
}

// TestDiagCheck runs the check against a registry with basic auth: a
// container whose tag moved is a D01 finding; checked without
// credentials, the registry's refusal is a D31 finding, not a failure of
// the check.
func TestDiagCheck(t *testing.T) {
	t.Parallel()
	e := newCheckEnv(t, registrytest.Options{Auth: true})
	ref := e.ref("shop/web:1")
	v1 := e.build(t, ref)
	e.push(t, ref)
	web := e.run(t, ref)
	v2 := e.build(t, e.ref("shop/web:build2"))
	e.tag(t, v2, ref) // the engine's tag names v2, the container runs v1

	sel := inventory.Selector{Labels: map[string]string{"minato.test": e.h.RunID()}}
	rep := diag.Run(context.Background(), []diag.Check{e.c.DiagCheck(CheckOptions{Selector: sel})}, diag.RunOptions{})
	if len(rep.Results) != 1 || rep.Results[0].Err != "" {
		t.Fatalf("report %+v", rep)
	}
	fs := rep.Results[0].Findings
	codes := map[string]diag.Finding{}
	for _, f := range fs {
		codes[f.Code] = f
		if f.Subject.ID != web.ID {
			t.Errorf("finding about %+v", f.Subject)
		}
	}
	if f, ok := codes["D01"]; !ok || !strings.Contains(f.Remedy, "minato image update "+web.Name) || !strings.Contains(strings.Join(f.Evidence, " "), v1) {
		t.Errorf("no D01 finding for the stale container: %+v", fs)
	}
	if f, ok := codes["D31"]; !ok || !strings.Contains(f.Remedy, e.reg.Addr) {
		t.Errorf("no D31 finding naming the registry domain: %+v", fs)
	}
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1 (warnings)", rep.ExitCode())
	}

	// A check that cannot list containers fails as a whole.
	bad := e.c.DiagCheck(CheckOptions{Tags: "^^"})
	if _, err := bad.Run(context.Background()); err == nil || !strings.Contains(err.Error(), `"^^"`) {
		t.Errorf("bad options: %v", err)
	}
}
