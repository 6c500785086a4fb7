package enginetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
	timetypes "github.com/docker/docker/api/types/time"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/pkg/stdcopy"
)

func versionLess(a, b string) bool { return versions.LessThan(a, b) }

func (s *Server) routes() {
	m := s.builtin
	m.HandleFunc("HEAD /_ping", s.ping)
	m.HandleFunc("GET /_ping", s.ping)
	m.HandleFunc("GET /version", s.version)
	m.HandleFunc("GET /info", s.fixture("info.json"))
	m.HandleFunc("GET /containers/json", s.list)
	m.HandleFunc("GET /containers/{ref}/json", s.perContainer("inspect_%s.json", false))
	m.HandleFunc("GET /containers/{ref}/top", s.perContainer("top_%s.json", true))
	m.HandleFunc("GET /containers/{ref}/stats", s.stats)
	for _, op := range []string{"start", "stop", "restart", "kill"} {
		m.HandleFunc("POST /containers/{ref}/"+op, s.lifecycle)
	}
	m.HandleFunc("DELETE /containers/{ref}", s.lifecycle)
	m.HandleFunc("POST /containers/{ref}/exec", s.execCreate)
	m.HandleFunc("POST /exec/{id}/start", s.execStart)
	m.HandleFunc("GET /exec/{id}/json", s.execInspect)
	m.HandleFunc("GET /events", s.events)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "page not found")
	})
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", "inactive")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, "OK")
	}
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	v := map[string]any{}
	if !s.readJSON("version.json", &v) {
		v = map[string]any{"Version": "28.5.2", "MinAPIVersion": MinAPIVersion, "Os": "linux", "Arch": "amd64"}
	}
	v["ApiVersion"] = s.apiVersion
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) fixture(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, ok := s.readFile(name)
		if !ok {
			writeError(w, http.StatusInternalServerError, "enginetest: no fixture "+name)
			return
		}
		writeRaw(w, b)
	}
}

// summary is the part of a containers.json entry the server looks at.
type summary struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	State  string            `json:"State"`
	Labels map[string]string `json:"Labels"`
}

// known is a container the fixtures describe.
type known struct {
	id    string
	names []string
	state string
}

// containers returns every container the fixtures know, with the raw
// containers.json entries in their order.
func (s *Server) containers() ([]known, []json.RawMessage) {
	var raws []json.RawMessage
	s.readJSON("containers.json", &raws)
	var out []known
	for _, raw := range raws {
		var sm summary
		if err := json.Unmarshal(raw, &sm); err != nil {
			s.report("enginetest: fixture containers.json: %v", err)
			continue
		}
		k := known{id: sm.ID, state: strings.ToLower(sm.State)}
		for _, n := range sm.Names {
			k.names = append(k.names, strings.TrimPrefix(n, "/"))
		}
		out = append(out, k)
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "inspect_*.json"))
	for _, f := range files {
		id := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "inspect_"), ".json")
		var doc struct {
			Name  string
			State *struct{ Status string }
		}
		if !s.readJSON(filepath.Base(f), &doc) {
			continue
		}
		i := slices.IndexFunc(out, func(k known) bool { return k.id == id })
		if i < 0 {
			out = append(out, known{id: id})
			i = len(out) - 1
		}
		if n := strings.TrimPrefix(doc.Name, "/"); n != "" && !slices.Contains(out[i].names, n) {
			out[i].names = append(out[i].names, n)
		}
		if doc.State != nil && doc.State.Status != "" {
			out[i].state = strings.ToLower(doc.State.Status)
		}
	}
	return out, raws
}

// resolve finds the container ref names as the engine does: full ID, then
// name, then unique ID prefix. It answers the engine's error itself and
// returns false when there is none.
func (s *Server) resolve(w http.ResponseWriter, ref string) (known, bool) {
	all, _ := s.containers()
	name := strings.TrimPrefix(ref, "/")
	for _, k := range all {
		if k.id == ref {
			return k, true
		}
	}
	for _, k := range all {
		if slices.Contains(k.names, name) {
			return k, true
		}
	}
	var found []known
	for _, k := range all {
		if ref != "" && strings.HasPrefix(k.id, ref) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 1:
		return found[0], true
	case 0:
		writeError(w, http.StatusNotFound, "No such container: "+ref)
	default:
		writeError(w, http.StatusBadRequest, "multiple IDs found with provided prefix: "+ref)
	}
	return known{}, false
}

