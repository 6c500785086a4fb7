// Package strictyaml decodes YAML or JSON into Go structs through their
// json tags, rejecting unknown keys and wrong types with the key path
// ("checks[1].thresholds[0].warning") and what is allowed. It collects
// every problem instead of stopping at the first, so a configuration file
// can be fixed in one go. It is the one decoder of minato's configuration
// and job files.
//
// # Types
//
// Supported field types: string, bool (true or false), int and uint kinds
// (whole numbers), float kinds (finite numbers), time.Duration (written
// "30s", "1m30s"; not negative), slices (an empty list gives an empty,
// non-nil slice), maps with string keys (key path "env.HOME") or whole
// number keys (key path "on_exit[3]"), structs and pointers to them (null
// sets a pointer to nil), and types implementing encoding.TextUnmarshaler,
// written as a string.
//
// A struct type that implements encoding.TextUnmarshaler but not
// encoding.TextMarshaler is written either way: a string goes to its
// UnmarshalText (a shorthand, such as a cron spec for a whole schedule)
// and a mapping to its fields. A type that implements both, such as a date
// or time.Time, is a string only. (encoding/json refuses a JSON object for
// any TextUnmarshaler: a type also decoded with it needs an UnmarshalJSON.)
//
// An UnmarshalText error is reported after the quoted value, unless it
// quotes the value itself (`weekday "funday": want ...`).
//
// # Validation
//
// After a struct value below the top level is decoded (from a mapping, or
// from a string by UnmarshalText), its Validate method is called when its
// pointer has one (interface{ Validate() error }, a value receiver will
// do). Each problem of the error it returns (joined errors and lines are
// taken apart) is reported under the value's key path. A problem that
// starts with a key path below the value whose first key is one of its
// fields ("image: required", "on_exit[3]: ...") is reported at that path
// ("units[0].run.image: required"). A problem at a key path whose value
// could not be decoded (it was left zero), or at a list or map some of
// whose entries could not be, is dropped as a consequence. A Validate method
// checks its own fields: the decoder has already validated those that
// have a Validate of their own. The value passed to Unmarshal is not
// validated (see [Options].Validate).
//
// # Limits
//
// Decoding a hostile document costs little: a document is at most
// MaxBytes, at most MaxValues values are decoded (aliases expanded, so an
// alias bomb fails at once), values nest at most MaxDepth deep, at most
// MaxProblems problems are listed, and values are quoted with [Quote], so
// a message never echoes more than MaxQuoted characters of a value nor is
// longer than MaxMessage.
package strictyaml
