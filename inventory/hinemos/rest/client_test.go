package rest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos/rest"
	"github.com/minato-ops/minato/inventory/hinemos/rest/resttest"
)

// logins counts the login requests among reqs.
func logins(reqs []resttest.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Path == "/AccessRestEndpoints/access/login" {
			n++
		}
	}
	return n
}

func TestLoginAndHeaders(t *testing.T) {
	srv := resttest.NewServer(t)
	var logs bytes.Buffer
	c := newClient(t, srv, rest.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := t.Context()
	if len(srv.Requests()) != 0 {
		t.Fatalf("New sent requests: %v", srv.Requests())
	}
	if _, err := c.Scopes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[0].Method != "POST" || reqs[0].Path != "/AccessRestEndpoints/access/login" {
		t.Fatalf("requests = %v, want the login then two calls", reqs)
	}
	if reqs[0].Token != "" || reqs[1].Token == "" || reqs[1].Token != reqs[2].Token {
		t.Errorf("tokens sent: %q %q %q; want none for the login, then the same token", reqs[0].Token, reqs[1].Token, reqs[2].Token)
	}
	if !strings.Contains(logs.String(), "logged in") || !strings.Contains(logs.String(), "user=hinemos") {
		t.Errorf("debug log %q: want the login with the user", logs.String())
	}
	for _, secret := range []string{resttest.DefaultPassword + "\"", reqs[1].Token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows a secret %q: %s", secret, logs.String())
		}
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Errorf("Logout without a session: %v", err)
	}
	if _, err := c.Scopes(ctx); err != nil {
		t.Fatalf("Scopes after Logout: %v", err)
	}
	if n := logins(srv.Requests()); n != 2 {
		t.Errorf("%d logins, want 2: the first call and the first after Logout", n)
	}
}

func TestRelogin(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	if _, err := c.Scopes(ctx); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	srv.Reset()
	if _, err := c.Scopes(ctx); err != nil {
		t.Fatalf("Scopes after the token expired: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || logins(reqs) != 1 || reqs[0].Path != reqs[2].Path || reqs[0].Token == reqs[2].Token {
		t.Errorf("requests after the token expired: %v; want the call, a login, the call again with the new token", reqs)
	}

	// Concurrent calls that all meet the expired token share one login.
	srv.ExpireTokens()
	srv.Reset()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := c.Members(ctx, "nope"); !errors.Is(err, inventory.ErrNotFound) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Members during a re-login: %v", err)
	}
	if n := logins(srv.Requests()); n < 1 || n > 2 {
		t.Errorf("%d logins for 8 concurrent calls with an expired token, want 1 (2 at most, when a call's retry meets a token refused meanwhile)", n)
	}

	// A token refused right after a fresh login is not retried forever.
	srv.Fail("GET", "/RepositoryRestEndpoints/repository/facility_tree", 401, "InvalidUserPass", "token is invalid")
	srv.Reset()
	_, err := c.Scopes(ctx)
	if !errors.Is(err, rest.ErrUnauthorized) {
		t.Errorf("Scopes when every token is refused: %v, want ErrUnauthorized", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests when every token is refused, want 3 (call, login, call)", n)
	}
}

func TestLoginRefused(t *testing.T) {
	srv := resttest.NewServer(t, resttest.WithUser("minato", "right"))
	cfg := rest.DefaultConfig()
	cfg.URL = srv.URL
	cfg.User = "minato"
	cfg.PasswordFile = passwordFile(t, "wrong-secret")
	c, err := rest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Node(t.Context(), "web")
	if !errors.Is(err, rest.ErrUnauthorized) || errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("Node with a wrong password: %v, want ErrUnauthorized", err)
	}
	if !strings.Contains(err.Error(), `"minato"`) || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q: want the user named and the password not shown", err)
	}
	if logins(srv.Requests()) != 1 {
		t.Errorf("requests %v, want a single login attempt", srv.Requests())
	}

	// The password file is read at each login: a corrected file works
	// without a new client.
	if err := os.WriteFile(cfg.PasswordFile, []byte("right\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Node(t.Context(), "web"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Node after the password file was fixed: %v, want ErrNotFound (logged in)", err)
	}
	// A rotated password is picked up at the next login.
	srv.SetPassword("minato", "rotated")
	if err := os.WriteFile(cfg.PasswordFile, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	if _, err := c.Node(t.Context(), "web"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Node after the password was rotated: %v, want ErrNotFound (logged in again)", err)
	}
}

func TestTLS(t *testing.T) {
	srv := resttest.NewServer(t, resttest.WithTLS())
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := rest.DefaultConfig()
	cfg.URL = srv.URL
	cfg.PasswordFile = passwordFile(t, resttest.DefaultPassword)

	// Without the CA the certificate is refused, before any login.
	c, err := rest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scopes(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Scopes over https without the CA: %v, want a certificate error", err)
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("the server got %v; the password must not be sent to an unverified server", srv.Requests())
	}

	cfg.CAFile = ca
	if c, err = rest.New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.PutScope(t.Context(), inventory.Scope{FacilityID: "docker_map", FacilityName: "docker_map"}); err != nil {
		t.Fatalf("PutScope over https with the CA: %v", err)
	}

	cfg.CAFile, cfg.InsecureSkipVerify = "", true
	if c, err = rest.New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scope(t.Context(), "docker_map"); err != nil {
		t.Errorf("Scope over https with InsecureSkipVerify: %v", err)
	}
}

