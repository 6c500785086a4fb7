package strictyaml

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The limits on what a document may make the decoder do. A document beyond
// them is refused with a message that names the limit, quickly and without
// using much memory, whatever it holds.
const (
	// MaxBytes is the largest document read: 4 MiB.
	MaxBytes = 4 << 20
	// MaxValues is how many values (scalars, lists and mappings) are
	// decoded at most, counting each expansion of an alias again: a small
	// document whose aliases expand to millions of values is refused. A
	// document with more than MaxValues of the bytes that start or
	// separate values (',', ':', '-', '?', '[' and '{') is refused before it is
	// parsed, since the YAML parser builds a tree of every value first
	// (some 250 bytes each).
	MaxValues = 100_000
	// MaxDepth is how deeply values may nest below the top level.
	MaxDepth = 64
	// MaxProblems is how many problems an error lists; the others are
	// counted in a last line "... and N more problems".
	MaxProblems = 100
	// MaxQuoted is how many characters of a value a message quotes (see
	// [Quote]).
	MaxQuoted = 60
	// MaxMessage is the longest problem line, in bytes, key path included;
	// a longer one is cut and ends in "…".
	MaxMessage = 512
)

// Unmarshal decodes data (YAML or JSON) into v, a non-nil pointer, and
// checks every value below the top level with its Validate method, if it
// has one (see the package documentation). Fields absent from data keep
// their current values, so v can hold defaults; an empty document changes
// nothing. The error lists every problem found (up to MaxProblems), one
// line each, with its key path; it is nil when there is none.
//
// v's own Validate method is not called: the caller calls it once v is
// complete (defaults applied, relative paths resolved), or gives it as
// Options.Validate to have its problems listed with the others.
func Unmarshal(data []byte, v any) error {
	return Options{}.Unmarshal(data, v)
}

// Options tunes [Options.Unmarshal]. The zero value is [Unmarshal].
type Options struct {
	// Validate, when set, is called once v is decoded (and not when the
	// document could not be read, went beyond a limit or was not of v's
	// kind, such as a list for a struct). It checks the value as a whole,
	// typically by calling v's Validate method, and its problems are
	// listed after the decoder's, under the same rules: a problem whose
	// text starts with a key path ("units[1].name: ...") is reported under
	// that path, any other under "(top level)".
	Validate func() error
}

// Unmarshal is [Unmarshal] with the options of o.
func (o Options) Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("strictyaml: Unmarshal needs a non-nil pointer")
	}
	if len(data) > MaxBytes {
		return fmt.Errorf("document of %d bytes: more than the %d MiB a document may have", len(data), MaxBytes>>20)
	}
	if marks := countMarks(data); marks > MaxValues {
		return fmt.Errorf("document of more than %d values (it has %d of the ',', ':', '-', '?', '[' and '{' that start or separate them)", MaxValues, marks)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return errors.New(cut("not valid YAML or JSON: " + err.Error()))
	}
	d := &decoder{decoded: map[string]bool{}, types: map[reflect.Type]*structInfo{}}
	if len(root.Content) > 0 {
		d.value(root.Content[0], rv.Elem(), "", 0)
	}
	if d.stopped == "" && !d.decoded[""] && o.Validate != nil {
		d.validated(o.Validate(), "", rv.Elem().Type())
	}
	return d.err()
}

// countMarks counts the bytes that start or separate YAML values: each
// value but the first of a flow list follows a ',', a block list item a
// '-', a mapping value a ':' (a key may follow a '?') and a flow collection
// starts with '[' or '{'.
// (They also occur in strings, so this is more than the number of values.)
func countMarks(data []byte) int {
	n := 0
	for _, b := range data {
		switch b {
		case ',', ':', '-', '?', '[', '{':
			n++
		}
	}
	return n
}

// decoder walks the node tree into a value, collecting problems.
type decoder struct {
	problems []string
	more     int             // problems beyond MaxProblems
	decoded  map[string]bool // key paths of values left zero, and of lists and maps holding one
	values   int             // values visited, aliases expanded
	aliased  bool            // an alias was expanded
	stopped  string          // the limit that stopped decoding
	types    map[reflect.Type]*structInfo
}

// add records a problem at path.
func (d *decoder) add(path, text string) {
	if path == "" {
		path = "(top level)"
	}
	p := cut(path + ": " + text)
	if slices.Contains(d.problems, p) {
		return // said once (a value's Validate and its holder's may both say it)
	}
	if len(d.problems) >= MaxProblems {
		d.more++
		return
	}
	d.problems = append(d.problems, p)
}

// errorf records a problem with the value at path, which is left as it
// was (zero, in a new list, map or struct).
func (d *decoder) errorf(path, format string, a ...any) {
	d.decoded[path] = true
	d.keyf(path, format, a...)
}

