package schedule_test

import (
	"fmt"
	"time"

	"github.com/minato-ops/minato/job/schedule"
)

func ExampleOnCalendar() {
	nightly, err := schedule.ParseCron("TZ=Asia/Tokyo 0 2 * * *", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	may1, _ := schedule.ParseDate("2026-05-01") // a Friday
	cal := &schedule.Calendar{Name: "jp", Holidays: []schedule.Date{may1}}
	s, err := schedule.OnCalendar(nightly, cal, schedule.ShiftNext)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Friday's (a holiday), Saturday's and Sunday's runs move to Monday 02:00,
	// where they are one run.
	t := time.Date(2026, 4, 30, 12, 0, 0, 0, nightly.Location())
	for range 2 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon 2006-01-02 15:04"))
	}
	// Output:
	// Mon 2026-05-04 02:00
	// Tue 2026-05-05 02:00
}

func ExampleParseCron() {
	c, err := schedule.ParseCron("TZ=America/New_York 30 2 * * *", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// 02:30 does not exist on 2026-03-08 (clocks jump from 02:00 to 03:00):
	// it is due at 03:30 EDT, once.
	t := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)
	for range 3 {
		t = c.Next(t)
		fmt.Println(t.Format("2006-01-02 15:04 MST"))
	}
	_, err = schedule.ParseCron("0 25 * * *", time.UTC)
	fmt.Println(err)
	// Output:
	// 2026-03-07 02:30 EST
	// 2026-03-08 03:30 EDT
	// 2026-03-09 02:30 EDT
	// cron "0 25 * * *": hour: 25 out of range 0-23
}