func TestWrongURL(t *testing.T) {
	srv := resttest.NewServer(t)
	ctx := t.Context()
	cfg := rest.DefaultConfig()
	cfg.URL = srv.URL + "/elsewhere" // the manager answers 404 HinemosUnknown below it
	cfg.PasswordFile = passwordFile(t, resttest.DefaultPassword)
	c, err := rest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Node(ctx, "web")
	var ae *rest.APIError
	if !errors.As(err, &ae) || ae.Status != 404 || errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Node through a wrong URL: %v, want a 404 APIError that is not ErrNotFound", err)
	}

	// A redirect (say, http to https) is reported, not followed.
	red := httptest.NewServer(http.RedirectHandler("https://elsewhere.example/", http.StatusMovedPermanently))
	t.Cleanup(red.Close)
	cfg.URL = red.URL
	if c, err = rest.New(cfg); err != nil {
		t.Fatal(err)
	}
	_, err = c.Scopes(ctx)
	if !errors.As(err, &ae) || ae.Status != 301 || !strings.Contains(err.Error(), "elsewhere.example") {
		t.Errorf("Scopes through a redirect: %v, want a 301 APIError naming the target", err)
	}

	// A closed port is an error that names the manager.
	srv2 := resttest.Start()
	cfg.URL = srv2.URL
	srv2.Close()
	if c, err = rest.New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scopes(ctx); err == nil || !strings.Contains(err.Error(), srv2.URL) {
		t.Errorf("Scopes of a stopped manager: %v, want an error naming it", err)
	}
}

func TestTimeoutAndContext(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(block) })
	cfg := rest.DefaultConfig()
	cfg.URL = slow.URL
	cfg.PasswordFile = passwordFile(t, "pw")
	cfg.Timeout = 100 * time.Millisecond
	c, err := rest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Scopes(t.Context()); err == nil {
		t.Error("Scopes of a manager that never answers succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Scopes took %s with a 100ms timeout", d)
	}

	cfg.Timeout = time.Hour
	if c, err = rest.New(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Scopes(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Scopes with an expiring context: %v, want context.DeadlineExceeded", err)
	}
}

func TestErrorClasses(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	const tree = "/RepositoryRestEndpoints/repository/facility_tree"
	for _, tc := range []struct {
		status            int
		exception         string
		want, notWant     error
		wantText, message string
	}{
		{403, "InvalidRole", rest.ErrForbidden, inventory.ErrNotFound, "403 InvalidRole: no privilege", "no privilege"},
		{500, "HinemosUnknown", nil, inventory.ErrInvalid, "500 HinemosUnknown: boom", "boom"},
		{400, "InvalidSetting", inventory.ErrInvalid, nil, "400 InvalidSetting: bad", "bad"},
		{404, "FacilityNotFound", inventory.ErrNotFound, nil, "404 FacilityNotFound", "gone"},
		{409, "SomethingDuplicate", inventory.ErrConflict, nil, "409 SomethingDuplicate", "dup"},
		{502, "", nil, inventory.ErrNotFound, "502: <html>Bad gateway</html>", "<html>Bad\ngateway</html>"},
	} {
		srv.Fail("GET", tree, tc.status, tc.exception, tc.message)
		_, err := c.Scopes(ctx)
		var ae *rest.APIError
		switch {
		case !errors.As(err, &ae) || ae.Status != tc.status:
			t.Errorf("%d %s: %v, want an APIError with that status", tc.status, tc.exception, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%d %s: %v, want it to wrap %v", tc.status, tc.exception, err, tc.want)
		case tc.notWant != nil && errors.Is(err, tc.notWant):
			t.Errorf("%d %s: %v, must not wrap %v", tc.status, tc.exception, err, tc.notWant)
		case !strings.Contains(err.Error(), tc.wantText):
			t.Errorf("%d %s: %q, want it to say %q", tc.status, tc.exception, err, tc.wantText)
		}
	}
	srv.Fail("GET", tree, 0, "", "")
	if _, err := c.Scopes(ctx); err != nil {
		t.Errorf("Scopes once the fault is removed: %v", err)
	}
}

// A client is safe for concurrent use (run with -race).
func TestConcurrentUse(t *testing.T) {
	srv := resttest.NewServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	if err := c.PutScope(ctx, inventory.Scope{FacilityID: "all", FacilityName: "all"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Go(func() {
			for i := range 5 {
				id := fmt.Sprintf("h-w%d-%d", w, i)
				if err := c.PutNode(ctx, testNode(id)); err != nil {
					errs <- err
				}
				if err := c.Assign(ctx, "all", id); err != nil {
					errs <- err
				}
				if i == 2 && w == 0 {
					srv.ExpireTokens() // once: each call logs in again at most once
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ms, err := c.Members(ctx, "all"); err != nil || len(ms) != 20 {
		t.Errorf("Members = %d, %v; want 20", len(ms), err)
	}
}
