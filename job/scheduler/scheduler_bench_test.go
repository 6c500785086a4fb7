package scheduler_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSchedulerIdle measures the CPU a Scheduler uses while 1,000
// scheduled networks wait for their due times (daily, spread over the
// day, none due during the run), as a percentage of one core, next to the
// same process with no scheduler (the measurement's own noise floor) and
// to a naive scheduler with one timer goroutine per network. Each
// iteration is one second of wall time.
//
//	go test ./job -run '^$' -bench SchedulerIdle -benchtime 10x -count 6
func BenchmarkSchedulerIdle(b *testing.B) {
	const networks = 1000
	specs := make([]*schedule.Cron, networks)
	now := time.Now().UTC()
	for i := range specs {
		// Due daily at a minute at least 2 h away from now.
		m := (now.Hour()*60 + now.Minute() + 120 + i%1200) % 1440
		c, err := schedule.ParseCron(fmt.Sprintf("%d %d * * *", m%60, m/60), time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		specs[i] = c
	}
	measure := func(b *testing.B) {
		time.Sleep(200 * time.Millisecond) // settle
		b.ResetTimer()
		c0, t0 := cpuTime(b), time.Now()
		for range b.N {
			time.Sleep(time.Second)
		}
		c1, t1 := cpuTime(b), time.Now()
		b.StopTimer()
		b.ReportMetric(100*float64(c1-c0)/float64(t1.Sub(t0)), "cpu-%")
		b.ReportMetric(0, "ns/op")
	}

	b.Run("impl=none", measure)

	b.Run("impl=minato", func(b *testing.B) {
		s, err := newScheduler(scheduler.Config{}, scheduler.NewMemStore())
		if err != nil {
			b.Fatal(err)
		}
		for i, c := range specs {
			err := s.Add(scheduler.Entry{Name: fmt.Sprintf("net-%04d", i), Schedule: c,
				Build: func([]byte, string) (*job.Network, error) { return nil, fmt.Errorf("not due in this benchmark") }})
			if err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		measure(b)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if got := len(s.Networks()); got != networks {
			b.Fatalf("%d networks scheduled", got)
		}
	})

	b.Run("impl=timer-per-network", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		for _, c := range specs {
			go func() {
				for {
					t := time.NewTimer(time.Until(c.Next(time.Now())))
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
			}()
		}
		measure(b)
		cancel()
	})
}
