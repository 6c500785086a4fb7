package image_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/minato-ops/minato/image"
)

func TestNewerTags(t *testing.T) {
	tags := []string{"latest", "1.0.0", "1.2.0", "2.0.0", "1.1", "v1.3.0", "1.2.1-rc.1", "1.10.0", "stable", "0.9.0", "1.2.0"}
	for _, tc := range []struct {
		name, current, constraint string
		tags                      []string
		want                      []string
	}{
		{"caret 1", "1.0.0", "^1", tags, []string{"1.10.0", "v1.3.0", "1.2.0", "1.1"}},
		{"range", "1.0.0", ">=1.2 <2", tags, []string{"1.10.0", "v1.3.0", "1.2.0"}},
		{"tilde", "1.2.0", "~1.2", tags, nil},
		{"tilde with newer patch", "1.2.0", "~1.2", []string{"1.2.1", "1.3.0"}, []string{"1.2.1"}},
		{"x range", "1.0.0", "1.x", tags, []string{"1.10.0", "v1.3.0", "1.2.0", "1.1"}},
		{"or", "0.9.0", "^0.9 || ^2", tags, []string{"2.0.0"}},
		{"constraint with prerelease", "1.2.0", ">=1.2.1-0", tags, []string{"2.0.0", "1.10.0", "v1.3.0", "1.2.1-rc.1"}},
		{"newer three parts", "1.0.0", "newer", tags, []string{"2.0.0", "1.10.0", "1.2.0"}},
		{"newer two parts", "1.0", "newer", tags, []string{"1.1"}},
		{"newer v prefix", "v1.0.0", "newer", tags, []string{"v1.3.0"}},
		{"newer any case", "1.0.0", "Newer", []string{"1.0.1"}, []string{"1.0.1"}},
		{"newer from prerelease", "1.2.1-rc.0", "newer", tags, []string{"2.0.0", "1.10.0", "1.2.1-rc.1"}},
		{"nothing newer", "2.0.0", "newer", tags, nil},
		{"current not a version", "latest", "^1", tags, nil},
		{"empty constraint", "1.0.0", "", tags, nil},
		{"no tags", "1.0.0", "^1", nil, nil},
		{"variant suffix", "1.2-alpine", "newer", []string{"1.3-alpine", "1.3", "1.2", "1.2.1-alpine", "1.1-alpine"}, []string{"1.3", "1.3-alpine", "1.2"}},
		{"date tags", "20240101", "newer", []string{"20240102", "20231231", "2024.01.03"}, []string{"20240102"}},
		{"V is not a version", "1.0.0", "^1", []string{"V1.5.0", "1.4.0"}, []string{"1.4.0"}},
		{"four parts ignored", "1.0.0", "^1", []string{"1.2.3.4", "1.1.0"}, []string{"1.1.0"}},
		{"equal versions by spelling", "1.0.0", "^1", []string{"v1.2.0", "1.2", "1.2.0"}, []string{"1.2", "1.2.0", "v1.2.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := image.NewerTags(tc.current, tc.tags, tc.constraint)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("NewerTags(%q, %q) = %q, want %q", tc.current, tc.constraint, got, tc.want)
			}
		})
	}
}

func TestNewerTagsBadConstraint(t *testing.T) {
	for _, c := range []string{"^^1", "banana", ">=1.0 <", "1.2.3.4"} {
		_, err := image.NewerTags("1.0.0", []string{"1.1.0"}, c)
		if err == nil {
			t.Errorf("constraint %q accepted", c)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+c+`"`) || !strings.Contains(msg, `"newer"`) || !strings.Contains(msg, `"^1"`) {
			t.Errorf("constraint %q: error does not name it and what is allowed: %v", c, err)
		}
	}
}

func FuzzNewerTags(f *testing.F) {
	for _, s := range []struct{ current, tags, constraint string }{
		{"1.0.0", "1.1.0,2.0.0,latest", "^1"},
		{"v1.2", "v1.3,1.4,v2.0-rc.1", "newer"},
		{"1.2-alpine", "1.3-alpine,1.3", "newer"},
		{"latest", "1.0", ">=1.4 <2"},
		{"0.0.0", "0.0.1-0,0.0.0-0", "*"},
		{"1.0.0", "1.0.0+build,1.0.1+x.y", "~1"},
		{"1", "01.2,1.02,v0", "1.x || 2.x"},
		{"99999999999999999999", "99999999999999999999.1", "newer"},
		{"2024-01-01", "2024-01-02,2024-1-3", "newer"},
		// Found by fuzzing.
		{"0", "0", "0.x ||0\x00\x01"},
		{"0", "0", "000 ||0000000"},
		{"0", ",,,,", "0"},
		{"0", "0", "  "},
		{"0", "0", ">=0.\xff\x7fA0"},
	} {
		f.Add(s.current, s.tags, s.constraint)
	}
	f.Fuzz(func(t *testing.T, current, tagList, constraint string) {
		tags := strings.Split(tagList, ",")
		got, err := image.NewerTags(current, tags, constraint)
		if err != nil {
			if !strings.Contains(err.Error(), "want") {
				t.Errorf("error does not say what is allowed: %v", err)
			}
			return
		}
		if strings.TrimSpace(constraint) == "" && got != nil {
			t.Fatalf("empty constraint gave %q", got)
		}
		cur, cerr := semver.NewVersion(current)
		seen := map[string]bool{}
		var prev *semver.Version
		for _, g := range got {
			if !slices.Contains(tags, g) {
				t.Fatalf("%q is not one of the tags", g)
			}
			if seen[g] {
				t.Fatalf("%q twice", g)
			}
			seen[g] = true
			v, err := semver.NewVersion(g)
			if err != nil {
				t.Fatalf("%q is not a version: %v", g, err)
			}
			if cerr != nil || !v.GreaterThan(cur) {
				t.Fatalf("%q is not newer than %q", g, current)
			}
			if prev != nil && v.GreaterThan(prev) {
				t.Fatalf("not sorted descending: %q", got)
			}
			prev = v
		}
	})
}

func ExampleNewerTags() {
	tags := []string{"latest", "1.4.0", "1.4.2", "1.5.0", "1.6.0-rc.1", "2.0.0", "v1.9.0"}
	minor, _ := image.NewerTags("1.4.0", tags, "~1.4")
	major1, _ := image.NewerTags("1.4.0", tags, "^1")
	newer, _ := image.NewerTags("1.4.0", tags, "newer")
	fmt.Println(minor)
	fmt.Println(major1)
	fmt.Println(newer)
	_, err := image.NewerTags("1.4.0", tags, "stable")
	fmt.Println(err != nil)
	// Output:
	// [1.4.2]
	// [v1.9.0 1.5.0 1.4.2]
	// [2.0.0 1.5.0 1.4.2]
	// true
}
