package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/webhook"
)

func ExampleNewNotifier() {
	// A receiver that prints what it gets.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path)
		fmt.Println("Content-Type:", r.Header.Get("Content-Type"))
		fmt.Println("User-Agent:", r.Header.Get("User-Agent"))
		fmt.Println("Authorization:", r.Header.Get("Authorization"))
		fmt.Println(string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	cfg := webhook.DefaultConfig()
	cfg.URL = srv.URL + "/minato"
	cfg.Headers = map[string]string{"Authorization": "Bearer example-token"}
	s, err := webhook.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	n := webhook.NewNotifier(s) // for a notify.FanOut
	_ = n.Notify(context.Background(), monitor.Evaluation{
		Check:    "status",
		Target:   inventory.Target{Kind: inventory.KindContainer, ID: "90b56eb899e7", Name: "web-1"},
		Status:   monitor.Critical,
		Observed: monitor.Critical,
		Message:  "exited",
	})
	if err := n.Close(context.Background()); err != nil { // flushes the queue, closes s
		fmt.Println(err)
	}
	st := s.Stats()
	fmt.Println("sent", st.Sent, "dropped", st.Dropped, "pending", st.Pending)
	// Output:
	// POST /minato
	// Content-Type: application/json
	// User-Agent: minato
	// Authorization: Bearer example-token
	// {"check":"status","target":{"kind":"container","id":"90b56eb899e7","name":"web-1"},"status":"CRITICAL","exit_code":2,"observed":"CRITICAL","message":"exited","took_seconds":0,"samples":[]}
	// sent 1 dropped 0 pending 0
}
