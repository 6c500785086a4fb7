package enginetest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
)

// Point a container.Client at the fake engine, call it, and look at the
// request the Docker client sent.
func Example() {
	srv, err := enginetest.Start("../testdata/engine/basic", enginetest.WithAPIVersion("1.41"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := container.New(container.Config{Host: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	res, err := c.List(ctx, container.ListOptions{All: true, Labels: map[string]string{"app": "web"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range res.Containers {
		fmt.Println(s.Name, s.State)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/containers/json" {
			fmt.Println(r.Method, "/v"+r.Version+r.Path, r.Query.Get("all"), r.Query.Get("filters"))
		}
	}
	// Output:
	// web-1 running
	// web-2 exited
	// GET /v1.41/containers/json 1 {"label":{"app=web":true}}
}

// A handler added with WithHandler answers an endpoint the fixtures do not
// cover, or replaces a built-in one.
func ExampleWithHandler() {
	srv, err := enginetest.Start("", enginetest.WithHandler("POST", "/containers/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"message":"cannot stop container: %s: permission denied"}`, r.PathValue("id"))
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := container.New(container.Config{Host: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, err = c.Stop(context.Background(), "web-1", container.StopOptions{})
	fmt.Println(err)
	// Output: stop web-1: Error response from daemon: cannot stop container: web-1: permission denied
}
