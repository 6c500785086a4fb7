package hinemos

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/minato-ops/minato/inventory"
)

// Languages of the run log ([Config.Lang]).
const (
	// LangEnglish writes the log lines in English (the default).
	LangEnglish = "en"
	// LangJapanese writes the Hinemos Docker repository scripts' own
	// Japanese lines, so that existing log watchers keep matching.
	LangJapanese = "ja"
)

// Config says which Docker host a [Syncer] keeps in step with the
// repository. It is plain data with json tags, decoded from a
// configuration file or built by hand; start from [DefaultConfig].
type Config struct {
	// HostFacilityID is the facility ID of the Docker host's node (the
	// scripts' -f), the prefix of its container nodes' facility IDs and
	// the name of the engine in minato's configuration. Required; it must
	// pass [inventory.ValidFacilityID] and leave room for container names
	// (at most 256 characters).
	HostFacilityID string `json:"host_facility_id"`
	// HostAddress is the IPv4 address recorded on the host node and on
	// every container node (the scripts' -i): monitors and jobs that
	// address the nodes reach the host there. Required, dotted decimal.
	// [AddressFromEndpoint] derives it from a tcp:// engine endpoint.
	HostAddress string `json:"host_address"`
	// Lang is the language of the run log: "en" (the default; empty means
	// "en") or "ja".
	Lang string `json:"lang,omitempty"`
}

// MaxHostFacilityIDLen is the longest host facility ID [Config.Validate]
// accepts, so that "<host>-<container name>" fits the 512 characters a
// facility ID may have for any container name Docker allows in practice.
const MaxHostFacilityIDLen = 256

// DefaultConfig returns a Config with the defaults: English log lines.
// HostFacilityID and HostAddress are empty and must be set.
func DefaultConfig() Config {
	return Config{Lang: LangEnglish}
}

// Validate checks the Config and returns every problem found, joined, each
// naming the field by its json name.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.HostFacilityID == "":
		errs = append(errs, errors.New("host_facility_id: empty; want the facility ID of the Docker host's node, such as docker_host1"))
	case len(c.HostFacilityID) > MaxHostFacilityIDLen:
		errs = append(errs, fmt.Errorf("host_facility_id %.40q...: %d characters, at most %d so that container node IDs fit", c.HostFacilityID, len(c.HostFacilityID), MaxHostFacilityIDLen))
	default:
		if err := inventory.ValidFacilityID(c.HostFacilityID); err != nil {
			errs = append(errs, fmt.Errorf("host_facility_id: %w", err))
		}
	}
	if c.HostAddress == "" {
		errs = append(errs, errors.New("host_address: empty; want the host's IPv4 address, such as 10.0.200.123"))
	} else if ip := net.ParseIP(c.HostAddress); ip == nil || ip.To4() == nil || ip.String() != c.HostAddress {
		errs = append(errs, fmt.Errorf("host_address %q: want an IPv4 address in dotted decimal, such as 10.0.200.123", c.HostAddress))
	}
	switch c.Lang {
	case "", LangEnglish, LangJapanese:
	default:
		errs = append(errs, fmt.Errorf("lang %q: want %q or %q", c.Lang, LangEnglish, LangJapanese))
	}
	return errors.Join(errs...)
}

// AddressFromEndpoint returns the IPv4 address of a tcp:// (or http://,
// https://) engine endpoint, "tcp://10.0.200.123:2375" giving
// "10.0.200.123", and false for sockets, host names and IPv6 addresses,
// for which [Config.HostAddress] must be configured.
func AddressFromEndpoint(endpoint string) (string, bool) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false
	}
	switch u.Scheme {
	case "tcp", "http", "https":
	default:
		return "", false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || ip.To4() == nil {
		return "", false
	}
	return ip.To4().String(), true
}
