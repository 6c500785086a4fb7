package bundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

// Defaults of [Options].
const (
	// DefaultPrefix starts the bundle's name, as "jc_docker_data" does
	// JobCenter's.
	DefaultPrefix = "minato"
	// DefaultLogTail is how many lines of each container's log are kept.
	DefaultLogTail = 1000
	// DefaultDaemonConfig is where the Docker Engine reads its configuration.
	DefaultDaemonConfig = "/etc/docker/daemon.json"
	// DefaultListDepth is how many directory levels below a mount source
	// are listed.
	DefaultListDepth = 8
	// DefaultListEntries is how many entries one listing holds at most.
	DefaultListEntries = 10000
)

// Bounds that are not options: they keep one bundle to a size that can be
// attached to a support case.
const (
	// maxLogBytes bounds one container's log section.
	maxLogBytes = 8 << 20
	// maxEvents bounds one container's events.
	maxEvents = 1000
	// maxCopiedFile bounds a file copied out of a container or the host.
	maxCopiedFile = 1 << 20
	// maxExtra bounds one Options.Extra file.
	maxExtra = 16 << 20
	// fetchers is how many containers are read from the engine at once;
	// ahead how far reading may run ahead of writing (what was read waits
	// in memory).
	fetchers = 4
	ahead    = 8
	// statsAtOnce is how many stats samples are asked for at once.
	statsAtOnce = 64
)

// ErrCompress is wrapped by the error [Collect] returns when the directory
// was written but could not be compressed: the files are then in
// Result.Dir, as JobCenter's collector leaves them.
var ErrCompress = errors.New("bundle: failed to compress the files")

// Options says what [Collect] gathers and where it writes the bundle. The
// zero value collects every container of the engine into the current
// directory.
type Options struct {
	// Prefix starts the bundle's name: <Prefix>_<MMDDhhmm>_<Host>. Letters,
	// digits, ".", "_" and "-"; default DefaultPrefix ("minato").
	Prefix string `json:"prefix,omitempty"`
	// Dir is the directory the bundle is written into; created when
	// missing. Default "." (the current directory, as JobCenter's
	// collector writes into its own).
	Dir string `json:"dir,omitempty"`
	// Selector picks the containers collected, by label, name or ID; the
	// zero Selector picks every container, running or not. A name or ID
	// given exactly (no "*") that matches no container is reported in
	// Result.Errors.
	Selector inventory.Selector `json:"selector"`
	// LogTail is how many lines of each container's log are kept; 0 means
	// DefaultLogTail (1000). Each log is also cut at 8 MiB.
	LogTail int `json:"log_tail,omitempty"`
	// Host names the machine in the bundle's name; default os.Hostname.
	// Characters other than letters, digits, ".", "_" and "-" become "_".
	Host string `json:"host,omitempty"`
	// Now gives the time in the bundle's name (local time, MMDDhhmm) and
	// in system.info; default time.Now. The events of a container are
	// always read up to the real present.
	Now func() time.Time `json:"-"`
	// Progress, when set, receives every progress and error message, in
	// order, from the goroutine that called Collect; it must return
	// promptly.
	Progress func(msg string) `json:"-"`
	// Extra are files of minato's own state added to the bundle as they
	// are (after redaction; JSON when the name ends in ".json"): agent
	// status, the last findings. Names are plain file names (letters,
	// digits, ".", "_", "-") that the bundle does not use itself; at most
	// 16 MiB each.
	Extra map[string][]byte `json:"-"`
	// DaemonConfig is the path of the engine's configuration file, saved as
	// daemon.json; default DefaultDaemonConfig. The default is read only
	// when the engine is on this machine, and its absence is not an error
	// (the engine runs on its defaults); a path set here is always read.
	DaemonConfig string `json:"daemon_config,omitempty"`
	// DockerConfig is the path of a docker CLI configuration file
	// (~/.docker/config.json), saved as config.json with its registry
	// auths redacted, to show which registries have a login. Empty (the
	// default): not collected.
	DockerConfig string `json:"docker_config,omitempty"`
	// ListDepth is how many directory levels below each mount source are
	// listed; 0 means DefaultListDepth. ListEntries bounds the entries of
	// one listing; 0 means DefaultListEntries.
	ListDepth   int `json:"list_depth,omitempty"`
	ListEntries int `json:"list_entries,omitempty"`
}

// namePartRE is what a prefix and an Extra file name may hold.
var namePartRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate reports what is wrong with o, all problems joined: a prefix or
// Extra name with other characters, negative bounds, an invalid Selector.
// Zero values are fine: they mean the defaults.
func (o Options) Validate() error {
	var errs []error
	if o.Prefix != "" && (!namePartRE.MatchString(o.Prefix) || len(o.Prefix) > 64) {
		errs = append(errs, fmt.Errorf("bundle: prefix %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", o.Prefix))
	}
	if o.LogTail < 0 {
		errs = append(errs, fmt.Errorf("bundle: log tail %d: want 0 (default %d lines) or more", o.LogTail, DefaultLogTail))
	}
	if o.ListDepth < 0 {
		errs = append(errs, fmt.Errorf("bundle: list depth %d: want 0 (default %d) or more", o.ListDepth, DefaultListDepth))
	}
	if o.ListEntries < 0 {
		errs = append(errs, fmt.Errorf("bundle: list entries %d: want 0 (default %d) or more", o.ListEntries, DefaultListEntries))
	}
	if err := o.Selector.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("bundle: selector: %w", err))
	}
	for name, b := range o.Extra {
		switch {
		case !namePartRE.MatchString(name) || len(name) > 100:
			errs = append(errs, fmt.Errorf("bundle: extra file %q: want a plain file name of letters, digits, '.', '_' or '-'", name))
		case reservedName(name):
			errs = append(errs, fmt.Errorf("bundle: extra file %q: the bundle writes a file of that name itself; choose another", name))
		case len(b) > maxExtra:
			errs = append(errs, fmt.Errorf("bundle: extra file %q: %d bytes; at most %d", name, len(b), maxExtra))
		}
	}
	return errors.Join(errs...)
}

