package bundle

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces every secret value in a bundle.
const Redacted = "[REDACTED]"

// Kinds of [Redaction], saying which rule found the secret.
const (
	// KindNameValue: NAME=value where NAME looks like a secret (an
	// environment variable, a label, a key=value pair in a log line).
	KindNameValue = "name=value"
	// KindJSONKey: a JSON member whose key looks like a secret ("auth",
	// "password", "identitytoken").
	KindJSONKey = "json key"
	// KindFlag: a command-line flag whose name looks like a secret,
	// followed by its value ("--password hunter2").
	KindFlag = "flag"
	// KindHeader: an Authorization or Proxy-Authorization header.
	KindHeader = "header"
	// KindURLPassword: the password of a URL (scheme://user:password@host).
	KindURLPassword = "url password"
	// KindPrivateKey: the body of a PEM private key block.
	KindPrivateKey = "private key"
	// KindValue: a secret value learnt elsewhere (a container's
	// environment, a configuration file) found again in this file. Key is
	// then the name the value was learnt under.
	KindValue = "known secret value"
)

// secretWords are the name fragments that make a name look like it holds
// a secret (matched case-insensitively anywhere in the name). PASS covers
// PASSWORD.
const secretWords = `pass|pwd|token|secret|key|credential|auth|private`

