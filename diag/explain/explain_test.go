package explain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/ha"
)

func TestRulesCompile(t *testing.T) {
	c, err := diag.NewClassifier(Rules())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.Rules()), len(Rules()); got != want {
		t.Fatalf("classifier has %d rules, want %d", got, want)
	}
	if got := len(Default().Rules()); got != len(Rules()) {
		t.Fatalf("Default has %d rules, want %d", got, len(Rules()))
	}
	if a, b := Default(), Default(); a != b {
		t.Fatal("Default builds a new classifier on each call")
	}
}

// TestRulesText checks what an operator reads: every rule says what,
// why and what to do, names its source, and speaks of the products, not
// of this project's notes.
func TestRulesText(t *testing.T) {
	prefixes := []string{"faq.", "jobcenter.", "clusterpro.", "ha.", "docker."}
	banned := regexp.MustCompile(`(?i)\bseed\b|spec/|\b00[0-4]-`)
	for _, r := range Rules() {
		if !strings.Contains(r.ID, ".") || !hasAnyPrefix(r.ID, prefixes) {
			t.Errorf("%s: ID outside the families %v", r.ID, prefixes)
		}
		if r.Title == "" || r.Cause == "" || r.Remedy == "" || r.Reference == "" {
			t.Errorf("%s: title %q, cause %q, remedy %q, reference %q: all are required", r.ID, r.Title, r.Cause, r.Remedy, r.Reference)
		}
		if r.Severity != diag.Warning && r.Severity != diag.Critical {
			t.Errorf("%s: severity %s, want warning or critical", r.ID, r.Severity)
		}
		for _, s := range append([]string{r.Title, r.Cause, r.Remedy, r.Reference}, r.Steps...) {
			if banned.MatchString(s) {
				t.Errorf("%s: %q speaks of the project's notes", r.ID, s)
			}
		}
	}
}

func hasAnyPrefix(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestRulesAreFreshCopies(t *testing.T) {
	a := Rules()
	a[0].Title = "changed"
	for i := range a {
		if len(a[i].Steps) > 0 {
			a[i].Steps[0] = "changed"
		}
	}
	for i, r := range Rules() {
		if r.Title == "changed" || (len(r.Steps) > 0 && r.Steps[0] == "changed") {
			t.Fatalf("rule %d (%s) kept a caller's change", i, r.ID)
		}
	}
	text := "Invalid input for user ram ak or ak secret"
	if got := Explain(text); len(got) != 1 || got[0].Steps[0] == "changed" {
		t.Fatalf("Default kept a caller's change: %+v", got)
	}
}

// TestExplainConcurrent runs the shared classifier from many goroutines
// (meaningful under -race).
func TestExplainConcurrent(t *testing.T) {
	blocks := loadBlocks(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, b := range blocks {
				if i%4 == g {
					Explain(b.text)
				}
			}
		}()
	}
	wg.Wait()
}

// TestHALines feeds the lines minato's failover engine itself builds
// (package ha) to the catalogue: the fixed codes are explained whatever
// the resource's name and detail.
func TestHALines(t *testing.T) {
	timeout := ha.AsResourceError(fmt.Errorf("call: %w", context.DeadlineExceeded))
	cases := []struct {
		line string
		rule string
	}{
		{ha.ActivateMessage("web", timeout), "clusterpro.activate.timeout"},
		{ha.ActivateMessage("my.db-1", &ha.ResourceError{Code: ha.CodeTimeout, Detail: "Timeout occurred. Container my.db-1 was not ready within 30s (starting)."}), "clusterpro.activate.timeout"},
		{ha.DeactivateMessage("web", timeout), "ha.deactivate.timeout"},
		{ha.ActivateMessage("web", errors.New("strange answer (code 42)")), "ha.activate.internal_error"},
		{ha.DeactivateMessage("web", errors.New("strange answer")), "ha.deactivate.internal_error"},
		{ha.MonitorErrorMessage("webw", errors.New("strange answer")), "ha.monitor.internal_error"},
		{ha.MonitorErrorMessage("azw", timeout), "clusterpro.monitor.timeout"},
		{ha.MonitorWarnMessage("azw", ha.CodeTimeout+ha.WarnOffset, "Timeout occurred."), "clusterpro.monitor.timeout_warning"},
		{ha.MonitorWarnMessage("azw", ha.CodeFailed+ha.WarnOffset, "Failed in the AWS CLI command."), "clusterpro.monitor.aws_cli_failed_warning"},
		{ha.MonitorWarnMessage("webw", ha.CodeInternal+ha.WarnOffset, "strange answer"), "ha.monitor.internal_warning"},
		{ha.ActivateMessage("vip", &ha.ResourceError{Code: 7, Detail: "The VIP address 10.0.5.5 belongs to a VPC subnet."}), "clusterpro.vip.in_vpc"},
		{ha.MonitorErrorMessage("vipw", &ha.ResourceError{Code: 8, Detail: "The routing for VIP 10.1.0.20 was changed."}), "clusterpro.vipw.route_changed"},
		{ha.MonitorErrorMessage("web", &ha.ResourceError{Code: 9, Detail: "container web is running but its health check reports unhealthy"}), "ha.docker.unhealthy"},
	}
	for _, c := range cases {
		got := Explain(c.line)
		if len(got) != 1 || got[0].Rule != c.rule {
			t.Errorf("%q: got %v, want rule %s", c.line, rules(got), c.rule)
		}
	}
	// A code and detail no document gives stay unclassified.
	for _, line := range []string{
		ha.ActivateMessage("web", &ha.ResourceError{Code: ha.CodeFailed, Detail: "something went wrong"}),
		ha.MonitorErrorMessage("web", &ha.ResourceError{Code: 42, Detail: "odd"}),
	} {
		if got := Explain(line); len(got) != 0 {
			t.Errorf("%q: got %v, want unclassified", line, rules(got))
		}
	}
}

