package bundle_test

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/minato-ops/minato/container/enginetest"
)

// fixtures is the fake engine's directory: two containers (db running
// with secrets in its environment, web exited), a third listed but
// removed ("gone": no inspect document), two networks.
const fixtures = "testdata/engine"

// Full IDs of the fixture containers.
const (
	dbID   = "d1b0a1e0c0ffee00d1b0a1e0c0ffee00d1b0a1e0c0ffee00d1b0a1e0c0ffee00"
	webID  = "e2e2e2e2f00dcafee2e2e2e2f00dcafee2e2e2e2f00dcafee2e2e2e2f00dcafe"
	goneID = "f3f3f3f3deadbeeff3f3f3f3deadbeeff3f3f3f3deadbeeff3f3f3f3deadbeef"
	netB   = "9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d9b1d"
	netA   = "a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a0a99a"
)

// startFake serves dir with the endpoints enginetest does not answer
// itself: networks, volumes, images, system df, logs and archive.
func startFake(dir string, opts ...enginetest.Option) (*enginetest.Server, error) {
	file := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, `{"message":%q}`, err.Error())
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
		}
	}
	notFound := func(w http.ResponseWriter, ref string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"No such container: %s"}`, ref)
	}
	logs := func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		b, err := os.ReadFile(filepath.Join(dir, "logs_"+id+".txt"))
		if err != nil {
			notFound(w, id)
			return
		}
		var doc struct{ Config struct{ Tty bool } }
		ib, _ := os.ReadFile(filepath.Join(dir, "inspect_"+id+".json"))
		_ = json.Unmarshal(ib, &doc)
		w.WriteHeader(http.StatusOK)
		if doc.Config.Tty {
			_, _ = w.Write(b)
			return
		}
		hdr := make([]byte, 8)
		hdr[0] = 1 // stdout
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(b)))
		_, _ = w.Write(append(hdr, b...))
	}
	archive := func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := os.Stat(filepath.Join(dir, "inspect_"+id+".json")); err != nil {
			notFound(w, id)
			return
		}
		p := r.URL.Query().Get("path")
		content := map[string]string{
			"/etc/hosts":       "127.0.0.1\tlocalhost\n172.17.0.2\t" + id[:12] + "\n",
			"/etc/resolv.conf": "nameserver 127.0.0.11\noptions ndots:0\n",
			"/etc/hostname":    id[:12] + "\n",
		}[p]
		if content == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"message":"Could not find the file %s in container %s"}`, p, id)
			return
		}
		stat, _ := json.Marshal(map[string]any{"name": path.Base(p), "size": len(content), "mode": 0o644, "mtime": time.Unix(1735732800, 0).UTC()})
		w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(stat))
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: path.Base(p), Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1735732800, 0)})
		_, _ = tw.Write([]byte(content))
		_ = tw.Close()
		w.Header().Set("Content-Type", "application/x-tar")
		_, _ = w.Write(buf.Bytes())
	}
	all := []enginetest.Option{
		enginetest.WithAPIVersion("1.41"),
		enginetest.WithHandler("GET", "/networks", file("networks.json")),
		enginetest.WithHandler("GET", "/volumes", file("volumes.json")),
		enginetest.WithHandler("GET", "/images/json", file("images.json")),
		enginetest.WithHandler("GET", "/system/df", file("system_df.json")),
		enginetest.WithHandler("GET", "/containers/{id}/logs", logs),
		enginetest.WithHandler("GET", "/containers/{id}/archive", archive),
	}
	return enginetest.Start(dir, append(all, opts...)...)
}

// stripDir removes dir from a progress message, for stable output.
func stripDir(msg, dir string) string {
	return strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
}