var (
	secretNameRE = regexp.MustCompile(`(?i)` + secretWords)
	// flagNameRE is a whole command-line argument that is a secret-looking
	// flag waiting for its value in the next argument.
	flagNameRE = regexp.MustCompile(`^--?[A-Za-z0-9_-]*(?i:` + secretWords + `)[A-Za-z0-9_-]*$`)

	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	pemBlockRE = regexp.MustCompile(`(?s)(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----)`)
	// pemOpenRE is a block cut short (a log tail that ends inside it).
	pemOpenRE = regexp.MustCompile(`(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)((?:\r?\n[A-Za-z0-9+/=]+)+)`)
	headerRE  = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization)("?[ \t]*[:=][ \t]*"?)([^"'\r\n]+)`)
	urlPassRE = regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#@:"']*):([^\s/?#@"']+)@`)
	nameValRE = regexp.MustCompile(`([A-Za-z0-9_.-]*(?i:` + secretWords + `)[A-Za-z0-9_.-]*)=([^\s"'\\&]+)`)
	jsonKVRE  = regexp.MustCompile(`"([A-Za-z0-9_.-]*(?i:` + secretWords + `)[A-Za-z0-9_.-]*)"[ \t]*:[ \t]*"((?:[^"\\]|\\.)*)"`)
	flagValRE = regexp.MustCompile(`(--[A-Za-z0-9-]*(?i:` + secretWords + `)[A-Za-z0-9-]*)([ \t]+)([^\s"'=-][^\s"']*)`)
)

// pathSuffixes are the name endings that say the value is a path to a
// secret rather than the secret itself; pathNames are whole names that
// do (PWD is the shell's working directory, SandboxKey Docker's network
// namespace path, tlskey/tlscert daemon.json's certificate files).
var (
	pathSuffixes = []string{"FILE", "PATH", "DIR", "SOCK", "SOCKET"}
	pathNames    = []string{"PWD", "OLDPWD", "SANDBOXKEY", "TLSKEY", "TLSCERT", "TLSCACERT"}
	// boolish values are configuration switches, never secrets worth
	// hunting for elsewhere in the bundle.
	boolish = []string{"true", "false", "yes", "no", "on", "off", "null", "none", "nil", "enabled", "disabled"}
)

// minLearnt is the shortest value learnt as a secret to hunt for in every
// file: shorter ones would erase ordinary words.
const minLearnt = 3

// notSecretRE are words that contain a secret word but name no secret
// ("org.opencontainers.image.authors", AUTHOR_NAME; not Authorization).
var notSecretRE = regexp.MustCompile(`(?i)author(s|ship)?([^a-z]|$)`)

// looksSecret reports whether name looks like it holds a secret.
func looksSecret(name string) bool {
	return secretNameRE.MatchString(notSecretRE.ReplaceAllString(name, "_"))
}

// keep reports whether value, held under a secret-looking name, is kept
// as it is: empty, already redacted, or an absolute path under a name
// that says it is a path.
func keep(name, value string) bool {
	if strings.TrimSpace(value) == "" || strings.HasPrefix(value, Redacted) {
		return true
	}
	if !isAbsPath(value) {
		return false
	}
	u := strings.ToUpper(strings.TrimLeft(name, "-"))
	if slices.Contains(pathNames, u) {
		return true
	}
	for _, s := range pathSuffixes {
		if strings.HasSuffix(u, s) {
			return true
		}
	}
	return false
}

func isAbsPath(s string) bool {
	return strings.HasPrefix(s, "/") && !strings.ContainsAny(s, " \t\r\n") && len(s) <= 4096
}

// redactKey identifies one line of REDACTIONS.txt.
type redactKey struct{ file, key, kind string }

// secret is a value learnt under a name.
type secret struct{ value, name string }

// redactor redacts text and JSON. It first learns secret values (learn*),
// then redacts (text, json), counting what it replaced per file. It is not
// safe for concurrent use.
type redactor struct {
	secrets []secret // longest first, once frozen
	seen    map[string]bool
	counts  map[redactKey]int
	// learning makes the rules collect values instead of counting.
	learning bool
}

func newRedactor() *redactor {
	return &redactor{seen: map[string]bool{}, counts: map[redactKey]int{}}
}

// learn remembers value, found under name, as a secret to remove from
// every file.
func (r *redactor) learn(name, value string) {
	v := strings.TrimSpace(value)
	switch {
	case len(v) < minLearnt, strings.Contains(Redacted, v), isAbsPath(v), slices.Contains(boolish, strings.ToLower(v)), r.seen[v]:
		return
	}
	r.seen[v] = true
	r.secrets = append(r.secrets, secret{v, name})
	slices.SortStableFunc(r.secrets, func(a, b secret) int { return len(b.value) - len(a.value) })
}

// hit records one redaction, or learns the value in learning mode.
func (r *redactor) hit(file, key, kind, value string) {
	if r.learning {
		if kind != KindPrivateKey {
			r.learn(key, value)
		}
		return
	}
	r.counts[redactKey{file, key, kind}]++
}

// learnEnv learns the secret values of "NAME=value" entries.
func (r *redactor) learnEnv(env []string) {
	for _, e := range env {
		name, value, ok := strings.Cut(e, "=")
		if ok && looksSecret(name) && !keep(name, value) {
			r.learn(name, value)
		}
	}
}

// learnText learns what the text rules would redact in s.
func (r *redactor) learnText(s string) {
	r.learning = true
	r.text("", s)
	r.learning = false
}

// learnJSON learns what json would redact in b.
func (r *redactor) learnJSON(b []byte) {
	r.learning = true
	r.json("", b)
	r.learning = false
}

// text redacts s, a file or part of one, counting under file. Learnt
// values go first, whole, before the patterns cut them at a quote.
func (r *redactor) text(file, s string) string {
	if !r.learning {
		for _, sec := range r.secrets {
			var n int
			s, n = replaceBounded(s, sec.value)
			if n > 0 {
				r.counts[redactKey{file, sec.name, KindValue}] += n
			}
		}
	}
	s = pemBlockRE.ReplaceAllStringFunc(s, func(m string) string {
		g := pemBlockRE.FindStringSubmatch(m)
		if strings.TrimSpace(g[2]) == Redacted {
			return m
		}
		r.hit(file, "PEM private key", KindPrivateKey, "")
		return g[1] + "\n" + Redacted + "\n" + g[3]
	})
	s = pemOpenRE.ReplaceAllStringFunc(s, func(m string) string {
		g := pemOpenRE.FindStringSubmatch(m)
		r.hit(file, "PEM private key", KindPrivateKey, "")
		return g[1] + "\n" + Redacted
	})
	s = replaceGroups(headerRE, s, func(g []string) []string {
		v := strings.TrimSpace(g[3])
		if v == "" || strings.HasPrefix(v, Redacted) {
			return nil
		}
		r.hit(file, canonicalHeader(g[1]), KindHeader, lastWord(v))
		return []string{g[1], g[2], Redacted}
	})
	s = replaceGroups(urlPassRE, s, func(g []string) []string {
		if strings.HasPrefix(g[2], Redacted) {
			return nil
		}
		r.hit(file, "URL password", KindURLPassword, g[2])
		return []string{g[1], ":", Redacted, "@"}
	})
	s = replaceGroups(jsonKVRE, s, func(g []string) []string {
		if !looksSecret(g[1]) || keep(g[1], g[2]) {
			return nil
		}
		r.hit(file, g[1], KindJSONKey, g[2])
		return []string{`"`, g[1], `": "`, Redacted, `"`}
	})
	s = replaceGroups(nameValRE, s, func(g []string) []string {
		if !looksSecret(g[1]) || keep(g[1], g[2]) {
			return nil
		}
		r.hit(file, g[1], KindNameValue, g[2])
		return []string{g[1], "=", Redacted}
	})
	s = replaceGroups(flagValRE, s, func(g []string) []string {
		if !looksSecret(g[1]) || keep(g[1], g[3]) {
			return nil
		}
		r.hit(file, g[1], KindFlag, g[3])
		return []string{g[1], g[2], Redacted}
	})
	return s
}

// json redacts a JSON document: members with secret-looking keys, secret
// flags' values in string arrays, and every string through text. It
// returns the document indented; b that is not JSON is redacted as text.
func (r *redactor) json(file string, b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return []byte(r.text(file, string(b)))
	}
	v = r.walk(file, v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return []byte(r.text(file, string(b)))
	}
	return out.Bytes()
}

