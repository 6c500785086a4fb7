package console

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromium starts headless Chromium at width x height, or skips without
// it (fails with MINATO_REQUIRE_DOCKER=1).
func chromium(t testing.TB, width, height int) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("MINATO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("chromium not found (MINATO_REQUIRE_DOCKER=1; install Debian's chromium package): %v", err)
		}
		t.Skip("chromium not found: install Debian's chromium package")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(width, height), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	require.NoError(t, chromedp.Do(ctx), "starting chromium")
	return ctx
}

// TestScreenshotsFake renders every view over the fake API (HA, images
// and diagnostics with data) at 1280x800 and at phone width, and saves
// screenshots to $MINATO_ARTIFACTS (or a temporary directory).
func TestScreenshotsFake(t *testing.T) {
	api := newFakeAPI(24, 6)
	srv := serve(t, api, api.guard, WithGraph(fakeGraph))
	dir := t.TempDir()
	if a := os.Getenv("MINATO_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	for _, size := range []struct {
		name string
		w, h int
	}{{"", 1280, 800}, {"-phone", 390, 844}} {
		ctx := chromium(t, size.w, size.h)
		for _, v := range []string{"estate", "checks", "jobs?run=net-01@1", "ha", "images", "apps", "diag", "jobs?run=net-01@1&lang=ja"} {
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/console/"+v), chromedp.WaitVisible(chromedp.CSS("main h1"))), v)
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			require.NoError(t, err)
			name := map[string]string{"jobs?run=net-01@1": "jobs", "jobs?run=net-01@1&lang=ja": "jobs-ja"}[v]
			if name == "" {
				name = v
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "fake-"+name+size.name+".png"), png, 0o644))
		}
	}
	t.Logf("screenshots in %s", dir)
}

// BenchmarkEstateFirstPaint loads the estate view with 200 containers
// and 50 job networks in headless Chromium, with the changes the agent
// wires, and reports the first contentful paint (ms, Performance API) and
// the page weight (bytes transferred: the document and its JavaScript,
// uncached; the CSS is inlined). "changed" bumps the changes before every
// load (the view is built for it: the cold case), "unchanged" does not
// (the view rendered for the previous load, or a refresh, is reused).
func BenchmarkEstateFirstPaint(b *testing.B) {
	for _, bump := range []bool{true, false} {
		name := map[bool]string{true: "changed", false: "unchanged"}[bump]
		b.Run(name, func(b *testing.B) {
			api := newFakeAPI(200, 50)
			ch := &Changes{}
			srv := serve(b, api, api.guard, WithGraph(fakeGraph), WithChanges(ch))
			ctx := chromium(b, 1280, 800)
			var fcp, weight float64
			for b.Loop() {
				// The first load transfers everything (its weight is the page
				// weight); later ones revalidate nothing (the script is cached
				// a day).
				require.NoError(b, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
				if bump {
					ch.Bump()
				}
				require.NoError(b, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?nocache="+time.Now().Format("150405.000000")), chromedp.WaitVisible(chromedp.CSS("#h-nets"))))
				v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise(r => { const f = () => { const e = performance.getEntriesByName('first-contentful-paint')[0]; e ? r(e.startTime) : setTimeout(f, 10) }; f() })`, chromedp.EvalAwaitPromise))
				require.NoError(b, err)
				fcp += v
				w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(performance.getEntriesByType('navigation')[0].transferSize||0) + performance.getEntriesByType('resource').reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0)`))
				require.NoError(b, err)
				weight = max(weight, w)
			}
			b.ReportMetric(fcp/float64(b.N), "fcp-ms")
			b.ReportMetric(weight, "page-bytes")
		})
	}
}

// TestConsoleCPU measures the server's CPU while one console page shows
// the estate view (200 containers, 50 networks) for 20 s, with the
// changes the agent wires: bumped never ("quiet"), three times every 10 s
// (the agent's default checks, cpu, memory and state every 10 s, each
// round a change), and every second (checks every second: every refresh
// rebuilds the view). It reports each as a share of one core. It is a
// measurement (logged), not a timed assertion; run it alone:
// MINATO_CONSOLE_CPU=1 go test -run TestConsoleCPU -v.
func TestConsoleCPU(t *testing.T) {
	if os.Getenv("MINATO_CONSOLE_CPU") == "" {
		t.Skip("a 60 s measurement: set MINATO_CONSOLE_CPU=1")
	}
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{{"quiet", 0}, {"default-checks", 10 * time.Second / 3}, {"every-second", time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(200, 50)
			ch := &Changes{}
			srv := serve(t, api, api.guard, WithGraph(fakeGraph), WithChanges(ch))
			ctx := chromium(t, 1280, 800)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#h-nets"))))
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				if tc.every == 0 {
					<-stop
					return
				}
				tick := time.NewTicker(tc.every)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						ch.Bump()
					}
				}
			}()
			var before, after syscall.Rusage
			require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &before))
			start := time.Now()
			time.Sleep(20 * time.Second)
			require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &after))
			wall := time.Since(start)
			close(stop)
			<-done
			ch.Close() // the page's waiting refresh ends with the test server
			cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
			every := "(never)"
			if tc.every > 0 {
				every = tc.every.Round(time.Millisecond).String()
			}
			t.Logf("server CPU with one console on the estate view, a change every %s: %s in %s = %.2f%% of a core (includes the fake API's JSON encoding)",
				every, cpu, wall.Round(time.Millisecond), 100*cpu.Seconds()/wall.Seconds())
		})
	}
}