// running says whether the engine counts the state as running (docker ps
// without -a lists these).
func running(state string) bool {
	return state == "running" || state == "paused" || state == "restarting"
}

var containerStates = []string{"created", "running", "paused", "restarting", "removing", "exited", "dead"}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := f.Validate(map[string]bool{"label": true, "status": true}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	all := boolValue(r, "all")
	for _, st := range f.Get("status") {
		if !slices.Contains(containerStates, st) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid filter 'status=%s'", st))
			return
		}
		all = true
	}
	_, raws := s.containers()
	out := []json.RawMessage{}
	for _, raw := range raws {
		var sm summary
		_ = json.Unmarshal(raw, &sm)
		state := strings.ToLower(sm.State)
		if !all && !running(state) {
			continue
		}
		if f.Contains("status") && !f.ExactMatch("status", state) {
			continue
		}
		if !f.MatchKVList("label", sm.Labels) {
			continue
		}
		out = append(out, raw)
	}
	writeJSON(w, http.StatusOK, out)
}

// boolValue is the engine's httputils.BoolValue.
func boolValue(r *http.Request, k string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(k))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// perContainer serves a per-container fixture; needRunning answers 409 for
// a container that is not running.
func (s *Server) perContainer(pattern string, needRunning bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, ok := s.resolve(w, r.PathValue("ref"))
		if !ok {
			return
		}
		if needRunning && !running(k.state) {
			writeError(w, http.StatusConflict, fmt.Sprintf("container %s is not running", k.id))
			return
		}
		s.fixture(fmt.Sprintf(pattern, k.id))(w, r)
	}
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	k, ok := s.resolve(w, r.PathValue("ref"))
	if !ok {
		return
	}
	name := "stats_" + k.id + ".json"
	b, ok := s.readFile(name)
	if !ok {
		writeError(w, http.StatusInternalServerError, "enginetest: no fixture "+name)
		return
	}
	var samples []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		if err := json.Unmarshal(b, &samples); err != nil {
			s.report("enginetest: fixture %s: %v", name, err)
		}
	} else {
		samples = []json.RawMessage{b}
	}
	if len(samples) == 0 {
		writeError(w, http.StatusInternalServerError, "enginetest: no sample in "+name)
		return
	}
	stream := r.URL.Query().Get("stream") == "" || boolValue(r, "stream") // the engine streams by default
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if !stream {
		samples = samples[:1]
	}
	for _, sm := range samples {
		var buf bytes.Buffer
		if err := json.Compact(&buf, sm); err != nil {
			s.report("enginetest: fixture %s: %v", name, err)
			return
		}
		buf.WriteByte('\n')
		_, _ = w.Write(buf.Bytes())
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
}

