package image

import (
	"errors"
	"strings"
	"testing"
)

const pullStream = `{"status":"Pulling from minato/web","id":"1"}
{"status":"Already exists","progressDetail":{},"id":"4f4fb700ef54"}
{"status":"Pulling fs layer","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Waiting","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Downloading","progressDetail":{"current":1000,"total":5000},"progress":"[==>   ]","id":"a1b2c3d4e5f6"}
{"status":"Downloading","progressDetail":{"current":4000,"total":5000},"progress":"[====> ]","id":"a1b2c3d4e5f6"}
{"status":"Verifying Checksum","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Download complete","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Extracting","progressDetail":{"current":5000,"total":5000},"id":"a1b2c3d4e5f6"}
{"status":"Pull complete","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Digest: sha256:0123456789012345678901234567890123456789012345678901234567890123"}
{"status":"Status: Downloaded newer image for 127.0.0.1:5000/minato/web:1"}
`

const pushStream = `{"status":"The push refers to repository [127.0.0.1:5000/minato/web]"}
{"status":"Preparing","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Pushing","progressDetail":{"current":512,"total":5000},"progress":"[>  ]","id":"a1b2c3d4e5f6"}
{"status":"Pushed","progressDetail":{},"id":"a1b2c3d4e5f6"}
{"status":"Layer already exists","progressDetail":{},"id":"4f4fb700ef54"}
{"status":"1: digest: sha256:abababababababababababababababababababababababababababababababab size: 735"}
{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:abababababababababababababababababababababababababababababababab","Size":735}}
`

func decodeAll(t *testing.T, s string) ([]Progress, error) {
	t.Helper()
	var out []Progress
	err := decodeStream(strings.NewReader(s), func(m *jsonMessage) error {
		if p, ok := toProgress(m); ok {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func TestPullStream(t *testing.T) {
	ps, err := decodeAll(t, pullStream)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, p := range ps {
		actions = append(actions, p.Action)
	}
	want := "status exists waiting waiting downloading downloading verifying complete extracting complete status status"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("actions\n got %s\nwant %s", got, want)
	}
	if p := ps[4]; p.Layer != "a1b2c3d4e5f6" || p.Current != 1000 || p.Total != 5000 || p.Note != "Downloading" {
		t.Errorf("downloading: %+v", p)
	}
	if p := ps[0]; p.Layer != "" || p.Note != "Pulling from minato/web" {
		t.Errorf("first: %+v", p)
	}
	var tally pullTally
	if err := decodeStream(strings.NewReader(pullStream), func(m *jsonMessage) error { tally.add(m); return nil }); err != nil {
		t.Fatal(err)
	}
	if tally.downloaded() != 5000 || tally.upToDate || !strings.HasPrefix(tally.digest, "sha256:0123") {
		t.Errorf("tally %+v", tally)
	}
	tally = pullTally{}
	_ = decodeStream(strings.NewReader(`{"status":"Digest: sha256:00"}{"status":"Status: Image is up to date for x:1"}`), func(m *jsonMessage) error { tally.add(m); return nil })
	if !tally.upToDate || tally.downloaded() != 0 {
		t.Errorf("up to date tally %+v", tally)
	}
}

func TestPushStream(t *testing.T) {
	ps, err := decodeAll(t, pushStream)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, p := range ps {
		actions = append(actions, p.Action)
	}
	if got, want := strings.Join(actions, " "), "status preparing pushing pushed exists status"; got != want {
		t.Errorf("actions\n got %s\nwant %s", got, want)
	}
	for _, s := range []string{pushStream, strings.ReplaceAll(pushStream, `"aux"`, `"other"`)} {
		var tally pushTally
		if err := decodeStream(strings.NewReader(s), func(m *jsonMessage) error { tally.add(m); return nil }); err != nil {
			t.Fatal(err)
		}
		if tally.digest != "sha256:"+strings.Repeat("ab", 32) || tally.size != 735 {
			t.Errorf("tally %+v", tally)
		}
	}
}

func TestStreamErrors(t *testing.T) {
	s := `{"status":"Preparing","id":"a1b2c3d4e5f6"}
{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}
{"status":"after the error","id":"a1b2c3d4e5f6"}
`
	n := 0
	err := decodeStream(strings.NewReader(s), func(*jsonMessage) error { n++; return nil })
	var se *streamError
	if !errors.As(err, &se) || se.Message != "unauthorized: authentication required" || n != 1 {
		t.Errorf("error %v after %d messages", err, n)
	}
	// "error" alone, without errorDetail.
	err = decodeStream(strings.NewReader(`{"error":"boom"}`), nil)
	if err == nil || err.Error() != "boom" {
		t.Errorf("plain error: %v", err)
	}
	// A truncated stream.
	err = decodeStream(strings.NewReader(`{"status":"Pre`), nil)
	if err == nil || !strings.Contains(err.Error(), "message stream") {
		t.Errorf("truncated: %v", err)
	}
	// The callback's error stops the callbacks but the stream is drained.
	n = 0
	err = decodeStream(strings.NewReader(pullStream), func(*jsonMessage) error { n++; return errors.New("stop") })
	if err == nil || err.Error() != "stop" || n != 1 {
		t.Errorf("callback error: %v after %d", err, n)
	}
}

func TestClassify(t *testing.T) {
	r, _ := ParseReference("127.0.0.1:5000/minato/web:1")
	cases := []struct {
		msg            string
		auth, notFound bool
	}{
		{"unauthorized: authentication required", true, false},
		{"Head \"http://127.0.0.1:5000/v2/minato/web/manifests/1\": no basic auth credentials", true, false},
		{"denied: requested access to the resource is denied", true, false},
		{"received unexpected HTTP status: 401 Unauthorized", true, false},
		{"pull access denied for x, repository does not exist or may require 'docker login'", true, true},
		{"manifest for 127.0.0.1:5000/minato/web:1 not found: manifest unknown: manifest unknown", false, true},
		{"manifest for x@sha256:4010000000000000000000000000000000000000000000000000000000000000 not found", false, true},
		{"dial tcp 127.0.0.1:5000: connect: connection refused", false, false},
	}
	for _, c := range cases {
		err := classify("pull", r, true, errors.New(c.msg))
		if IsAuth(err) != c.auth || errors.Is(err, ErrNotFound) != c.notFound {
			t.Errorf("%q: IsAuth %v, ErrNotFound %v; want %v, %v (%v)", c.msg, IsAuth(err), errors.Is(err, ErrNotFound), c.auth, c.notFound, err)
		}
		if !strings.Contains(err.Error(), "127.0.0.1:5000") {
			t.Errorf("%q: the error does not name the registry: %v", c.msg, err)
		}
	}
}

func FuzzDecodeStream(f *testing.F) {
	f.Add(pullStream)
	f.Add(pushStream)
	f.Add(`{"errorDetail":{"message":"x"}}`)
	f.Add(`{"status":"1: digest: sha256:00 size: -1"}`)
	f.Add(`{"status":"Downloading","progressDetail":{"current":-5,"total":-1},"id":"abcdefabcdef"}`)
	f.Add(`{"aux":"not an object"}{"aux":{"ID":1}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var pull pullTally
		var push pushTally
		_ = decodeStream(strings.NewReader(s), func(m *jsonMessage) error {
			pull.add(m)
			push.add(m)
			if p, ok := toProgress(m); ok {
				if p.Action == "" || p.Current < 0 || p.Total < 0 {
					t.Fatalf("bad progress %+v from %+v", p, m)
				}
			}
			return nil
		})
		if pull.downloaded() < 0 {
			t.Fatalf("negative download count %d", pull.downloaded())
		}
	})
}
