package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/docker/docker/api/types/build"
)

// BuildOptions are the options of [Client.Build].
type BuildOptions struct {
	// Dir is the build context directory; required. Its files are sent to
	// the engine as a tar stream, minus those its .dockerignore excludes
	// (the docker CLI's rules: the Dockerfile and .dockerignore are sent
	// anyway; symbolic links are sent as links).
	Dir string
	// Dockerfile is the Dockerfile's path, relative to Dir or absolute;
	// "" means "Dockerfile" in Dir. One outside Dir is sent inside the
	// context under a generated name, as the docker CLI does.
	Dockerfile string
	// Tags are the references the image gets, each parsed with
	// [ParseReference] (no digests).
	Tags []string
	// BuildArgs are the values of the Dockerfile's ARGs. A nil value
	// passes the name without a value, so the ARG's default applies.
	BuildArgs map[string]*string
	// Labels are set on the image (after the Dockerfile's LABELs).
	Labels map[string]string
	// Target is the stage of a multi-stage Dockerfile to build; "" means
	// the last.
	Target string
	// NoCache builds every step anew; Pull pulls a newer FROM image first.
	NoCache, Pull bool
	// Platform is the target platform ("linux/amd64"); "" means the
	// engine's.
	Platform string
	// Output, when set, receives the build's output as the engine writes
	// it ("Step 1/3 : FROM scratch\n", the steps' own output, ...).
	Output io.Writer
	// Progress, when set, receives the progress of pulls the build makes
	// (with Pull, or a FROM image that is not local), in order, in the
	// calling goroutine.
	Progress func(Progress)
}

// BuildResult is what a build made.
type BuildResult struct {
	// ID is the built image's ID ("sha256:…").
	ID string `json:"id"`
	// Tags are BuildOptions.Tags, normalised ("docker.io/library/web:1").
	Tags []string `json:"tags,omitempty"`
	// ContextBytes is the size of the tar stream sent as the context.
	ContextBytes int64 `json:"context_bytes"`
}

// errContextDone ends the context stream once the build is over.
var errContextDone = errors.New("build finished")

// Build builds an image from o.Dir with the engine's classic builder,
// streaming the context (it is never held in memory), and waits for the
// build to finish. A missing Dir or Dockerfile, a bad tag or an
// unreadable context file is an error naming it. A failed step is an error
// naming the step ("Step 2/3 : COPY app /app") and the engine's message.
func (c *Client) Build(ctx context.Context, o BuildOptions) (BuildResult, error) {
	bc, err := prepareContext(o.Dir, o.Dockerfile)
	if err != nil {
		return BuildResult{}, fmt.Errorf("build: %w", err)
	}
	var res BuildResult
	for _, t := range o.Tags {
		r, err := ParseReference(t)
		if err != nil {
			return BuildResult{}, fmt.Errorf("build %s: tag: %w", o.Dir, err)
		}
		if r.Digest != "" {
			return BuildResult{}, fmt.Errorf("build %s: tag: %w %q: an image is tagged REPOSITORY[:TAG], without a digest", o.Dir, ErrReference, t)
		}
		res.Tags = append(res.Tags, r.String())
	}
	c.ready(ctx)

	pr, pw := io.Pipe()
	cw := &countingWriter{w: pw}
	tarDone := make(chan error, 1)
	go func() {
		err := bc.writeTar(cw)
		pw.CloseWithError(err)
		tarDone <- err
	}()
	// tarErr stops the context stream and returns its own error, if it
	// failed by itself.
	tarErr := func() error {
		pr.CloseWithError(errContextDone)
		if err := <-tarDone; err != nil && !errors.Is(err, errContextDone) {
			return err
		}
		return nil
	}

	resp, err := c.api.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags: res.Tags, Dockerfile: bc.dockerfile, BuildArgs: o.BuildArgs, Labels: o.Labels,
		Target: o.Target, NoCache: o.NoCache, PullParent: o.Pull, Platform: o.Platform,
		Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		if terr := tarErr(); terr != nil {
			return res, fmt.Errorf("build %s: %w", o.Dir, terr)
		}
		return res, fmt.Errorf("build %s: %w", o.Dir, err)
	}
	var step string
	var short string
	err = decodeStream(resp.Body, func(m *jsonMessage) error {
		if m.Stream != "" {
			if s, ok := strings.CutPrefix(m.Stream, "Step "); ok {
				step = "Step " + strings.TrimSpace(s)
			}
			if s, ok := strings.CutPrefix(m.Stream, "Successfully built "); ok {
				short = strings.TrimSpace(s)
			}
			if o.Output != nil {
				if _, err := io.WriteString(o.Output, m.Stream); err != nil {
					return fmt.Errorf("write the build output: %w", err)
				}
			}
		}
		if len(m.Aux) > 0 {
			var aux struct {
				ID string `json:"ID"`
			}
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				res.ID = aux.ID
			}
		}
		if o.Progress != nil {
			if p, ok := toProgress(m); ok {
				o.Progress(p)
			}
		}
		return nil
	})
	resp.Body.Close()
	terr := tarErr()
	res.ContextBytes = cw.n.Load()
	switch {
	case terr != nil:
		return res, fmt.Errorf("build %s: %w", o.Dir, terr)
	case err != nil:
		var se *streamError
		if errors.As(err, &se) && step != "" {
			return res, fmt.Errorf("build %s: %s: %w", o.Dir, step, err)
		}
		return res, fmt.Errorf("build %s: %w", o.Dir, err)
	}
	if res.ID == "" {
		// Older engines print only "Successfully built <short ID>".
		id := short
		if id == "" && len(res.Tags) > 0 {
			id = res.Tags[0]
		}
		if id == "" {
			return res, fmt.Errorf("build %s: the engine reported no image ID", o.Dir)
		}
		in, err := c.api.ImageInspect(ctx, id)
		if err != nil {
			return res, fmt.Errorf("build %s: inspect the built image %s: %w", o.Dir, id, err)
		}
		res.ID = in.ID
	}
	return res, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
