package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// DefaultDockerfile is the Dockerfile name used when BuildOptions gives
// none.
const DefaultDockerfile = "Dockerfile"

// dockerignore is the name of the ignore file at the context's root.
const dockerignore = ".dockerignore"

// buildContext is a context directory ready to be sent as a tar stream.
type buildContext struct {
	// dir is the context directory, absolute and clean.
	dir string
	// dockerfile is the Dockerfile's name inside the context, slash
	// separated, as the engine is told it.
	dockerfile string
	// external holds the Dockerfile's content when it lies outside dir:
	// it is appended to the context under the name dockerfile.
	external []byte
	// pm holds the .dockerignore patterns; nil when there are none.
	pm *patternmatcher.PatternMatcher
}

// prepareContext checks dir and the Dockerfile and reads .dockerignore,
// the way the docker CLI does:
//   - dockerfile is relative to dir, or absolute; "" means "Dockerfile";
//   - a Dockerfile outside dir is sent inside the context under a name
//     derived from its content (".dockerfile.<20 hex>");
//   - the Dockerfile and .dockerignore are sent even when .dockerignore
//     excludes them.
func prepareContext(dir, dockerfile string) (*buildContext, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("the context directory (Dir) is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("context directory %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("context directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("context directory %s: not a directory", dir)
	}
	bc := &buildContext{dir: abs}

	if dockerfile == "" {
		dockerfile = DefaultDockerfile
	}
	dfPath := dockerfile
	if !filepath.IsAbs(dfPath) {
		dfPath = filepath.Join(abs, dockerfile)
	}
	dfPath = filepath.Clean(dfPath)
	dfi, err := os.Stat(dfPath)
	if err != nil {
		return nil, fmt.Errorf("dockerfile %s: %w", dfPath, err)
	}
	if !dfi.Mode().IsRegular() {
		return nil, fmt.Errorf("dockerfile %s: not a regular file", dfPath)
	}
	rel, err := filepath.Rel(abs, dfPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		data, err := os.ReadFile(dfPath)
		if err != nil {
			return nil, fmt.Errorf("dockerfile %s: %w", dfPath, err)
		}
		sum := sha256.Sum256(data)
		bc.external = data
		bc.dockerfile = ".dockerfile." + hex.EncodeToString(sum[:])[:20]
	} else {
		bc.dockerfile = filepath.ToSlash(rel)
	}

	f, err := os.Open(filepath.Join(abs, dockerignore))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return bc, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", filepath.Join(abs, dockerignore), err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(abs, dockerignore), err)
	}
	if len(patterns) == 0 {
		return bc, nil
	}
	// Always send the Dockerfile and .dockerignore (the engine reads
	// both), as the docker CLI does by adding exceptions.
	keep := []string{dockerignore}
	if bc.external == nil {
		keep = append(keep, bc.dockerfile)
	}
	for _, k := range keep {
		if m, err := patternmatcher.MatchesOrParentMatches(k, patterns); err == nil && m {
			patterns = append(patterns, "!"+k)
		}
	}
	bc.pm, err = patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(abs, dockerignore), err)
	}
	return bc, nil
}

// writeTar writes the context to w as a tar stream: every file of dir
// not excluded by .dockerignore, in lexical walk order, with its mode and
// modification time (whole seconds), uid/gid 0 and no user names;
// symbolic links as links (not followed); sockets and devices left out.
// Then the external Dockerfile, if any. Errors name the path.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	parents := map[string]patternmatcher.MatchInfo{}
	err := filepath.WalkDir(bc.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("build context %s: %w", path, err)
		}
		rel, err := filepath.Rel(bc.dir, path)
		if err != nil {
			return fmt.Errorf("build context %s: %w", path, err)
		}
		if rel == "." {
			return nil
		}
		if bc.pm != nil {
			skip, info, err := bc.pm.MatchesUsingParentResults(rel, parents[filepath.Dir(rel)])
			if err != nil {
				return fmt.Errorf("build context %s: .dockerignore: %w", path, err)
			}
			if d.IsDir() {
				parents[rel] = info
			}
			if skip {
				if !d.IsDir() {
					return nil
				}
				if !bc.mayReinclude(rel) {
					return filepath.SkipDir
				}
				return nil // walk on for exceptions, without the directory's own entry
			}
		}
		return bc.writeEntry(tw, path, filepath.ToSlash(rel), d)
	})
	if err != nil {
		return err
	}
	if bc.external != nil {
		hdr := &tar.Header{Name: bc.dockerfile, Mode: 0o600, Size: int64(len(bc.external)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("build context: dockerfile: %w", err)
		}
		if _, err := io.Copy(tw, bytes.NewReader(bc.external)); err != nil {
			return fmt.Errorf("build context: dockerfile: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	return nil
}

// mayReinclude reports whether an exception pattern ("!…") names
// something below the excluded directory rel, by the docker CLI's rule
// (the pattern starts with the directory's path).
func (bc *buildContext) mayReinclude(rel string) bool {
	if !bc.pm.Exclusions() {
		return false
	}
	dirSlash := rel + string(filepath.Separator)
	for _, p := range bc.pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		if strings.HasPrefix(p.String()+string(filepath.Separator), dirSlash) {
			return true
		}
	}
	return false
}

func (bc *buildContext) writeEntry(tw *tar.Writer, path, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return fmt.Errorf("build context %s: %w", path, err)
	}
	link := ""
	switch mode := fi.Mode(); {
	case mode.IsRegular(), mode.IsDir():
	case mode&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return fmt.Errorf("build context %s: %w", path, err)
		}
	default:
		return nil // sockets, devices, pipes: not part of a context
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("build context %s: %w", path, err)
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.ModTime = fi.ModTime().Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.PAXRecords = nil
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("build context %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("build context %s: %w", path, err)
	}
	defer f.Close()
	n, err := io.CopyN(tw, f, hdr.Size)
	if err != nil {
		return fmt.Errorf("build context %s: read %d of %d bytes: %w", path, n, hdr.Size, err)
	}
	return nil
}
