package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/image"
)

// Exit codes of "minato image check": the Monitoring Plugins' convention,
// as minato diag uses it.
const (
	imageCheckCurrent = 0 // every container runs its tag's current image
	imageCheckUpdates = 1 // an update is available, or a redeploy did not take effect (D01)
	imageCheckUnknown = 3 // a container could not be checked, or a usage error
)

const imageUsage = `Usage: minato image COMMAND [options]

Build, tag, push and pull images with the credentials of the docker CLI's
config file (and its credential helpers), check without pulling whether the
containers run their tag's current image, and update them one by one behind
a health gate that rolls back by itself.

Commands:
  pull     REFERENCE                pull an image (progress bar on a terminal)
  build    DIRECTORY [-t TAG]...    build from a directory (.dockerignore honoured)
  tag      SOURCE TARGET            tag an image, e.g. for a private registry or ECR
  push     REFERENCE                push an image
  ls       [PATTERN]                list images (with the containers using them)
  rm       REFERENCE...             remove images
  prune    [--keep N]               remove unused images, keeping the N newest per repository
  df                                disk space held by images, per repository
  check    [-n NAME[*]]...          do the containers run their tag's current image? (D01)
  update   NAME... [--dry-run]      recreate containers on the new image, health-gated,
                                    rolled back automatically when the gate fails

Registry errors say what to do: a refused login names the registry domain to
log in to again (docker login DOMAIN). Run "minato image COMMAND -h" for the
options of a command.
`

// runImage dispatches "minato image".
func runImage(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, imageUsage); done {
		return code
	}
	var err error
	switch args[0] {
	case "pull":
		err = runImagePull(ctx, args[1:], env)
	case "push":
		err = runImagePush(ctx, args[1:], env)
	case "build":
		err = runImageBuild(ctx, args[1:], env)
	case "tag":
		err = runImageTag(ctx, args[1:], env)
	case "ls", "list":
		err = runImageList(ctx, args[1:], env)
	case "rm", "remove":
		err = runImageRemove(ctx, args[1:], env)
	case "prune":
		err = runImagePrune(ctx, args[1:], env)
	case "df":
		err = runImageDF(ctx, args[1:], env)
	case "check":
		return runImageCheck(ctx, args[1:], env)
	case "update":
		return runImageUpdate(ctx, args[1:], env)
	default:
		err = usagef("unknown image command %q: want pull, build, tag, push, ls, rm, prune, df, check or update", args[0])
	}
	return report(env, err)
}

// imageFlags are the engine and registry flags every image command takes.
type imageFlags struct {
	engineFlags
	dockerConfig string
	certsDir     string
	budget       int
	jsonOut      bool
	quiet        bool
}

func (f *imageFlags) register(fs *flag.FlagSet, selection bool) {
	if selection {
		f.engineFlags.register(fs)
	} else {
		f.registerEngine(fs)
	}
	fs.StringVar(&f.dockerConfig, "docker-config", "", "the `DIRECTORY` of the docker CLI's config.json with registry credentials (default: $DOCKER_CONFIG, else ~/.docker)")
	fs.StringVar(&f.certsDir, "certs-dir", "", "per-registry CA certificates, laid out as `DIR`/HOST:PORT/ca.crt (default /etc/docker/certs.d, as the engine reads them)")
	fs.IntVar(&f.budget, "registry-budget", image.DefaultRegistryBudget, "at most `N` registry calls per minute per registry (429 and RateLimit headers are honoured besides)")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as JSON on stdout")
	fs.BoolVar(&f.quiet, "q", false, "no progress output")
}

// clients connects to the engine and makes the image client.
func (f *imageFlags) clients(fs *flag.FlagSet, env Env) (*image.Client, func(), error) {
	cfg, err := f.config(fs, env.Getenv)
	if err != nil {
		return nil, nil, err
	}
	if f.budget < 1 {
		return nil, nil, usagef("--registry-budget %d: want calls per minute, 1 or more", f.budget)
	}
	cc, err := container.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	ic, err := image.New(cc, image.Config{DockerConfig: f.dockerConfig, CertsDir: f.certsDir, RegistryBudget: f.budget})
	if err != nil {
		cc.Close()
		return nil, nil, err
	}
	return ic, func() { cc.Close() }, nil
}

// writeJSONOut prints v as indented JSON.
func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// wantArgs checks that exactly n positional arguments were given.
func wantArgs(cmd string, pos []string, n int, what string) error {
	if len(pos) != n {
		return usagef("minato image %s takes %s, got %d argument(s)", cmd, what, len(pos))
	}
	return nil
}