// keyf records a problem with a key at path.
func (d *decoder) keyf(path, format string, a ...any) {
	if len(d.problems) >= MaxProblems {
		d.more++ // not formatted: a hostile document may have millions
		return
	}
	d.add(path, fmt.Sprintf(format, a...))
}

func (d *decoder) err() error {
	list := d.problems
	if d.stopped != "" {
		list = append([]string{d.stopped}, list...)
	}
	if d.more > 0 {
		list = append(list, fmt.Sprintf("... and %d more problems", d.more))
	}
	if len(list) == 0 {
		return nil
	}
	errs := make([]error, len(list))
	for i, s := range list {
		errs[i] = errors.New(s)
	}
	return errors.Join(errs...)
}

// Quote returns s quoted as Go quotes strings, one line whatever s holds.
// A value longer than MaxQuoted characters is cut there and followed by
// its length, as in `"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:…" (2712
// characters)`, so that a message never echoes a whole file. Validate
// methods quote the values they mention with it.
func Quote(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= MaxQuoted {
		return strconv.Quote(s)
	}
	i := 0
	for range MaxQuoted {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	q := strconv.Quote(s[:i])
	return fmt.Sprintf("%s…\" (%d characters)", q[:len(q)-1], n)
}

// cut shortens a problem line to MaxMessage bytes.
func cut(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	return strings.ToValidUTF8(s[:MaxMessage], "") + "…" // no half a character
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return Quote(n.Value)
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshal   = reflect.TypeFor[encoding.TextMarshaler]()
	validator     = reflect.TypeFor[interface{ Validate() error }]()
)

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, depth int) {
	if d.stopped != "" {
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
		d.aliased = true
	}
	if d.values++; d.values > MaxValues {
		if d.aliased {
			d.stopped = fmt.Sprintf("(top level): aliases expand to more than %d values", MaxValues)
		} else {
			d.stopped = fmt.Sprintf("(top level): more than %d values", MaxValues)
		}
		return
	}
	if depth > MaxDepth {
		d.errorf(path, "nested more than %d deep", MaxDepth)
		return
	}
	if n.Tag == "!!null" && v.Kind() == reflect.Pointer {
		v.SetZero()
		return
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(textUnmarshal) {
		d.text(n, v, path, depth)
		return
	}
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path, depth)
	case v.Kind() == reflect.Struct:
		if d.structure(n, v, path, depth) {
			d.validate(v, path, depth)
		}
	case v.Kind() == reflect.Slice:
		d.list(n, v, path, depth)
	case v.Kind() == reflect.Map:
		d.mapping(n, v, path, depth)
	default:
		d.scalar(n, v, path)
	}
}

// text decodes a type implementing encoding.TextUnmarshaler. A struct that
// does not implement encoding.TextMarshaler also takes a mapping of its
// fields: its text form is a shorthand.
func (d *decoder) text(n *yaml.Node, v reflect.Value, path string, depth int) {
	both := v.Kind() == reflect.Struct && !v.Addr().Type().Implements(textMarshal)
	if both && n.Kind == yaml.MappingNode {
		if d.structure(n, v, path, depth) {
			d.validate(v, path, depth)
		}
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		if both {
			d.errorf(path, "want a string or a mapping with keys %s, got %s", strings.Join(d.info(v.Type()).names, ", "), describe(n))
		} else {
			d.errorf(path, "want a string, got %s", describe(n))
		}
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
		msg, quoted := err.Error(), strconv.Quote(n.Value)
		if strings.Contains(msg, quoted) {
			d.errorf(path, "%s", strings.ReplaceAll(msg, quoted, Quote(n.Value)))
		} else {
			d.errorf(path, "%s: %s", Quote(n.Value), msg)
		}
		return
	}
	if both {
		d.validate(v, path, depth)
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(path, "want a duration such as 30s or 1m30s, got %s", describe(n))
		return
	}
	dur, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		d.errorf(path, "%s: want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)", Quote(n.Value))
	case dur < 0:
		d.errorf(path, "%s: want a duration of 0 or more", Quote(n.Value))
	default:
		v.SetInt(int64(dur))
	}
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(path, "want a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.value(c, s.Index(i), p, depth+1)
		d.decoded[path] = d.decoded[path] || d.decoded[p]
	}
	v.Set(s)
}

