// Package strictyaml decodes YAML or JSON into Go structs through their
// json tags, rejecting unknown keys and wrong types with the key path
// ("checks[1].thresholds[0].warning") and what is allowed. It collects
// every problem instead of stopping at the first, so a configuration file
// can be fixed in one go.
//
// Supported field types: string, bool, int kinds, float kinds,
// time.Duration (written "30s", "1m30s"), slices, maps with string keys,
// structs and pointers to structs, and any type implementing
// encoding.TextUnmarshaler (written as a string).
package strictyaml
