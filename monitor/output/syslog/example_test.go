package syslog_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/syslog"
)

func ExampleFormat5424() {
	cfg := syslog.DefaultConfig() // facility user, app name "minato"
	cfg.Hostname = "manager_server"
	m := syslog.Message{
		Time:     time.Date(2015, 9, 6, 7, 15, 16, 123456789, time.UTC),
		Severity: syslog.Critical,
		Hostname: "90b56eb899e7", // the container, for Hinemos's per-container node
		MsgID:    "container_status",
		StructuredData: map[string]map[string]string{
			"container@32473": {"name": "web-1", "image": "httpd:2.4"},
		},
		Text: "exited",
	}
	fmt.Printf("%s\n", syslog.Format5424(m, cfg))
	fmt.Printf("%s\n", syslog.Format3164(m, cfg))
	// Output:
	// <10>1 2015-09-06T07:15:16.123456Z 90b56eb899e7 minato - container_status [container@32473 image="httpd:2.4" name="web-1"] exited
	// <10>Sep  6 07:15:16 90b56eb899e7 minato: exited
}

// A Notifier over UDP, with the container as HOSTNAME, as Hinemos files
// messages by node.
func ExampleNewNotifier() {
	receiver, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer receiver.Close()

	cfg := syslog.DefaultConfig()
	cfg.Address = receiver.LocalAddr().String()
	cfg.Format = syslog.RFC3164
	w, err := syslog.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	n := syslog.NewNotifier(w, syslog.SinkOptions{Hostname: func(ev monitor.Evaluation) string { return ev.Target.ShortID() }})
	ctx := context.Background()
	_ = n.Notify(ctx, monitor.Evaluation{
		Check:   "status",
		Target:  inventory.Target{Kind: inventory.KindContainer, ID: "90b56eb899e7", Name: "web-1"},
		Status:  monitor.Critical,
		Message: "exited",
		Result:  monitor.Result{Time: time.Date(2015, 9, 6, 7, 15, 16, 0, time.UTC)},
	})
	if err := n.Close(ctx); err != nil { // closes w
		fmt.Println(err)
	}
	buf := make([]byte, 1024)
	k, _, _ := receiver.ReadFrom(buf)
	fmt.Printf("%s\n%+v\n", buf[:k], n.Stats())
	// Output:
	// <10>Sep  6 07:15:16 90b56eb899e7 minato: check=status target=web-1 id=90b56eb899e7 status=CRITICAL message="exited"
	// {Sent:1 Dropped:0 Pending:0}
}
