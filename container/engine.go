package container

import "net/http"

// Engine says how a [Client] reaches its engine: enough for package image,
// the other door to the Docker Engine, to make its own calls over the same
// connections (and TLS settings) instead of opening a second pool.
type Engine struct {
	// Host is the endpoint, as [Client.Host] returns it.
	Host string
	// HTTPClient carries the engine calls: it dials the socket or the TCP
	// address, with the client certificate when Config.TLS is set. It is a
	// copy sharing the Client's transport (and so its idle connections).
	// Nil for a Client built on a fake engine in tests.
	HTTPClient *http.Client
	// Scheme is "https" when the engine is reached with TLS, else "http".
	Scheme string
	// APIVersion is the pinned API version (Config.APIVersion without its
	// "v"), or "" when the version is negotiated.
	APIVersion string
}

// Engine returns how c reaches its engine; see [Engine]. It does not
// contact the engine.
func (c *Client) Engine() Engine {
	e := Engine{Host: c.cfg.host(), Scheme: "http"}
	if c.cfg.TLS != nil && !c.cfg.localSocket() {
		e.Scheme = "https"
	}
	if !c.negotiate {
		e.APIVersion = c.api.ClientVersion()
	}
	if hc, ok := c.api.(interface{ HTTPClient() *http.Client }); ok {
		e.HTTPClient = hc.HTTPClient()
	}
	return e
}
