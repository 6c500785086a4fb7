package app

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCompose(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "web.env"), "FROM_FILE=1\n")
	doc := `
services:
  web:
    image: nginx:1.27
    build: .
    command: ["sleep", "forever"]
    environment:
      A: "1"
      B: ${HOME_X:-dflt}
    env_file: web.env
    ports: ["127.0.0.1:8080-8081:80"]
    volumes:
      - data:/data
      - ./site:/site:ro
      - type: tmpfs
        target: /tmp
    networks: [back]
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 256M}
        reservations: {memory: 64M}
      placement: {constraints: ["node.role==manager"]}
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "/bin/true"]
      interval: 5s
      retries: 2
    labels: {team: ops}
    depends_on: [db]
    secrets: [pw]
  db:
    image: postgres:16
volumes:
  data: {}
networks:
  back: {}
secrets:
  pw: {file: ./pw.txt}
`
	specs, warns, err := ParseCompose(context.Background(), ComposeInput{Path: filepath.Join(dir, "compose.yaml"), Data: []byte(doc)}, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[1].Name != "shop-web" || specs[0].Name != "shop-db" {
		t.Fatalf("specs %+v", specs)
	}
	w := specs[1]
	if w.Image != "nginx:1.27" || w.ReplicaCount() != 2 || w.Resources.CPUs != 0.5 || w.Resources.Memory != "268435456" ||
		w.Restart != "unless-stopped" || w.Labels["team"] != "ops" || !slices.Equal(w.Command, []string{"sleep", "forever"}) {
		t.Fatalf("web %+v", w)
	}
	if w.Env["A"] != "1" || w.Env["B"] != "dflt" || w.Env["FROM_FILE"] != "1" {
		t.Fatalf("env %v", w.Env)
	}
	if !slices.Equal(w.Ports, []string{"127.0.0.1:8080-8081:80/tcp"}) || !slices.Equal(w.Networks, []string{"shop_back"}) || !slices.Equal(w.Volumes, []string{"shop_data"}) {
		t.Fatalf("ports/networks/volumes %v %v %v", w.Ports, w.Networks, w.Volumes)
	}
	if len(w.Mounts) != 3 || w.Mounts[1].Source != filepath.Join(dir, "site") || !w.Mounts[1].ReadOnly || w.Mounts[2].Type != "tmpfs" {
		t.Fatalf("mounts %+v", w.Mounts)
	}
	if w.Healthcheck == nil || w.Healthcheck.Interval != 5*time.Second || w.Healthcheck.Retries != 2 {
		t.Fatalf("healthcheck %+v", w.Healthcheck)
	}
	var ws []string
	for _, x := range warns {
		ws = append(ws, x.String())
	}
	all := strings.Join(ws, "\n")
	for _, want := range []string{"services.web.build:", "services.web.depends_on:", "services.web.secrets:", "services.web.deploy.placement:", "services.web.deploy.resources.reservations:", "secrets: top-level"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if len(specs[0].Networks) != 0 {
		t.Errorf("implicit default network mapped: %v", specs[0].Networks)
	}
	// Fixed host port with 2 replicas: the error names the service and field.
	bad := strings.Replace(doc, "8080-8081:80", "8080:80", 1)
	_, _, err = ParseCompose(context.Background(), ComposeInput{Path: filepath.Join(dir, "compose.yaml"), Data: []byte(bad)}, "shop")
	if err == nil || !strings.Contains(err.Error(), "services.web: ports[0]") {
		t.Fatalf("fixed port with replicas: %v", err)
	}
}