func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.resolve(w, r.PathValue("ref")); !ok {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// event is the part of an events.jsonl line the server filters on.
type event struct {
	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  struct {
		ID         string            `json:"ID"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

func (e event) nanos() int64 {
	if e.TimeNano != 0 {
		return e.TimeNano
	}
	return e.Time * 1e9
}

func (e event) match(f filters.Args) bool {
	action, _, _ := strings.Cut(e.Action, ":")
	switch {
	case !f.ExactMatch("type", e.Type),
		!(f.ExactMatch("event", e.Action) || f.ExactMatch("event", action)),
		!f.ExactMatch("scope", e.Scope),
		e.Type == "container" && !(f.ExactMatch("container", e.Actor.ID) || f.ExactMatch("container", e.Actor.Attributes["name"])),
		e.Type != "container" && f.Contains("container") && !f.ExactMatch("container", e.Actor.Attributes["container"]),
		!f.ExactMatch("image", e.Actor.Attributes["image"]),
		!f.MatchKVList("label", e.Actor.Attributes):
		return false
	}
	return true
}

func parseSince(q string, dflt int64) (int64, error) {
	if q == "" {
		return dflt, nil
	}
	sec, nsec, err := timetypes.ParseTimestamps(q, 0)
	if err != nil {
		return 0, err
	}
	return sec*1e9 + nsec, nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := filters.FromJSON(q.Get("filters"))
	if err == nil {
		err = f.Validate(map[string]bool{"type": true, "event": true, "container": true, "image": true, "label": true, "scope": true})
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	since, err := parseSince(q.Get("since"), -1<<63)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	until, err := parseSince(q.Get("until"), 1<<63-1)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b, _ := s.readFile("events.jsonl")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			s.report("enginetest: fixture events.jsonl: %v", err)
			return
		}
		if t := e.nanos(); t < since || t > until || !e.match(f) {
			continue
		}
		_, _ = w.Write(append(append([]byte(nil), line...), '\n'))
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
}

// execInstance is one exec the server created.
type execInstance struct {
	id, container string
	tty, stdin    bool
	started, done bool
	exitCode      int
}

// execFixture is the content of exec_<id>.json.
type execFixture struct {
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
	ExitCode  int    `json:"exit_code"`
	EchoStdin bool   `json:"echo_stdin"`
}

func (s *Server) execCreate(w http.ResponseWriter, r *http.Request) {
	k, ok := s.resolve(w, r.PathValue("ref"))
	if !ok {
		return
	}
	var cfg struct {
		Tty         bool
		AttachStdin bool
		Cmd         []string
	}
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
		writeError(w, http.StatusBadRequest, "enginetest: exec config: "+err.Error())
		return
	}
	if len(cfg.Cmd) == 0 {
		writeError(w, http.StatusBadRequest, "No exec command specified")
		return
	}
	if !running(k.state) || k.state == "paused" {
		writeError(w, http.StatusConflict, fmt.Sprintf("container %s is not running", k.id))
		return
	}
	ex := &execInstance{id: randomID(), container: k.id, tty: cfg.Tty, stdin: cfg.AttachStdin}
	s.mu.Lock()
	s.execs[ex.id] = ex
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"Id": ex.id})
}

func (s *Server) exec(w http.ResponseWriter, id string) (*execInstance, bool) {
	s.mu.Lock()
	ex, ok := s.execs[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "No such exec instance: "+id)
	}
	return ex, ok
}

func (s *Server) execStart(w http.ResponseWriter, r *http.Request) {
	ex, ok := s.exec(w, r.PathValue("id"))
	if !ok {
		return
	}
	name := "exec_" + ex.container + ".json"
	var fx execFixture
	if !s.readJSON(name, &fx) {
		writeError(w, http.StatusInternalServerError, "enginetest: no fixture "+name)
		return
	}
	s.mu.Lock()
	already := ex.started
	ex.started = true
	s.mu.Unlock()
	if already {
		writeError(w, http.StatusConflict, "Error: Exec command "+ex.id+" has already run")
		return
	}
	if !strings.EqualFold(r.Header.Get("Connection"), "Upgrade") {
		// Detached start: nothing to stream.
		s.finish(ex, fx.ExitCode)
		w.WriteHeader(http.StatusOK)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, "enginetest: cannot hijack")
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		s.report("enginetest: hijack: %v", err)
		return
	}
	defer conn.Close()
	ctype := "application/vnd.docker.multiplexed-stream"
	if ex.tty {
		ctype = "application/vnd.docker.raw-stream"
	}
	_, _ = fmt.Fprintf(rw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ctype)
	stdout, stderr := io.Writer(rw), io.Writer(rw)
	if !ex.tty {
		stdout, stderr = stdcopy.NewStdWriter(rw, stdcopy.Stdout), stdcopy.NewStdWriter(rw, stdcopy.Stderr)
	}
	writeStr(stdout, fx.Stdout)
	writeStr(stderr, fx.Stderr)
	_ = rw.Flush()
	if fx.EchoStdin && ex.stdin {
		in, _ := io.ReadAll(rw)
		if len(in) > 0 {
			_, _ = stdout.Write(in)
		}
	}
	_ = rw.Flush()
	s.finish(ex, fx.ExitCode)
}

func writeStr(w io.Writer, s string) {
	if s != "" {
		_, _ = io.WriteString(w, s)
	}
}

func (s *Server) finish(ex *execInstance, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex.exitCode, ex.done = code, true
}

func (s *Server) execInspect(w http.ResponseWriter, r *http.Request) {
	ex, ok := s.exec(w, r.PathValue("id"))
	if !ok {
		return
	}
	s.mu.Lock()
	doc := map[string]any{"ID": ex.id, "ContainerID": ex.container, "Running": ex.started && !ex.done, "OpenStdin": ex.stdin, "Pid": 0, "ExitCode": nil}
	if ex.done {
		doc["ExitCode"] = ex.exitCode
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}