func (r *redactor) walk(file string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			if s, ok := e.(string); ok && looksSecret(k) && !keep(k, s) {
				r.hit(file, k, KindJSONKey, s)
				x[k] = Redacted
				continue
			}
			x[k] = r.walk(file, e)
		}
		return x
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok && i > 0 {
				if prev, ok := x[i-1].(string); ok && flagNameRE.MatchString(prev) && !strings.HasPrefix(s, "-") && !keep(prev, s) {
					r.hit(file, prev, KindFlag, s)
					x[i] = Redacted
					continue
				}
			}
			x[i] = r.walk(file, e)
		}
		return x
	case string:
		// A whole "NAME=value" string (an environment entry) loses its
		// whole value, quotes and all.
		if name, value, ok := strings.Cut(x, "="); ok && envNameRE.MatchString(name) && looksSecret(name) && !keep(name, value) {
			r.hit(file, name, KindNameValue, value)
			return name + "=" + Redacted
		}
		return r.text(file, x)
	default:
		return v
	}
}

// redactions returns what was redacted, sorted by file, key and kind.
func (r *redactor) redactions() []Redaction {
	out := make([]Redaction, 0, len(r.counts))
	for k, n := range r.counts {
		out = append(out, Redaction{File: k.file, Key: k.key, Kind: k.kind, Count: n})
	}
	slices.SortFunc(out, func(a, b Redaction) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}

// replaceGroups replaces every match of re in s by the concatenation of
// the parts f returns for its groups (g[0] is the whole match); f returns
// nil to leave a match unchanged.
func replaceGroups(re *regexp.Regexp, s string, f func(g []string) []string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		g := make([]string, len(m)/2)
		for i := range g {
			if m[2*i] >= 0 {
				g[i] = s[m[2*i]:m[2*i+1]]
			}
		}
		parts := f(g)
		if parts == nil {
			continue
		}
		b.WriteString(s[last:m[0]])
		for _, p := range parts {
			b.WriteString(p)
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceBounded replaces the occurrences of v in s that do not continue
// a word: when v starts (ends) with a letter or digit, the character
// before (after) it must not be one. It returns the count.
func replaceBounded(s, v string) (string, int) {
	if v == "" || !strings.Contains(s, v) {
		return s, 0
	}
	var b strings.Builder
	n, last, from := 0, 0, 0
	for {
		i := strings.Index(s[from:], v)
		if i < 0 {
			break
		}
		i += from
		end := i + len(v)
		if (isWordByte(v[0]) && i > 0 && isWordByte(s[i-1])) || (isWordByte(v[len(v)-1]) && end < len(s) && isWordByte(s[end])) {
			from = i + 1
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(Redacted)
		n++
		last, from = end, end
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func canonicalHeader(h string) string {
	if strings.HasPrefix(strings.ToLower(h), "proxy") {
		return "Proxy-Authorization header"
	}
	return "Authorization header"
}

// lastWord is the credential of an Authorization value ("Bearer x" → x).
func lastWord(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}