func runImagePull(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image pull", "minato image pull REFERENCE [options]",
		"Pull an image into the engine with the registry credentials of the docker\n"+
			"CLI's config file. A reference without registry is Docker Hub's, without\n"+
			"tag :latest. Progress: a bar on a terminal, a line per layer step\n"+
			"otherwise. Prints the image ID and digest pulled.")
	var f imageFlags
	f.register(fs, false)
	platform := fs.String("platform", "", "pull for `OS/ARCH` (default: the engine's)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := wantArgs("pull", pos, 1, "one REFERENCE"); err != nil {
		return err
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	p := newTransferProgress(env.Stderr, isTerminal(env.Stderr), f.quiet || f.jsonOut && !isTerminal(env.Stderr), "pulling", pos[0])
	res, err := ic.Pull(ctx, pos[0], image.PullOptions{Platform: *platform, Progress: p.update})
	p.done()
	if err != nil {
		return err
	}
	if f.jsonOut {
		return writeJSONOut(env.Stdout, res)
	}
	state := "pulled"
	if res.UpToDate {
		state = "up to date"
	}
	fmt.Fprintf(env.Stdout, "%s %s: %s (image %s)\n", res.Ref.Familiar(), state, res.Digest, short(res.ID))
	return nil
}

func runImagePush(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image push", "minato image push REFERENCE [options]",
		"Push an image from the engine to its registry (the reference's registry\n"+
			"part: tag it first with minato image tag), with the credentials of the\n"+
			"docker CLI's config file. Prints the digest the registry stored.")
	var f imageFlags
	f.register(fs, false)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := wantArgs("push", pos, 1, "one REFERENCE"); err != nil {
		return err
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	p := newTransferProgress(env.Stderr, isTerminal(env.Stderr), f.quiet || f.jsonOut && !isTerminal(env.Stderr), "pushing", pos[0])
	res, err := ic.Push(ctx, pos[0], image.PushOptions{Progress: p.update})
	p.done()
	if err != nil {
		return err
	}
	if f.jsonOut {
		return writeJSONOut(env.Stdout, res)
	}
	fmt.Fprintf(env.Stdout, "%s pushed: %s\n", res.Ref.String(), res.Digest)
	return nil
}

// keyValueFlag collects repeatable KEY=VALUE pairs; KEY alone maps to nil
// (for build args: take the value from the environment, as docker does).
type keyValueFlag struct {
	m    map[string]*string
	name string
}

func (k *keyValueFlag) String() string { return "" }
func (k *keyValueFlag) Set(v string) error {
	key, val, ok := strings.Cut(v, "=")
	if strings.TrimSpace(key) == "" || strings.ContainsAny(key, " \t\n") {
		return fmt.Errorf("want KEY=VALUE (or KEY alone to take its value from the environment)")
	}
	if k.m == nil {
		k.m = map[string]*string{}
	}
	if ok {
		k.m[key] = &val
	} else {
		k.m[key] = nil
	}
	return nil
}

func runImageBuild(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image build", "minato image build DIRECTORY [-f DOCKERFILE] [-t TAG]... [options]",
		"Build an image from DIRECTORY (the context: every file not excluded by its\n"+
			".dockerignore is sent to the engine). The Dockerfile is DIRECTORY/Dockerfile\n"+
			"unless -f names another, inside DIRECTORY or not. The build's steps go to\n"+
			"stderr; the image ID goes to stdout.")
	var f imageFlags
	f.register(fs, false)
	dockerfile := fs.String("f", "", "the `DOCKERFILE` (default DIRECTORY/Dockerfile)")
	var tags listFlag
	fs.Var(&tags, "t", "tag the image `REFERENCE` (repeatable), such as registry.example:5000/shop/web:1.4")
	buildArgs := &keyValueFlag{name: "build-arg"}
	fs.Var(buildArgs, "build-arg", "a build argument `KEY=VALUE` (repeatable; KEY alone takes the value from the environment)")
	labels := &keyValueFlag{name: "label"}
	fs.Var(labels, "label", "a label `KEY=VALUE` on the image (repeatable)")
	target := fs.String("target", "", "build up to the stage `NAME` of a multi-stage Dockerfile")
	noCache := fs.Bool("no-cache", false, "do not use the build cache")
	pull := fs.Bool("pull", false, "always pull the base images first")
	platform := fs.String("platform", "", "build for `OS/ARCH`")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := wantArgs("build", pos, 1, "one DIRECTORY (the build context)"); err != nil {
		return err
	}
	ba := map[string]*string{}
	for k, v := range buildArgs.m {
		if v == nil {
			if val, ok := os.LookupEnv(k); ok {
				v = &val
			}
		}
		ba[k] = v
	}
	lb := map[string]string{}
	for k, v := range labels.m {
		if v != nil {
			lb[k] = *v
		} else {
			lb[k] = ""
		}
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	var out io.Writer = env.Stderr
	if f.quiet {
		out = io.Discard
	}
	res, err := ic.Build(ctx, image.BuildOptions{Dir: pos[0], Dockerfile: *dockerfile, Tags: tags, BuildArgs: ba, Labels: lb,
		Target: *target, NoCache: *noCache, Pull: *pull, Platform: *platform, Output: out})
	if err != nil {
		return err
	}
	if f.jsonOut {
		return writeJSONOut(env.Stdout, res)
	}
	fmt.Fprintln(env.Stdout, res.ID)
	return nil
}

