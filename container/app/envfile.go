package app

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/minato-ops/minato/internal/strictyaml"
)

// MaxEnvFileBytes is the largest env file read: 1 MiB.
const MaxEnvFileBytes = 1 << 20

// ParseEnvFile reads NAME=value lines, the --from-env-file format of
// kubectl create configmap (the WebOTX operator's environment files) and
// docker run --env-file:
//
//   - blank lines and lines whose first non-blank character is '#' are
//     skipped;
//   - a leading "export " is ignored;
//   - spaces around NAME and around an unquoted value are trimmed;
//   - a value in double quotes may hold \n, \t, \" and \\ escapes; a value
//     in single quotes is taken literally; both may hold '#' and '='
//     (an unquoted value is taken as is, '#' included);
//   - a line without '=' is an error, as is a quote that does not close.
//
// Later lines override earlier ones. Errors name the line number; they
// never quote a value (values are secrets). The input is limited to
// MaxEnvFileBytes.
func ParseEnvFile(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxEnvFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxEnvFileBytes {
		return nil, fmt.Errorf("more than the %d MiB an env file may have", MaxEnvFileBytes>>20)
	}
	out := map[string]string{}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxEnvFileBytes+1)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(text, "export "); ok {
			text = strings.TrimSpace(rest)
		}
		name, value, ok := strings.Cut(text, "=")
		name = strings.TrimSpace(name)
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: want NAME=value, got no '=' after %s", line, strictyaml.Quote(name)))
			continue
		}
		if err := validEnvName(name); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %v", line, err))
			continue
		}
		v, err := envValue(strings.TrimSpace(value))
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %s: %v", line, name, err))
			continue
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func envValue(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch v[0] {
	case '\'':
		if len(v) < 2 || !strings.HasSuffix(v, "'") {
			return "", errors.New("single quote not closed at the end of the line")
		}
		return v[1 : len(v)-1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			if c == '"' {
				if i != len(v)-1 {
					return "", errors.New("text after the closing double quote")
				}
				return b.String(), nil
			}
			if c != '\\' || i+1 == len(v) {
				b.WriteByte(c)
				continue
			}
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(v[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(v[i])
			}
		}
		return "", errors.New("double quote not closed at the end of the line")
	}
	return v, nil
}

// LoadEnvFiles reads s.EnvFiles (a relative path is taken relative to
// dir; "" means the working directory) and keeps their merged contents
// for [Spec.Environment] and [Spec.Hash]. It may be called again to pick
// up changed files. Errors name the field and file, never a value.
func (s *Spec) LoadEnvFiles(dir string) error {
	merged := map[string]string{}
	var errs []error
	for i, f := range s.EnvFiles {
		p := f
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		fh, err := os.Open(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("env_files[%d]: %w", i, err))
			continue
		}
		m, err := ParseEnvFile(fh)
		_ = fh.Close()
		if err != nil {
			for _, e := range flatten(err) {
				errs = append(errs, fmt.Errorf("env_files[%d]: %s: %v", i, p, e))
			}
			continue
		}
		maps.Copy(merged, m)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.fileEnv, s.envLoaded = merged, true
	return nil
}
