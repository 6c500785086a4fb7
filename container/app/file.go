package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/minato-ops/minato/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// File is a declaration file: many applications under "apps", or (written
// without "apps") a single one.
type File struct {
	// Apps are the declared applications, in file order.
	Apps []Spec `json:"apps"`
}

// Validate returns every problem of every application joined, each
// starting with its key path ("apps[1].resources.memory: ..."), plus
// names used twice.
func (f File) Validate() error {
	var p problems
	seen := map[string]int{}
	for i, s := range f.Apps {
		if err := s.Validate(); err != nil {
			p.under(fmt.Sprintf("apps[%d]", i), err)
		}
		if j, dup := seen[s.Name]; dup && s.Name != "" {
			p.add("apps[%d].name: %s is also the name of apps[%d]", i, strictyaml.Quote(s.Name), j)
		} else {
			seen[s.Name] = i
		}
	}
	return p.err()
}

// Parse decodes a declaration (YAML or JSON) strictly: unknown keys, wrong
// types and invalid values are errors, all of them listed with their key
// paths ("apps[1].resources.memory: \"12q\": want a size such as 512Mi or
// 1g"). A document with a top-level "apps" key is a [File]; any other
// mapping is a single application. dir is the directory relative env
// files and bind mount sources are resolved against (normally the
// declaration file's; "" leaves them relative); env files are read. The
// returned specs are validated.
func Parse(data []byte, dir string) ([]Spec, error) {
	var f File
	var err error
	if multi(data) {
		err = strictyaml.Options{Validate: f.validator(&f)}.Unmarshal(data, &f)
	} else {
		var s Spec
		err = strictyaml.Options{Validate: func() error { return s.Validate() }}.Unmarshal(data, &s)
		f.Apps = []Spec{s}
	}
	if err != nil {
		return nil, err
	}
	if len(f.Apps) == 0 {
		return nil, errors.New("apps: no application declared")
	}
	var errs []error
	for i := range f.Apps {
		s := &f.Apps[i]
		if dir != "" {
			for j, e := range s.EnvFiles {
				if !filepath.IsAbs(e) {
					s.EnvFiles[j] = filepath.Join(dir, e)
				}
			}
			for j, m := range s.Mounts {
				if m.Type == "bind" && !filepath.IsAbs(m.Source) {
					s.Mounts[j].Source = filepath.Join(dir, m.Source)
				}
			}
		}
		if err := s.LoadEnvFiles(dir); err != nil {
			prefix := ""
			if multi(data) {
				prefix = fmt.Sprintf("apps[%d].", i)
			}
			for _, e := range flatten(err) {
				errs = append(errs, errors.New(prefix+e.Error()))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f.Apps, nil
}

// validator returns the whole-file check strictyaml runs after decoding.
func (File) validator(f *File) func() error {
	return func() error { return f.Validate() }
}

// multi reports whether the document's top level has an "apps" key.
func multi(data []byte) bool {
	var probe yaml.Node
	if yaml.Unmarshal(data, &probe) != nil || len(probe.Content) == 0 {
		return false
	}
	top := probe.Content[0]
	if top.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "apps" {
			return true
		}
	}
	return false
}

// ParseFile reads and parses the declaration file at path (see [Parse]),
// resolving relative paths against its directory. Errors start with the
// path. Files larger than strictyaml.MaxBytes (4 MiB) are refused.
func ParseFile(path string) ([]Spec, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, strictyaml.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > strictyaml.MaxBytes {
		return nil, fmt.Errorf("%s: more than the %d MiB a declaration may have", path, strictyaml.MaxBytes>>20)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	specs, err := Parse(data, filepath.Dir(abs))
	if err != nil {
		return nil, prefixLines(path, err)
	}
	return specs, nil
}

// prefixLines puts "path: " before every problem of err.
func prefixLines(path string, err error) error {
	var out []error
	for _, e := range flatten(err) {
		for _, line := range strings.Split(e.Error(), "\n") {
			out = append(out, errors.New(path+": "+line))
		}
	}
	return errors.Join(out...)
}