func runImageTag(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image tag", "minato image tag SOURCE TARGET [options]",
		"Give the image SOURCE (a reference or an image ID) the reference TARGET,\n"+
			"such as registry.example:5000/shop/web:1.4 or an Amazon ECR URI\n"+
			"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/web:1.4, before a push.")
	var f imageFlags
	f.register(fs, false)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := wantArgs("tag", pos, 2, "SOURCE and TARGET"); err != nil {
		return err
	}
	if _, err := image.ParseReference(pos[1]); err != nil {
		return usagef("TARGET %q: %v", pos[1], err)
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := ic.Tag(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintf(env.Stdout, "tagged %s as %s\n", pos[0], pos[1])
	}
	return nil
}

func runImageList(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image ls", "minato image ls [PATTERN] [options]",
		"List the engine's images, newest first: repository, tag, image ID, age,\n"+
			"size and how many containers use it. PATTERN filters as docker images\n"+
			"does (\"shop/*\", \"web:1.*\").")
	var f imageFlags
	f.register(fs, false)
	lb := labelFlag{}
	fs.Var(lb, "label", "only images with label `KEY[=VALUE]` (repeatable)")
	dangling := fs.Bool("dangling", false, "only untagged images")
	all := fs.Bool("a", false, "include intermediate images")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("minato image ls takes at most one PATTERN, got %d", len(pos))
	}
	o := image.ListOptions{Labels: lb, Dangling: *dangling, All: *all}
	if len(pos) == 1 {
		o.Reference = pos[0]
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	list, err := ic.List(ctx, o)
	if err != nil {
		return err
	}
	if f.jsonOut {
		return writeJSONOut(env.Stdout, list)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tCONTAINERS")
	for _, im := range list {
		tags := im.Tags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			i := strings.LastIndex(t, ":")
			repo, tag := t, "<none>"
			if i > 0 && !strings.Contains(t[i:], "/") {
				repo, tag = t[:i], t[i+1:]
			}
			used := "-"
			if im.Containers >= 0 {
				used = strconv.Itoa(im.Containers)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", repo, tag, short(im.ID), age(im.Created), bytesText(im.Size), used)
		}
	}
	return tw.Flush()
}

// age says how long ago t was, as docker images does ("3 days ago").
func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		if m := int(d.Minutes()); m > 1 {
			return fmt.Sprintf("%d minutes ago", m)
		}
		return "a minute ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// short abbreviates a digest or image ID to 12 hex digits.
func short(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	return hex[:min(len(hex), 12)]
}

func runImageRemove(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image rm", "minato image rm REFERENCE... [-f] [options]",
		"Remove images (by reference or ID). An image a container uses is refused,\n"+
			"naming the container, unless -f.")
	var f imageFlags
	f.register(fs, false)
	force := fs.Bool("f", false, "remove even when a container uses it, or it has several tags")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("minato image rm takes one or more REFERENCEs")
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	var errs []error
	for _, ref := range pos {
		res, err := ic.Remove(ctx, ref, image.RemoveOptions{Force: *force})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !f.quiet {
			for _, u := range res.Untagged {
				fmt.Fprintf(env.Stdout, "untagged %s\n", u)
			}
			for _, d := range res.Deleted {
				fmt.Fprintf(env.Stdout, "deleted %s\n", short(d))
			}
		}
	}
	return errors.Join(errs...)
}

