package snmp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Defaults of [Config]: the Hinemos Docker scripts' -sv/-sc/-sp defaults
// plus timeouts.
const (
	DefaultAddress   = "127.0.0.1"
	DefaultPort      = 161
	DefaultVersion   = "1"
	DefaultCommunity = "public"
	DefaultTimeout   = 2 * time.Second
	DefaultRetries   = 1
)

// Security levels of [V3Config.SecurityLevel], spelled as net-snmp spells
// them (snmpget -l).
const (
	NoAuthNoPriv = "noAuthNoPriv"
	AuthNoPriv   = "authNoPriv"
	AuthPriv     = "authPriv"
)

// minPassphrase is net-snmp's USM_LENGTH_P_MIN: agents refuse shorter
// passphrases when a user is created, so a shorter one can never work.
const minPassphrase = 8

// Config says how to reach one SNMP agent. It is plain data with json tags
// so that it can be decoded from a configuration file. Start from
// [DefaultConfig]; in a Config built by hand, empty Address, Version and
// Community and zero Port and Timeout also mean their defaults, while
// Retries is taken as given (0 means a single attempt).
type Config struct {
	// Address is the agent's host name or IP address, without a port
	// (IPv6 addresses may be bracketed). Default "127.0.0.1".
	Address string `json:"address,omitempty"`
	// Port is the agent's UDP port. Default 161.
	Port int `json:"port,omitempty"`
	// Version is the protocol version: "1", "2c" or "3". Default "1", as
	// the Hinemos Docker scripts' -sv.
	Version string `json:"version,omitempty"`
	// Community is the SNMPv1/v2c community, default "public" (the Hinemos
	// Docker scripts' -sc). It travels in clear text; it is never logged nor put in an
	// error. Ignored for version 3.
	Community string `json:"community,omitempty"`
	// Timeout bounds the wait for each answer (one attempt). Default 2 s.
	// The whole call also ends when its context does.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retries is the number of further attempts after a first unanswered
	// one, so a silent agent is given up after Timeout × (Retries+1).
	// DefaultConfig sets 1.
	Retries int `json:"retries"`
	// V3 holds the SNMPv3 user-based security settings; it is required
	// when Version is "3" and ignored otherwise.
	V3 *V3Config `json:"v3,omitempty"`
}

// V3Config is SNMPv3 user-based security (USM), in net-snmp's terms
// (snmpget -u -l -a -A -x -X).
type V3Config struct {
	// User is the USM security name. Required.
	User string `json:"user"`
	// SecurityLevel is "noAuthNoPriv", "authNoPriv" or "authPriv" (case
	// does not matter). Empty means "authPriv", the only level that both
	// authenticates and encrypts.
	SecurityLevel string `json:"security_level,omitempty"`
	// AuthProtocol is MD5, SHA (SHA-1), SHA224, SHA256, SHA384 or SHA512;
	// required from authNoPriv up.
	AuthProtocol string `json:"auth_protocol,omitempty"`
	// AuthPassphrase is the authentication passphrase, at least 8
	// characters; required from authNoPriv up. Never logged nor put in an
	// error.
	AuthPassphrase string `json:"auth_passphrase,omitempty"`
	// PrivProtocol is DES, AES (AES-128), AES192 or AES256 (Blumenthal
	// key extension, what net-snmp's AES-192 and AES-256 use), or AES192C
	// or AES256C (Reeder key extension, what Cisco devices use); required
	// at authPriv. The two extensions differ only when the authentication
	// hash is shorter than the key (MD5 or SHA with AES-192/256).
	PrivProtocol string `json:"priv_protocol,omitempty"`
	// PrivPassphrase is the privacy (encryption) passphrase, at least 8
	// characters; required at authPriv. Never logged nor put in an error.
	PrivPassphrase string `json:"priv_passphrase,omitempty"`
}

