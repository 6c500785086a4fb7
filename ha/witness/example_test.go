package witness_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/ha/witness"
)

func ExampleHTTP() {
	// A target that answers HEAD with 200 while it is up.
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	w, err := witness.HTTP(witness.HTTPConfig{Target: srv.URL + "/np", Timeout: 2 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("healthy:", w.Probe(context.Background()) == nil)
	down.Store(true)
	err = w.Probe(context.Background())
	fmt.Println("healthy:", err == nil, "answered, not 200:", errors.Is(err, witness.ErrStatus))
	// Output:
	// healthy: true
	// healthy: false answered, not 200: true
}

func ExamplePing() {
	w, err := witness.Ping(witness.PingConfig{Host: "10.0.0.1", Count: 3, Interval: time.Second, Timeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w)
	_, err = witness.Ping(witness.PingConfig{Host: "10.0.0.1:80"})
	fmt.Println(err)
	// Output:
	// ping 10.0.0.1
	// witness: ping: host "10.0.0.1:80": neither an IPv4 address nor a host name (no port, no URL)
}

func ExampleHTTPConfig_Validate() {
	err := witness.HTTPConfig{Target: "http://witness.example/", CAFile: "/etc/minato/ca.pem", Timeout: -time.Second}.Validate()
	fmt.Println(err)
	// Output:
	// timeout -1s: want a positive duration, or 0 for the default 5s
	// ca_file: set, but target http://witness.example/ is plain http; want an https target
}
