package resttest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minato-ops/minato/inventory/hinemos/rest/resttest"
)

// Log in to the fake manager with the published request shape, ask for a
// node that does not exist, and look at the requests the server recorded.
func Example() {
	srv := resttest.Start()
	defer srv.Close()

	resp, err := http.Post(srv.URL+resttest.APIPath+"/AccessRestEndpoints/access/login", "application/json",
		strings.NewReader(`{"userId":"hinemos","password":"hinemos"}`))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(b), `"tokenId"`))

	req, _ := http.NewRequest("GET", srv.URL+resttest.APIPath+"/RepositoryRestEndpoints/repository/node/web-1", nil)
	resp, err = http.DefaultClient.Do(req) // no token
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)

	for _, r := range srv.Requests() {
		fmt.Println(r, r.Body == nil)
	}
	// Output:
	// 200 true
	// 401
	// POST /AccessRestEndpoints/access/login true
	// GET /RepositoryRestEndpoints/repository/node/web-1 false
}