// mapping decodes a map. Its keys are strings (the path is "map.key") or
// whole numbers (the path is "map[3]").
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, depth int) {
	kt := v.Type().Key()
	numeric := false
	switch kt.Kind() {
	case reflect.String:
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		numeric = true
	default:
		d.errorf(path, "unsupported map key type %s", kt)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, "want a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		key := reflect.New(kt).Elem()
		p := join(path, k)
		if numeric {
			p = path + "[" + pathKey(k) + "]"
			x, err := strconv.ParseInt(k, 10, 64)
			if err != nil || key.OverflowInt(x) {
				d.keyf(p, "want a whole number as the key, got %s", Quote(k))
				continue
			}
			key.SetInt(x)
		} else {
			key.SetString(k)
		}
		if m.MapIndex(key).IsValid() {
			d.keyf(p, "given twice")
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(n.Content[i+1], e, p, depth+1)
		d.decoded[path] = d.decoded[path] || d.decoded[p]
		m.SetMapIndex(key, e)
	}
	v.Set(m)
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	ok := n.Kind == yaml.ScalarNode && n.Tag != "!!null"
	switch v.Kind() {
	case reflect.String:
		if !ok {
			d.errorf(path, "want a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if !ok || err != nil || n.Tag != "!!bool" && n.Tag != "!!str" {
			d.errorf(path, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if !ok || err != nil || v.OverflowInt(i) {
			d.errorf(path, "want a whole number, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.Value, 10, 64)
		if !ok || err != nil || v.OverflowUint(u) {
			d.errorf(path, "want a whole number of 0 or more, got %s", describe(n))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if !ok || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(path, "want a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(path, "unsupported field type %s", v.Type())
	}
}

// join appends a mapping key to a key path.
func join(path, key string) string {
	if path == "" {
		return pathKey(key)
	}
	return path + "." + pathKey(key)
}

// pathKey is key as a key path shows it: cut, quoted, when long.
func pathKey(key string) string {
	if utf8.RuneCountInString(key) > MaxQuoted {
		return Quote(key)
	}
	return key
}

// structInfo is what the decoder knows of a struct type.
type structInfo struct {
	index map[string]int // json name to field index
	names []string       // json names, in field order
	known string         // the json names, sorted, for messages
}

// info returns t's fields: exported fields by their json name (the field
// name without one); "-" skipped; embedded structs are not promoted.
func (d *decoder) info(t reflect.Type) *structInfo {
	if si := d.types[t]; si != nil {
		return si
	}
	si := &structInfo{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		si.index[name] = i
		si.names = append(si.names, name)
	}
	si.known = strings.Join(slices.Sorted(slices.Values(si.names)), ", ")
	d.types[t] = si
	return si
}

// structure decodes a mapping into the struct v; it reports whether n was
// a mapping.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, depth int) bool {
	si := d.info(v.Type())
	if n.Kind != yaml.MappingNode {
		d.errorf(path, "want a mapping with keys %s, got %s", strings.Join(si.names, ", "), describe(n))
		return false
	}
	seen := make([]bool, v.NumField())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		p := join(path, k)
		fi, ok := si.index[k]
		switch {
		case !ok:
			d.keyf(p, "unknown key (allowed: %s)", si.known)
		case seen[fi]:
			d.keyf(p, "given twice")
		default:
			seen[fi] = true
			d.value(n.Content[i+1], v.Field(fi), p, depth+1)
		}
	}
	return true
}

// validate calls the Validate method of the struct v, if it has one and is
// not the top-level value.
func (d *decoder) validate(v reflect.Value, path string, depth int) {
	if depth == 0 || d.stopped != "" || !v.Addr().Type().Implements(validator) {
		return
	}
	d.validated(v.Addr().Interface().(interface{ Validate() error }).Validate(), path, v.Type())
}

// validated reports the problems of err, a Validate method's error for the
// value of type t at path. Joined errors are taken apart; a problem that
// starts with a key path below the value whose first key is a field of t
// ("image: required", "on_exit[3]: ...") is reported at that path. A
// problem at a path whose value could not be decoded, or at a list or map
// some of whose entries could not be, is dropped: it is a consequence of
// that one (a field left empty because it was a list, a weekday listed
// twice because two unreadable ones were left Sunday).
func (d *decoder) validated(err error, path string, t reflect.Type) {
	for _, e := range flatten(err) {
		for _, text := range strings.Split(e.Error(), "\n") {
			p := path
			if sub, rest, ok := d.subPath(text, t); ok {
				p, text = below(path, sub), rest
			}
			if !d.decoded[p] {
				d.add(p, text)
			}
		}
	}
}

// subPath splits "key.path: text" where key is a field of the struct type t.
func (d *decoder) subPath(s string, t reflect.Type) (sub, rest string, ok bool) {
	sub, rest, ok = strings.Cut(s, ": ")
	if !ok || t.Kind() != reflect.Struct || strings.ContainsFunc(sub, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.[]", r))
	}) {
		return "", "", false
	}
	first := sub
	if i := strings.IndexAny(sub, ".["); i >= 0 {
		first = sub[:i]
	}
	_, ok = d.info(t).index[first]
	return sub, rest, ok
}

// below joins a relative key path onto path.
func below(path, sub string) string {
	if path == "" || strings.HasPrefix(sub, "[") {
		return path + sub
	}
	return path + "." + sub
}

// flatten returns the errors err joins, recursively, or err alone.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
