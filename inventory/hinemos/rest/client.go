package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/minato-ops/minato/inventory"
)

// maxAnswer bounds the size of one answer of the manager; a facility tree
// of tens of thousands of nodes stays well below it.
const maxAnswer = 64 << 20

// Client is an [inventory.Repository] kept in a Hinemos 7 manager's
// repository through its REST API. Create it with [New].
//
// Its methods are safe for concurrent use and block until the manager has
// answered. They log in on first use and send the session token with every
// request; when the manager answers 401 (the token expired, or the manager
// restarted), the client logs in again and repeats the request once. Each
// method is a few requests, not a transaction: another writer may change
// the repository between them (see the package documentation for what
// each method sends).
type Client struct {
	cfg  Config
	base string // manager address without trailing slash, "https://host:8443"
	hc   *http.Client
	log  *slog.Logger

	loginMu sync.Mutex // held while logging in, so that one login serves all
	mu      sync.Mutex // guards token
	token   string
}

var _ inventory.Repository = (*Client)(nil)

// Option configures a [Client].
type Option func(*Client)

// WithLogger makes the client log its logins and logouts at debug level.
// It never logs the password, the session token nor the request and answer
// bodies (node properties may hold other credentials). Silent by default.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a Client for the manager cfg names. It checks cfg, reads
// CAFile and checks that PasswordFile can be read, but does not contact the
// manager: the first call logs in. An error means cfg is invalid or a file
// cannot be used.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hinemos rest: %w", err)
	}
	cfg = cfg.withDefaults()
	u, err := baseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("hinemos rest: %w", err)
	}
	if _, err := readPassword(cfg.PasswordFile); err != nil {
		return nil, fmt.Errorf("hinemos rest: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // only when the user asks
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("hinemos rest: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("hinemos rest: ca_file %q: no PEM certificate found", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	c := &Client{
		cfg:  cfg,
		base: u.String(),
		hc: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// A redirect is a misconfigured URL: it is reported, not
			// followed, so that the token never goes elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Endpoint returns the URL of the manager's repository API and the user
// the client logs in as, for a log line such as the Hinemos Docker
// repository scripts' "endpoint: ... username: ...". Neither holds a
// secret.
func (c *Client) Endpoint() (url, user string) {
	return c.base + apiPath + "/RepositoryRestEndpoints", c.cfg.User
}

// Logout ends the client's session on the manager, if it has one, so that
// the manager forgets its token before it expires (tokens otherwise live
// for a day, rest.token.valid.term.minutes), and closes idle connections.
// Call it when done with the client; the client logs in again if it is
// used after. An error means the manager could not be told; the token is
// forgotten anyway.
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	tok := c.token
	c.token = ""
	c.mu.Unlock()
	defer c.hc.CloseIdleConnections()
	if tok == "" {
		return nil
	}
	status, body, err := c.send(ctx, http.MethodGet, pathLogout, nil, nil, tok)
	if err != nil {
		return fmt.Errorf("hinemos rest: logout: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("hinemos rest: logout: %w", parseError(http.MethodGet, pathLogout, status, body))
	}
	c.log.Debug("hinemos rest: logged out", "endpoint", c.base, "user", c.cfg.User)
	return nil
}

// readPassword returns the first line of the password file.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("password_file %q: %w", path, err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("password_file %q: the first line is empty; want the Hinemos password", path)
	}
	return pw, nil
}

// call sends a request to the API and decodes a 200 answer into out (when
// not nil). It logs in first when the client has no token, and once more
// when the manager refuses the token.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.session(ctx)
		if err != nil {
			return err
		}
		status, answer, err := c.send(ctx, method, path, query, body, tok)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			c.expire(tok)
			continue
		}
		if status != http.StatusOK {
			return parseError(method, path, status, answer)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
		return nil
	}
}

// session returns the session token, logging in when there is none.
func (c *Client) session(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	tok = c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil // another call logged in meanwhile
	}
	tok, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok, nil
}

// expire forgets tok, the token the manager refused, unless another call
// has already replaced it.
func (c *Client) expire(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
	c.log.Debug("hinemos rest: the manager refused the session token; logging in again", "endpoint", c.base, "user", c.cfg.User)
}

// login asks the manager for a session token.
func (c *Client) login(ctx context.Context) (string, error) {
	pw, err := readPassword(c.cfg.PasswordFile)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(loginRequest{UserID: c.cfg.User, Password: pw})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	status, answer, err := c.send(ctx, http.MethodPost, pathLogin, nil, body, "")
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		e := parseError(http.MethodPost, pathLogin, status, answer)
		return "", fmt.Errorf("login to %s as %q: %w", c.base, c.cfg.User, e)
	}
	var lr loginResponse
	if err := json.Unmarshal(answer, &lr); err != nil || lr.Token.TokenID == "" {
		return "", fmt.Errorf("login to %s as %q: the answer holds no token; is this a Hinemos 7 manager?", c.base, c.cfg.User)
	}
	c.log.Debug("hinemos rest: logged in", "endpoint", c.base, "user", c.cfg.User, "expires", lr.Token.ExpirationDate)
	return lr.Token.TokenID, nil
}

// send makes one HTTP request and returns the status and the answer's
// body. An error means no answer was had (connection, TLS, timeout, ctx)
// or the answer was too large.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, token string) (int, []byte, error) {
	u := c.base + apiPath + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", "en") // the manager's messages in English
	req.Header.Set("User-Agent", "minato")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		return 0, nil, fmt.Errorf("%s %s%s%s: %w", method, c.base, apiPath, path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if len(answer) > maxAnswer {
		return 0, nil, fmt.Errorf("%s %s: the answer exceeds %d MiB", method, path, maxAnswer>>20)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, []byte(fmt.Sprintf("redirected to %q; check url", resp.Header.Get("Location"))), nil
	}
	return resp.StatusCode, answer, nil
}