func runImagePrune(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image prune", "minato image prune [--keep N] [--repo PATTERN]... [--dangling] [--older-than DURATION] [--dry-run] [options]",
		"Remove images no container uses (running or stopped), keeping the N newest\n"+
			"of each repository so that an update can still be rolled back to them.\n"+
			"--dry-run lists what would go, and why the others stay.")
	var f imageFlags
	f.register(fs, false)
	keep := fs.Int("keep", 2, "keep the `N` newest images of each repository (0 keeps none beyond those in use)")
	var repos listFlag
	fs.Var(&repos, "repo", "only repositories matching `PATTERN` (repeatable), such as shop/* or registry.example:5000/*")
	dangling := fs.Bool("dangling", false, "also remove untagged images")
	var older time.Duration
	durationVar(fs, &older, "older-than", 0, false, "only images created more than `DURATION` ago")
	dry := fs.Bool("dry-run", false, "list what would be removed; remove nothing")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato image prune takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *keep < 0 {
		return usagef("--keep %d: want 0 or more images per repository", *keep)
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	res, err := ic.Prune(ctx, image.PruneOptions{Keep: *keep, Repositories: repos, Dangling: *dangling, OlderThan: older, DryRun: *dry})
	if f.jsonOut {
		if jerr := writeJSONOut(env.Stdout, res); jerr != nil {
			return jerr
		}
		return err
	}
	verb := "removed"
	if *dry {
		verb = "would remove"
	}
	for _, im := range res.Removed {
		fmt.Fprintf(env.Stdout, "%s %s %s (%s)\n", verb, short(im.ID), strings.Join(im.Tags, ","), bytesText(im.Size))
	}
	if !f.quiet {
		fmt.Fprintf(env.Stdout, "%d image(s) %s, %s reclaimed; %d kept\n", len(res.Removed), verb, bytesText(res.Reclaimed), len(res.Kept))
	}
	return err
}

func runImageDF(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato image df", "minato image df [options]",
		"Disk space the engine's images hold: in all, shared between images, and\n"+
			"reclaimable (images no container uses), then per repository.")
	var f imageFlags
	f.register(fs, false)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato image df takes no arguments, got %q", strings.Join(pos, " "))
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return err
	}
	defer closeFn()
	du, err := ic.DiskUsage(ctx)
	if err != nil {
		return err
	}
	if f.jsonOut {
		return writeJSONOut(env.Stdout, du)
	}
	fmt.Fprintf(env.Stdout, "%d images, %s (%s shared between images), %s reclaimable\n", du.Images, bytesText(du.Size), bytesText(du.Shared), bytesText(du.Reclaimable))
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tIMAGES\tSIZE")
	for _, r := range du.Repositories {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Repository, r.Images, bytesText(r.Size))
	}
	return tw.Flush()
}

func runImageCheck(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato image check", "minato image check [-c ID[*] | -n NAME[*]] [--label K=V] [--all] [--tags CONSTRAINT] [options]",
		"For each running container, compare the digest of the image it runs with\n"+
			"the digest its tag points to in the registry now (one HEAD request per\n"+
			"distinct reference: nothing is pulled), as the Container Service FAQ's D01\n"+
			"asks (did the redeploy take effect?). Statuses:\n"+
			"  current      the container runs the tag's current image\n"+
			"  outdated     the tag moved: minato image update NAME\n"+
			"  stale-local  the engine already has the tag's newer image but the\n"+
			"               container still runs the old one: the redeploy did not\n"+
			"               take effect (recreate it: minato image update --no-pull NAME)\n"+
			"  local        an image built here, never pushed: nothing to compare\n"+
			"  pinned       created from a digest or an image ID\n"+
			"  error        the registry could not answer (the error says what to do)\n"+
			"--tags also lists newer tags matching a semver constraint.\n\n"+
			"Exit 0 when every container is current (or local, pinned), 1 when an\n"+
			"update is available or a redeploy did not take effect, 3 when a container\n"+
			"could not be checked or on a usage error.")
	var f imageFlags
	f.register(fs, true)
	lb := labelFlag{}
	fs.Var(lb, "label", "select containers by label `KEY[=VALUE]` (repeatable; all must match)")
	all := fs.Bool("all", false, "stopped containers too")
	tags := fs.String("tags", "", "also list newer tags matching the semver `CONSTRAINT` (\"^1\", \">=1.4 <2\", or newer)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return imageFail(env, err)
	}
	if len(pos) > 0 {
		return imageFail(env, usagef("minato image check takes no arguments (select with -c, -n or --label), got %q", strings.Join(pos, " ")))
	}
	if *tags != "" {
		if _, err := image.NewerTags("1.0.0", nil, *tags); err != nil {
			return imageFail(env, usagef("--tags %q: %v", *tags, err))
		}
	}
	sel := f.selector()
	if len(lb) > 0 {
		sel.Labels = lb
	}
	if err := sel.Validate(); err != nil {
		return imageFail(env, usagef("%s", explain(err)))
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return imageFail(env, err)
	}
	defer closeFn()
	res, err := ic.Check(ctx, image.CheckOptions{Selector: sel, All: *all, Tags: *tags})
	if err != nil {
		report(env, err)
		return imageCheckUnknown
	}
	code := imageCheckCurrent
	views := make([]agent.ImageResult, 0, len(res))
	for _, r := range res {
		v := agent.NewImageResult(r)
		views = append(views, v)
		switch r.Status {
		case "outdated", "stale-local":
			code = max(code, imageCheckUpdates)
		case "error":
			code = imageCheckUnknown
		}
		if len(r.NewerTags) > 0 {
			code = max(code, imageCheckUpdates)
		}
	}
	if f.jsonOut {
		if err := writeJSONOut(env.Stdout, views); err != nil {
			report(env, err)
			return imageCheckUnknown
		}
		return code
	}
	if len(views) == 0 {
		fmt.Fprintf(env.Stderr, "minato: no container to check on %s\n", ic.Host())
		return code
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tREFERENCE\tSTATUS\tRUNNING\tLATEST\tNEWER TAGS")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Container, v.Reference, v.Status, orDash(short(v.Running)), orDash(short(v.Latest)), orDash(strings.Join(v.NewerTags, ",")))
	}
	tw.Flush()
	for _, v := range views {
		if v.Error != "" {
			fmt.Fprintf(env.Stderr, "minato: %s: %s\n", v.Container, v.Error)
		}
	}
	return code
}

