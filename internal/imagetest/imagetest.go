package imagetest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
)

// LabelValue is the value of dockertest.LabelKey ("minato.test") on every
// image Build makes.
const LabelValue = "1"

// Options shape the image Build makes. The zero value gives the test image
// itself (ENTRYPOINT ["/testbox"], no CMD) under a new tag.
type Options struct {
	// Env are ENV entries, "KEY=value".
	Env []string
	// Cmd is the CMD (arguments to /testbox, such as ["sleep", "1h"]).
	Cmd []string
	// Labels are extra image labels; dockertest.LabelKey is always
	// LabelValue.
	Labels map[string]string
	// Healthcheck, when set, is the HEALTHCHECK CMD in exec form (for
	// example ["/testbox", "exit", "0"]).
	Healthcheck []string
	// HealthInterval is the HEALTHCHECK interval (and timeout); 0 means
	// 1 s. HealthRetries is its retries; 0 means 3.
	HealthInterval time.Duration
	HealthRetries  int
	// Filler, when > 0, adds a layer holding /filler: that many bytes of
	// random (incompressible) data, for pull and push benchmarks.
	Filler int64
	// StopSignal is the STOPSIGNAL ("SIGTERM", "SIGUSR1"); "" for none.
	StopSignal string
	// ExposedPorts are EXPOSE entries ("8080/tcp").
	ExposedPorts []string
}

// Dockerfile returns the recipe Build sends for o on top of base.
func Dockerfile(base string, o Options) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", base)
	if o.Filler > 0 {
		b.WriteString("COPY filler /filler\n")
	}
	for _, e := range o.Env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n=") {
			return "", fmt.Errorf("env entry %q: want KEY=value", e)
		}
		fmt.Fprintf(&b, "ENV %s=%s\n", k, strconv.Quote(v))
	}
	if o.Cmd != nil {
		j, _ := json.Marshal(o.Cmd)
		fmt.Fprintf(&b, "CMD %s\n", j)
	}
	if len(o.Healthcheck) > 0 {
		iv := o.HealthInterval
		if iv <= 0 {
			iv = time.Second
		}
		retries := o.HealthRetries
		if retries <= 0 {
			retries = 3
		}
		j, _ := json.Marshal(o.Healthcheck)
		fmt.Fprintf(&b, "HEALTHCHECK --interval=%s --timeout=%s --retries=%d CMD %s\n", iv, max(iv, 5*time.Second), retries, j)
	}
	if o.StopSignal != "" {
		fmt.Fprintf(&b, "STOPSIGNAL %s\n", o.StopSignal)
	}
	if len(o.ExposedPorts) > 0 {
		fmt.Fprintf(&b, "EXPOSE %s\n", strings.Join(o.ExposedPorts, " "))
	}
	return b.String(), nil
}

// Build builds an image on h's engine from the test image (h.Image: FROM
// scratch, the static /testbox binary, ENTRYPOINT ["/testbox"]) shaped by
// o, tags it ref, labels it dockertest.LabelKey=LabelValue plus o.Labels,
// and returns its ID. Nothing is pulled (classic builder, local base). A
// t.Cleanup removes the tag ref (the image too when no other tag keeps it);
// an image still used by a container at that point is left alone. Any
// failure is fatal to t.
func Build(t testing.TB, h *dockertest.Harness, ref string, o Options) string {
	t.Helper()
	base := h.Image(t)
	df, err := Dockerfile(base, o)
	if err != nil {
		t.Fatalf("imagetest: build %s: %v", ref, err)
	}
	labels := map[string]string{}
	for k, v := range o.Labels {
		labels[k] = v
	}
	labels[dockertest.LabelKey] = LabelValue

	var files []dockertest.ContextFile
	if o.Filler > 0 {
		files = append(files, dockertest.ContextFile{Name: "filler", Size: o.Filler, Content: io.LimitReader(rand.Reader, o.Filler)})
	}
	return h.Build(t, ref, df, labels, files...)
}
