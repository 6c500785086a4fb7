package jobfile_test

import (
	"fmt"
	"time"

	"github.com/minato-ops/minato/job/jobfile"
)

func ExampleParse() {
	_, err := jobfile.Parse([]byte(`
name: nightly
units:
  - name: extract
    run: {image: "app:1", command: [extract]}
    timeout: 30 seconds
  - name: transform
    needs: [extract, load]
    exec: {container: worker, command: [transform]}
`))
	fmt.Println(err)
	// Output:
	// units[0].timeout: "30 seconds": want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)
	// units[1].needs[1]: no unit is named "load"
}

func ExampleScheduleDef_Schedule() {
	def, err := jobfile.Parse([]byte(`
name: nightly
queue: batch
schedule:
  cron: "30 2 * * *"
  timezone: Asia/Tokyo
  calendar: {holidays: [2026-01-12]}   # Monday to Friday, but not the 12th
  shift: next
units:
  - {name: extract, run: {image: "app:1", command: [extract]}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := def.Schedule.Schedule(nil) // no named calendars needed
	if err != nil {
		fmt.Println(err)
		return
	}
	// Friday 21:00 in Tokyo: Saturday's, Sunday's and the holiday's due
	// times are shifted to Tuesday, where they are one.
	t := time.Date(2026, 1, 9, 12, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon 2006-01-02 15:04 MST"))
	}
	// Output:
	// Tue 2026-01-13 02:30 JST
	// Wed 2026-01-14 02:30 JST
	// Thu 2026-01-15 02:30 JST
}
