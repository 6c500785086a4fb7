// Package nagios renders Evaluations as Monitoring Plugins (Nagios, Icinga,
// Naemon, Zabbix, Mackerel check plugins) output: one status line with
// performance data, and the exit code 0, 1, 2 or 3.
//
//	CPU CRITICAL: web-2: cpu_percent=95% (critical 90); 1 of 2 OK | 'cpu_percent:web-1'=12.5%;80;90;0;100 'cpu_percent:web-2'=95%;80;90;0;100
//
// The format follows the Monitoring Plugins development guidelines: the
// status word decides nothing (the exit code does), perfdata is
// 'label'=value[UOM];[warn];[crit];[min];[max] with trailing empty fields
// dropped, warn and crit are range strings ([monitor.Range.String]), and
// labels are quoted when they contain a space, "=" or "'" (a quote inside
// is doubled).
//
// The line shows the samples the check is judged on: when thresholds are
// given, only the samples some threshold matches (by name and labels)
// appear in the summary and the perfdata, so a CPU check shows
// cpu_percent rather than every sample its monitor produced; a threshold
// without ranges adds a sample to the line without alerting on it. With
// no thresholds every sample appears.
//
// # Usage
//
//	evs, err := runner.CheckOnce(ctx, "cpu")
//	if err != nil {
//		fmt.Println("CPU UNKNOWN:", err)
//		os.Exit(3)
//	}
//	text, exit := nagios.Format("CPU", evs, check.Thresholds)
//	fmt.Println(text)
//	os.Exit(exit)
package nagios