// reservedName says whether the bundle writes (or may write) name itself.
func reservedName(name string) bool {
	switch name {
	case fileEngine, fileDaemon, fileDockerCfg, fileNet, fileSystem, fileMount, fileLog, fileRedactions:
		return true
	}
	return strings.HasPrefix(name, "container_") || strings.HasPrefix(name, "network_") || strings.HasPrefix(name, "ls_")
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.LogTail == 0 {
		o.LogTail = DefaultLogTail
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Host == "" {
		if h, err := os.Hostname(); err == nil {
			o.Host = h
		}
	}
	o.Host = safeName(o.Host)
	if o.Host == "" {
		o.Host = "localhost"
	}
	if o.ListDepth == 0 {
		o.ListDepth = DefaultListDepth
	}
	if o.ListEntries == 0 {
		o.ListEntries = DefaultListEntries
	}
	return o
}

// Redaction is one kind of secret removed from one file of the bundle.
type Redaction struct {
	// File is the file's name inside the bundle directory.
	File string `json:"file"`
	// Key is what held the secret: the variable, label, JSON key or flag
	// name, "Authorization header", "URL password", "PEM private key", or
	// for KindValue the name the value was learnt under. Never the value.
	Key string `json:"key"`
	// Kind is the rule that found it: KindNameValue, KindJSONKey, ...
	Kind string `json:"kind"`
	// Count is how many times it was replaced in the file.
	Count int `json:"count"`
}

// Result is what [Collect] wrote.
type Result struct {
	// Path is the archive, <Dir>/<prefix>_<MMDDhhmm>_<host>.tar.gz; empty
	// when it could not be written.
	Path string `json:"path,omitempty"`
	// Dir is the bundle directory when it was kept: compression failed
	// (ErrCompress) or the collection stopped half way (ctx ended). Empty
	// when the archive holds everything and the directory was removed.
	Dir string `json:"dir,omitempty"`
	// Files are the files written, relative to the bundle directory, in
	// the order they were written.
	Files []string `json:"files"`
	// Redactions are what was redacted, by file, key and kind.
	Redactions []Redaction `json:"redactions"`
	// Errors are partial failures that did not stop the collection, one
	// line each (a container removed meanwhile, a log the engine cannot
	// read back, a directory that cannot be listed). They are also in the
	// bundle's collect.log.
	Errors []string `json:"errors,omitempty"`
}

// safeName replaces every character but letters, digits, ".", "_" and "-"
// by "_".
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(isWordByte(c) || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Name returns the bundle's base name for the time and host:
// <prefix>_<MMDDhhmm>_<host>, with the defaults applied as [Collect] does
// (the month, day, hour and minute of t in t's location).
func Name(prefix, host string, t time.Time) string {
	o := Options{Prefix: prefix, Host: host, Now: func() time.Time { return t }}.withDefaults()
	return o.Prefix + "_" + t.Format("01021504") + "_" + o.Host
}

// progress reports a message; the collector's log keeps it too.
func (o Options) progress(msg string) {
	if o.Progress != nil {
		o.Progress(msg)
	}
}

// Collect gathers the support bundle from the engine c talks to and
// writes it to <Dir>/<prefix>_<MMDDhhmm>_<host>.tar.gz (see the package
// documentation for its files). It reports, through o.Progress and in
// this order, JobCenter's collector messages:
//
//	Start to get docker info.
//	Start to copy system files.
//	Start to get net info.
//	Start to get system info.
//	Start to get container(<id>) info.              for each container:
//	Start to copy files from container(<id>).       its /etc/hosts, resolv.conf, hostname
//	Start to get container(<id>) network info.
//	Start to get container(<id>) mount info.
//	Start to compress.
//	The Info file "<path>" was created successfully.
//
// where <id> is the container's short ID. When the engine does not
// answer, Collect reports "docker version error. Get docker info error!
// Stop." (or "docker info error. ..." when only /info fails) and returns
// the engine's error, having written nothing. When the archive cannot be
// written it reports "tar error. Failed to compress the files! Stop." (the
// archive cannot be created, or a collected file read back) or "gzip
// error. Failed to compress the files! Stop." (writing the compressed
// data failed: disk space or quota), then where the files were kept, and
// returns an error wrapping [ErrCompress] with Result.Dir set. Failures
// that concern one container or file are reported through Progress (as
// "Error: " and the line), listed in Result.Errors and collect.log, and do
// not stop the rest. JobCenter's "Start to copy mgsv files from
// container(<id>)." becomes "Start to copy files from container(<id>)."
// (there are no JobCenter server files here); its root-only check has no
// counterpart (access to the engine is what matters).
//
// A bundle directory of the same name that already exists in Dir (a
// collection in the same minute) is an error; an archive of the same name
// is replaced. The bundle's files are readable by their owner only.
func Collect(ctx context.Context, c *container.Client, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if c == nil {
		return Result{}, errors.New("bundle: no engine client: give a *container.Client")
	}
	col := &collector{c: c, o: o.withDefaults(), red: newRedactor(), written: map[string]bool{}, listedSrc: map[string]bool{}}
	return col.run(ctx)
}
