package snmptrap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/monitor/snmp"
)

// Versions of [Config.Version].
const (
	V2c = "2c"
	V3  = "3"
)

// Defaults of [Config].
const (
	DefaultPort      = 162
	DefaultVersion   = V2c
	DefaultCommunity = "public"
	DefaultTimeout   = 2 * time.Second
	DefaultRetries   = 1
)

// Config says where and how a [Sender] sends notifications. It is plain
// data with json tags so that it can be decoded from a configuration
// file. Start from [DefaultConfig]; in a Config built by hand, empty
// Version and Community and zero Timeout also mean their defaults, while
// Retries is taken as given (0 means a single attempt).
type Config struct {
	// Address is the receiver's "host:port", such as "192.0.2.10:162"
	// or "[2001:db8::1]:162"; a host without a port means port 162.
	// Required.
	Address string `json:"address"`
	// Version is "2c" (the default; the community travels in clear text)
	// or "3" (user-based security; prefer it, at authPriv).
	Version string `json:"version,omitempty"`
	// Community is the SNMPv2c community, default "public". Never logged
	// nor put in an error. Ignored for version 3.
	Community string `json:"community,omitempty"`
	// V3 is the SNMPv3 user (monitor/snmp's settings: user, security
	// level, authentication and privacy protocols and passphrases);
	// required when Version is "3", ignored otherwise. An empty
	// security level means authPriv.
	V3 *snmp.V3Config `json:"v3,omitempty"`
	// EngineID is the sender's SNMPv3 engine ID in hex (5 to 32 octets,
	// an optional "0x" prefix), such as [EngineIDFromText] returns. A
	// notification's sender is the authoritative engine: its keys are
	// localised with this ID, and the receiver must know it (net-snmp's
	// snmptrapd: "createUser -e 0x<EngineID> <user> ..."). Required when
	// Version is "3", ignored otherwise.
	EngineID string `json:"engine_id,omitempty"`
	// Timeout bounds each send. Default 2 s. The send also ends when its
	// context does.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retries is the number of further attempts after a failed write (a
	// notification is not acknowledged, so only local errors, such as an
	// ICMP port unreachable reported by the previous datagram, can be
	// retried). DefaultConfig sets 1.
	Retries int `json:"retries"`
}

// DefaultConfig returns the defaults: SNMPv2c, community "public", 2 s
// timeout, 1 retry. Address is empty and must be set.
func DefaultConfig() Config {
	return Config{
		Version:   DefaultVersion,
		Community: DefaultCommunity,
		Timeout:   DefaultTimeout,
		Retries:   DefaultRetries,
	}
}

// Validate checks the Config and returns every problem found, joined, each
// naming the field (by its json name), the bad value and what is allowed.
// Secrets (community, passphrases) are never echoed.
func (c Config) Validate() error {
	var errs []error
	c = c.withDefaults()
	if _, _, err := c.hostPort(); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d: want 0 or more", c.Retries))
	}
	switch c.Version {
	case V2c:
	case V3:
		if c.V3 == nil {
			errs = append(errs, errors.New(`v3: required when version is "3" (user, security_level, auth_*, priv_*)`))
		} else {
			// monitor/snmp checks its own V3Config; everything else in
			// this probe Config is valid, so only v3.* problems come
			// back, and they never echo a passphrase.
			probe := snmp.Config{Address: "127.0.0.1", Port: 161, Version: "3", Timeout: time.Second, V3: c.V3}
			if err := probe.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
		if _, err := c.engineID(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("version %q: want %q or %q (SNMPv1 traps are not supported)", c.Version, V2c, V3))
	}
	return errors.Join(errs...)
}

// hostPort splits Address, defaulting the port to 162.
func (c Config) hostPort() (string, int, error) {
	addr := strings.TrimSpace(c.Address)
	if addr == "" {
		return "", 0, errors.New(`address: empty; want "host:port", such as "192.0.2.10:162"`)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// A host alone, or a bracketed or bare IPv6 address alone.
		host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), strconv.Itoa(DefaultPort)
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			return "", 0, fmt.Errorf(`address %q: want "host:port" or a host alone (port %d)`, c.Address, DefaultPort)
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("address %q: the host is empty; want a host name or IP address", c.Address)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("address %q: port %q: want a number from 1 to 65535 (trap receivers listen on 162)", c.Address, port)
	}
	return host, n, nil
}

// engineID decodes EngineID.
func (c Config) engineID() ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(c.EngineID), "0x"), "0X")
	if s == "" {
		return nil, errors.New(`engine_id: required when version is "3"; want 5 to 32 octets in hex, such as EngineIDFromText returns`)
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 5 || len(b) > 32 {
		return nil, fmt.Errorf("engine_id %q: want 5 to 32 octets in hex (RFC 3411 SnmpEngineID)", c.EngineID)
	}
	return b, nil
}

func (c Config) withDefaults() Config {
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.Community == "" {
		c.Community = DefaultCommunity
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}
