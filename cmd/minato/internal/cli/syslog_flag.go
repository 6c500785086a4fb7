package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/syslog"
)

// syslogFlags are container-status's -s HOST:PORT (the Hinemos scripts') and the
// transport and format of the messages.
//
// The defaults are UDP and RFC 3164: the scripts send to the local rsyslog
// (-s 127.0.0.1:514), which reads the BSD format on its UDP input and
// relays it to the Hinemos manager. Over UDP a receiver that is down
// cannot be detected (the datagrams vanish); over TCP one that cannot be
// reached, or that does not take every message, is an error (exit 1).
type syslogFlags struct {
	address  string
	protocol string
	format   string
}

func (s *syslogFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.address, "s", "", "also send each container's state to the syslog receiver at `HOST:PORT`, such as 127.0.0.1:514\n(HOSTNAME is the 12-character container ID, the message the state word; severity info for\nrunning, warning for restarting/created, crit for paused/exited/dead; facility user)")
	fs.StringVar(&s.protocol, "syslog-protocol", syslog.UDP, "syslog transport `PROTOCOL` for -s: udp (loss cannot be detected) or tcp")
	fs.StringVar(&s.format, "syslog-format", syslog.RFC3164, "syslog message `FORMAT` for -s: rfc3164 (what the scripts' rsyslog reads) or rfc5424")
}

func (s *syslogFlags) validate() error {
	if s.protocol != syslog.UDP && s.protocol != syslog.TCP {
		return usagef("--syslog-protocol %q: want udp or tcp", s.protocol)
	}
	if s.format != syslog.RFC3164 && s.format != syslog.RFC5424 {
		return usagef("--syslog-format %q: want rfc3164 or rfc5424", s.format)
	}
	if s.address == "" {
		if s.protocol != syslog.UDP || s.format != syslog.RFC3164 {
			return usagef("--syslog-protocol and --syslog-format apply to -s HOST:PORT, which is not given")
		}
		return nil
	}
	host, port, err := net.SplitHostPort(s.address)
	if err != nil {
		return usagef("-s %q: want HOST:PORT, such as 127.0.0.1:514", s.address)
	}
	if host == "" {
		return usagef("-s %q: the host is empty; want HOST:PORT, such as 127.0.0.1:514", s.address)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return usagef("-s %q: port %q: want a number from 1 to 65535 (syslog listens on 514)", s.address, port)
	}
	return nil
}

// open connects to the -s receiver; nil when -s is not given. Over TCP a
// receiver that cannot be reached is an error here, before anything is
// measured or printed.
func (s *syslogFlags) open() (*syslog.Writer, error) {
	if s.address == "" {
		return nil, nil
	}
	cfg := syslog.DefaultConfig()
	cfg.Address, cfg.Protocol, cfg.Format = s.address, s.protocol, s.format
	w, err := syslog.New(cfg)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("-s %s: cannot reach the syslog receiver over %s: %w", s.address, s.protocol, err)
	}
	return w, nil
}

// sendStates sends one message per container whose state was read (the
// containers of the stdout lines), then closes w, which over TCP waits
// for the messages to be written. The severity follows the container
// state's status ([mdocker.StateStatus]: running OK → info; restarting,
// created, removing and unhealthy Warning → warning; paused, exited, dead
// Critical → crit).
func sendStates(ctx context.Context, w *syslog.Writer, evs []monitor.Evaluation) error {
	var errs []error
	for _, ev := range evs {
		if ev.Err != nil {
			continue
		}
		m := syslog.Message{
			Time:     ev.Result.Time,
			Severity: syslog.SeverityOf(ev.Status),
			Hostname: ev.Target.ShortID(),
			Text:     ev.Result.Message,
		}
		if err := w.Send(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.Config().Timeout)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("-s %s: %w", w.Config().Address, err)
	}
	return nil
}
