package syslog_test

import (
	"fmt"
	"time"

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