// imageFail reports err for check and update: usage errors exit 3.
func imageFail(env Env, err error) int {
	if report(env, err) == 0 {
		return 0
	}
	return imageCheckUnknown
}

func runImageUpdate(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato image update", "minato image update NAME... [--image REFERENCE] [--dry-run] [--batch N] [options]",
		"Recreate containers on their tag's newest image (or on --image), keeping\n"+
			"exactly what their owner set: environment, command, labels and the rest\n"+
			"that differ from the image they were created from are kept; what came\n"+
			"from that image follows the new image; ports, mounts, networks, limits\n"+
			"and restart policy are kept as they are. The decision is recorded on the\n"+
			"container (label minato.intent, names only, never values) for the next\n"+
			"update. Dependencies (links, --network container:, --volumes-from,\n"+
			"compose depends_on, label minato.depends-on) are updated first.\n\n"+
			"Each container is gated: its health check must pass (or --probe-*, or it\n"+
			"must run --stable-for without exiting) within --timeout, else it is\n"+
			"rolled back automatically to the previous image with its configuration\n"+
			"unchanged. The previous container and image are kept until the new one\n"+
			"passed. Hooks: --pre runs in the old container first (exit 75 skips the\n"+
			"update), --post in the new one after the gate; labels minato.update.pre\n"+
			"and minato.update.post give them per container.\n\n"+
			"Exit 0 when every container was updated, unchanged or (with --dry-run)\n"+
			"would be updated; 1 when one was rolled back, skipped by an error or\n"+
			"failed; 3 on a usage error.")
	var f imageFlags
	f.register(fs, false)
	ref := fs.String("image", "", "recreate on `REFERENCE` (roll to a new tag) instead of each container's own reference")
	noPull := fs.Bool("no-pull", false, "do not pull: use the image the engine has for the reference (after a pull by other means)")
	dry := fs.Bool("dry-run", false, "show what would change for each container; change nothing")
	batch := fs.Int("batch", 1, "recreate and gate `N` containers at a time")
	force := fs.Bool("force", false, "recreate even when the image did not change")
	var timeout, stable time.Duration
	durationVar(fs, &timeout, "timeout", 60*time.Second, true, "the gate's deadline per batch")
	durationVar(fs, &stable, "stable-for", 5*time.Second, true, "without health check or probe: the container must run this `DURATION` without exiting")
	probeTCP := fs.Int("probe-tcp", 0, "gate on a TCP connection to container `PORT`")
	probeHTTP := fs.String("probe-http", "", "gate on an HTTP 2xx/3xx from `PORT/PATH` of the container, such as 8080/healthz")
	probeExec := fs.String("probe-exec", "", "gate on `COMMAND` (run with sh -c in the container) exiting 0")
	pre := fs.String("pre", "", "`COMMAND` run (sh -c) in the old container before it stops; exit 75 skips the update")
	post := fs.String("post", "", "`COMMAND` run (sh -c) in the new container after the gate passed")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return imageFail(env, err)
	}
	if len(pos) == 0 {
		return imageFail(env, usagef("minato image update takes one or more container NAMEs or IDs"))
	}
	if *batch < 1 {
		return imageFail(env, usagef("--batch %d: want 1 or more containers at a time", *batch))
	}
	if *ref != "" {
		if _, err := image.ParseReference(*ref); err != nil {
			return imageFail(env, usagef("--image %q: %v", *ref, err))
		}
	}
	probes := 0
	gate := image.GateOptions{Timeout: timeout, StableFor: stable}
	if *probeTCP != 0 {
		if *probeTCP < 1 || *probeTCP > 65535 {
			return imageFail(env, usagef("--probe-tcp %d: want a container port from 1 to 65535", *probeTCP))
		}
		gate.Probe = &image.Probe{TCP: *probeTCP}
		probes++
	}
	if *probeHTTP != "" {
		port, path, _ := strings.Cut(*probeHTTP, "/")
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return imageFail(env, usagef("--probe-http %q: want PORT/PATH such as 8080/healthz", *probeHTTP))
		}
		gate.Probe = &image.Probe{HTTP: fmt.Sprintf("%d/%s", n, path)}
		probes++
	}
	if *probeExec != "" {
		gate.Probe = &image.Probe{Exec: []string{"sh", "-c", *probeExec}}
		probes++
	}
	if probes > 1 {
		return imageFail(env, usagef("--probe-tcp, --probe-http and --probe-exec: give one at most"))
	}
	o := image.UpdateOptions{Containers: pos, Image: *ref, Pull: !*noPull, DryRun: *dry, BatchSize: *batch, Gate: gate, Force: *force}
	if *pre != "" {
		o.PreHook = []string{"sh", "-c", *pre}
	}
	if *post != "" {
		o.PostHook = []string{"sh", "-c", *post}
	}
	if !f.quiet && !f.jsonOut {
		o.Progress = func(ev image.UpdateEvent) {
			fmt.Fprintf(env.Stderr, "%s %s: %s %s\n", ev.Time.Format("15:04:05"), ev.Container, ev.Phase, ev.Message)
		}
	}
	ic, closeFn, err := f.clients(fs, env)
	if err != nil {
		return imageFail(env, err)
	}
	defer closeFn()
	res, err := ic.Update(ctx, o)
	code := 0
	for _, c := range res.Containers {
		switch c.Outcome {
		case "updated", "unchanged", "would-update":
		case "skipped":
			if c.Err != nil {
				code = 1
			}
		default:
			code = 1
		}
	}
	if f.jsonOut {
		type changeView struct{ Field, Old, New, Why string }
		type view struct {
			Name, Outcome, Gate, OldImage, NewImage, OldID, NewID, Reference, Error string
			Changes                                                                 []changeView `json:",omitempty"`
		}
		var vs []view
		for _, c := range res.Containers {
			v := view{Name: c.Name, Outcome: c.Outcome, Gate: c.Gate, OldImage: c.OldImage, NewImage: c.NewImage, OldID: c.OldID, NewID: c.NewID, Reference: c.Reference}
			if c.Err != nil {
				v.Error = c.Err.Error()
			}
			for _, ch := range c.Changes {
				v.Changes = append(v.Changes, changeView{ch.Field, ch.Old, ch.New, ch.Why})
			}
			vs = append(vs, v)
		}
		if jerr := writeJSONOut(env.Stdout, vs); jerr != nil {
			report(env, jerr)
			return 1
		}
	} else {
		for _, c := range res.Containers {
			line := fmt.Sprintf("%s %s", c.Name, c.Outcome)
			if c.Gate != "" {
				line += " (" + c.Gate + ")"
			}
			if c.OldImage != "" && c.NewImage != "" && c.OldImage != c.NewImage {
				line += fmt.Sprintf(" image %s -> %s", short(c.OldImage), short(c.NewImage))
			}
			fmt.Fprintln(env.Stdout, line)
			if *dry {
				for _, ch := range c.Changes {
					fmt.Fprintf(env.Stdout, "  %s: %s -> %s (%s)\n", ch.Field, orDash(ch.Old), orDash(ch.New), ch.Why)
				}
			}
		}
	}
	if err != nil {
		report(env, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
