// Package cli is the minato command line: flag parsing, wiring of the
// library packages, output formatting and exit codes. It is the only place
// (with main) where flags, exit codes and user-facing text live; the library
// packages know nothing of them.
package cli
