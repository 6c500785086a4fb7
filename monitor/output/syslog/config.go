package syslog

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Protocols of [Config.Protocol].
const (
	UDP = "udp"
	TCP = "tcp"
)

// Formats of [Config.Format].
const (
	RFC3164 = "rfc3164"
	RFC5424 = "rfc5424"
)

// Facilities most often used with [Config.Facility] (RFC 5424 §6.2.1).
const (
	FacilityUser   = 1
	FacilityDaemon = 3
	FacilityLocal0 = 16
	FacilityLocal7 = 23
)

// Defaults of [Config].
const (
	DefaultProtocol   = UDP
	DefaultFormat     = RFC5424
	DefaultFacility   = FacilityUser
	DefaultAppName    = "minato"
	DefaultTimeout    = 5 * time.Second
	DefaultBufferSize = 1024
)

// Config says where and how a [Writer] sends. It is plain data with json
// tags so that it can be decoded from a configuration file. Start from
// [DefaultConfig]; in a Config built by hand, empty Protocol, Format,
// AppName and Hostname and zero Timeout and BufferSize also mean their
// defaults. Facility 0 also means the default, user, as it does for
// syslog(3): kern (0) is for the kernel's own messages and cannot be sent.
type Config struct {
	// Address is the receiver's "host:port", such as "127.0.0.1:514" or
	// "[::1]:6514". Required.
	Address string `json:"address"`
	// Protocol is "udp" (the default: one datagram per message, sent
	// synchronously, loss undetectable) or "tcp" (one persistent
	// connection, reconnected with backoff, messages queued).
	Protocol string `json:"protocol,omitempty"`
	// Format is "rfc5424" (the default) or "rfc3164" (the BSD format that
	// every syslogd reads). Over TCP, RFC 5424 messages are framed by
	// octet counting and RFC 3164 messages end with a newline (RFC 6587).
	Format string `json:"format,omitempty"`
	// Facility is the syslog facility code: 1 (user, the default) to 23
	// (16 to 23 are local0 to local7). 0 means the default.
	Facility int `json:"facility"`
	// AppName is the RFC 5424 APP-NAME and the RFC 3164 TAG, unless a
	// Message sets its own. Default "minato".
	AppName string `json:"app_name,omitempty"`
	// Hostname is the HOSTNAME field, unless a Message sets its own.
	// Default: os.Hostname(), resolved once by New.
	Hostname string `json:"hostname,omitempty"`
	// Timeout bounds each dial and write, and the flush in Close. Default
	// 5 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// BufferSize is the number of messages the TCP queue holds while the
	// connection is down or slow; a Send beyond it fails with
	// ErrBufferFull. Default 1024. Unused for UDP.
	BufferSize int `json:"buffer_size,omitempty"`
}

// DefaultConfig returns the defaults: UDP, RFC 5424, facility user,
// app name "minato", 5 s timeout, 1024 queued messages. Address is empty
// and must be set; Hostname is left empty for New to fill in.
func DefaultConfig() Config {
	return Config{
		Protocol:   DefaultProtocol,
		Format:     DefaultFormat,
		Facility:   DefaultFacility,
		AppName:    DefaultAppName,
		Timeout:    DefaultTimeout,
		BufferSize: DefaultBufferSize,
	}
}

// Validate checks the Config and returns every problem found, joined, each
// naming the field (by its json name), the bad value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	c = c.withDefaults()
	if err := checkAddress(c.Address); err != nil {
		errs = append(errs, err)
	}
	switch c.Protocol {
	case UDP, TCP:
	default:
		errs = append(errs, fmt.Errorf("protocol %q: want %q or %q", c.Protocol, UDP, TCP))
	}
	switch c.Format {
	case RFC3164, RFC5424:
	default:
		errs = append(errs, fmt.Errorf("format %q: want %q or %q", c.Format, RFC3164, RFC5424))
	}
	if c.Facility < 0 || c.Facility > 23 {
		errs = append(errs, fmt.Errorf("facility %d: want 1 to 23 (1 is user, 16 to 23 are local0 to local7), or 0 for the default user", c.Facility))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.BufferSize < 0 {
		errs = append(errs, fmt.Errorf("buffer_size %d: want 1 or more messages, or 0 for the default %d", c.BufferSize, DefaultBufferSize))
	}
	return errors.Join(errs...)
}

// checkAddress checks a "host:port" receiver address.
func checkAddress(addr string) error {
	if addr == "" {
		return errors.New(`address: empty; want "host:port", such as "127.0.0.1:514"`)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf(`address %q: want "host:port", such as "127.0.0.1:514"`, addr)
	}
	if host == "" {
		return fmt.Errorf("address %q: the host is empty; want a host name or IP address before the port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q: port %q: want a number from 1 to 65535 (syslog listens on 514)", addr, port)
	}
	return nil
}

// withDefaults fills the empty fields that have defaults, except Hostname.
func (c Config) withDefaults() Config {
	if c.Protocol == "" {
		c.Protocol = DefaultProtocol
	}
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	if c.Facility == 0 {
		c.Facility = DefaultFacility
	}
	if c.AppName == "" {
		c.AppName = DefaultAppName
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	return c
}

// resolved is withDefaults plus the Hostname default.
func (c Config) resolved() Config {
	c = c.withDefaults()
	if c.Hostname == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Hostname = h
		}
	}
	return c
}