func rules(es []diag.Explanation) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Rule)
	}
	return out
}

func TestKernelOld(t *testing.T) {
	cases := []struct {
		os, kernel string
		family     string
		old        bool
	}{
		{"", "3.13.0-24-generic", familyUbuntu1404, true},
		{"Ubuntu 14.04.5 LTS", "3.13.0-170-generic", familyUbuntu1404, true},
		{"Ubuntu 14.04.5 LTS", "3.19.0-80-generic", familyUbuntu1404, false},
		{"", "3.2.0-126-generic", familyUbuntu1404, true},
		{"", "4.4.0-21-generic", "Ubuntu", false},
		{"Ubuntu 18.04", "4.15.0-20-generic", "", false},
		{"", "3.10.0-514.el7.x86_64", familyCentOS7, true},
		{"", "3.10.0-514.26.2.el7.x86_64", familyCentOS7, true},
		{"", "3.10.0-327.el7.x86_64", familyCentOS7, true},
		{"CentOS Linux 7 (Core)", "3.10.0-693.el7.x86_64", familyCentOS7, false},
		{"", "3.10.0-1160.el7.x86_64", familyCentOS7, false},
		{"", "3.16.0-4-amd64", "", false},
		{"", "6.8.0-31-generic", "Ubuntu", false},
		{"", "", "", false},
		{"", "garbage", "", false},
	}
	for _, c := range cases {
		family, old := kernelOld(c.os, c.kernel)
		if family != c.family || old != c.old {
			t.Errorf("kernelOld(%q, %q) = %q, %v; want %q, %v", c.os, c.kernel, family, old, c.family, c.old)
		}
	}
}

func TestRegistryHost(t *testing.T) {
	for ref, want := range map[string]string{
		"nginx":                                    "docker.io",
		"library/nginx:1.27":                       "docker.io",
		"myorg/app":                                "docker.io",
		"docker.io/library/nginx:latest":           "docker.io",
		"registry-1.docker.io/library/nginx":       "docker.io",
		"registry.cn-hangzhou.aliyuncs.com/acs/x":  "registry.cn-hangzhou.aliyuncs.com",
		"localhost/app":                            "localhost",
		"localhost:5000/app":                       "localhost:5000",
		"10.0.0.5:5000/team/app@sha256:0123456789": "10.0.0.5:5000",
		"": "",
	} {
		if got := registryHost(ref); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestExplanationsOrdered: several texts in one paste come back in the
// order they appear, each once.
func TestExplanationsOrdered(t *testing.T) {
	text := strings.Join([]string{
		"step 1",
		"Error response from daemon: Conflict. The container name \"/web\" is already in use by container \"4cd2236e6c2c\". You have to remove (or rename) that container to be able to reuse that name.",
		"Hostname is invalid. [1mg]",
		"Error response from daemon: Conflict. The container name \"/db\" is already in use by container \"5cd2236e6c2c\".",
		"Invalid input for user ram ak or ak secret",
	}, "\n")
	got := Explain(text)
	want := []string{"docker.name_conflict", "jobcenter.hostname_invalid", "faq.ram_ak_invalid"}
	if fmt.Sprint(rules(got)) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", rules(got), want)
	}
	if got[0].Fields["name"] != "/web" || got[0].Line != 2 || got[1].Line != 3 {
		t.Fatalf("first conflict or lines wrong: %+v", got)
	}
}