// DefaultConfig returns the Hinemos Docker scripts' defaults: SNMPv1,
// community "public", 127.0.0.1 port 161; plus a 2 s timeout and 1 retry.
func DefaultConfig() Config {
	return Config{
		Address:   DefaultAddress,
		Port:      DefaultPort,
		Version:   DefaultVersion,
		Community: DefaultCommunity,
		Timeout:   DefaultTimeout,
		Retries:   DefaultRetries,
	}
}

var (
	authProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	privProtocols = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
	levels        = []string{NoAuthNoPriv, AuthNoPriv, AuthPriv}
)

// Validate checks the Config and returns every problem found, joined, each
// naming the field (by its json name), the bad value and what is allowed.
// Secrets (community, passphrases) are never echoed.
func (c Config) Validate() error {
	var errs []error
	c = c.withDefaults()
	if strings.TrimSpace(c.Address) == "" {
		errs = append(errs, errors.New("address: empty; want a host name or IP address"))
	} else if _, _, err := net.SplitHostPort(c.Address); err == nil {
		errs = append(errs, fmt.Errorf("address %q: give the host only; the port goes in port", c.Address))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d: want 1..65535 (SNMP agents listen on 161)", c.Port))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d: want 0 or more", c.Retries))
	}
	switch c.Version {
	case "1", "2c":
		// An empty community means the default "public".
	case "3":
		if c.V3 == nil {
			errs = append(errs, errors.New(`v3: required when version is "3" (user, security_level, auth_*, priv_*)`))
		} else {
			errs = append(errs, c.V3.validate()...)
		}
	default:
		errs = append(errs, fmt.Errorf("version %q: want \"1\", \"2c\" or \"3\"", c.Version))
	}
	return errors.Join(errs...)
}

func (v V3Config) validate() []error {
	var errs []error
	if v.User == "" {
		errs = append(errs, errors.New("v3.user: required"))
	}
	level, ok := v.level()
	if !ok {
		errs = append(errs, fmt.Errorf("v3.security_level %q: want one of %s", v.SecurityLevel, strings.Join(levels, ", ")))
		return errs
	}
	if level != NoAuthNoPriv {
		if _, ok := normalise(v.AuthProtocol, authProtocols); !ok {
			errs = append(errs, fmt.Errorf("v3.auth_protocol %q: want one of %s at %s", v.AuthProtocol, strings.Join(authProtocols, ", "), level))
		}
		if len(v.AuthPassphrase) < minPassphrase {
			errs = append(errs, fmt.Errorf("v3.auth_passphrase: want at least %d characters at %s (net-snmp's minimum)", minPassphrase, level))
		}
	}
	if level == AuthPriv {
		if _, ok := normalise(v.PrivProtocol, privProtocols); !ok {
			errs = append(errs, fmt.Errorf("v3.priv_protocol %q: want one of %s at %s", v.PrivProtocol, strings.Join(privProtocols, ", "), level))
		}
		if len(v.PrivPassphrase) < minPassphrase {
			errs = append(errs, fmt.Errorf("v3.priv_passphrase: want at least %d characters at %s (net-snmp's minimum)", minPassphrase, level))
		}
	}
	return errs
}

// level returns the canonical security level; empty means authPriv.
func (v V3Config) level() (string, bool) {
	if v.SecurityLevel == "" {
		return AuthPriv, true
	}
	for _, l := range levels {
		if strings.EqualFold(v.SecurityLevel, l) {
			return l, true
		}
	}
	return "", false
}

// normalise returns the canonical spelling of a protocol name: case and
// '-' do not matter ("sha-256" is SHA256).
func normalise(name string, allowed []string) (string, bool) {
	n := strings.ToUpper(strings.ReplaceAll(name, "-", ""))
	for _, a := range allowed {
		if n == a {
			return a, true
		}
	}
	return "", false
}

func (c Config) withDefaults() Config {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
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

// host returns Address without IPv6 brackets.
func (c Config) host() string {
	return strings.TrimSuffix(strings.TrimPrefix(c.Address, "["), "]")
}
