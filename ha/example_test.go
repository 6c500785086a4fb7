package ha_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// service is a stand-in resource: its check fails `failing` times, with
// the code a container resource would give for a container that exited;
// with slow set, its Activate takes until its deadline.
type service struct {
	mu      sync.Mutex
	active  bool
	failing int
	slow    bool
}

func (s *service) Activate(ctx context.Context, _ inventory.Target) error {
	if s.slow {
		<-ctx.Done()
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = true
	return nil
}

func (s *service) Deactivate(context.Context, inventory.Target) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = false
	return nil
}

func (s *service) Check(context.Context, inventory.Target) (monitor.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.failing > 0:
		s.failing--
		return monitor.Result{Status: monitor.Critical, Code: 8, Message: "container exited with code 137"}, nil
	case !s.active:
		return monitor.Result{Status: monitor.Critical, Code: 8, Message: "container is not running"}, nil
	}
	return monitor.Result{Status: monitor.OK}, nil
}

// A group of two members: app's check fails twice in a row, so the
// engine restarts app; the next check finds it healthy.
func ExampleEngine() {
	recovered := make(chan struct{})
	eng, err := ha.NewEngine("node1", []ha.Group{{
		Name:  "web",
		Nodes: []string{"node1", "node2"},
		Members: []ha.Member{
			{Name: "db", Resource: &service{}},
			{Name: "app", Resource: &service{failing: 2}, DependsOn: []string{"db"},
				Policy: ha.RecoveryPolicy{Interval: 10 * time.Millisecond, Retries: 1}},
		},
	}}, ha.WithEvents(func(ev ha.Event) {
		fmt.Printf("%s: %s\n", ev.Kind, ev.Message)
		if ev.Kind == ha.EventMonitorRecovered {
			close(recovered)
		}
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := eng.Online(ctx, "web", 1); err != nil { // the cluster's call
		fmt.Println(err)
		return
	}
	go eng.Run(ctx)
	<-recovered
	if err := eng.Offline(ctx, "web"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// activated: Activating db resource has completed.
	// activated: Activating app resource has completed.
	// activated: Activating group web has completed.
	// monitor_error: Detected an error in monitoring app. (8 : container exited with code 137)
	// restart: Restarting app resource because an error was detected in monitoring app (restart 1 of 3).
	// deactivated: Deactivating app resource has completed.
	// activated: Activating app resource has completed.
	// monitor_recovered: Monitoring app is normal again.
	// deactivated: Deactivating app resource has completed.
	// deactivated: Deactivating db resource has completed.
	// deactivated: Deactivating group web has completed.
}

// An activation that runs out of time: the engine rolls the group back
// and returns the error, for the cluster to start the group elsewhere.
func ExampleEngine_Online() {
	eng, err := ha.NewEngine("node1", []ha.Group{{
		Name:  "web",
		Nodes: []string{"node1", "node2"},
		Members: []ha.Member{
			{Name: "vip", Resource: &service{}},
			{Name: "app", Resource: &service{slow: true}, DependsOn: []string{"vip"}, ActivateTimeout: 10 * time.Millisecond},
		},
	}}, ha.WithEvents(func(ev ha.Event) { fmt.Printf("%s: %s\n", ev.Kind, ev.Message) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = eng.Online(context.Background(), "web", 1)
	fmt.Println(err)
	fmt.Println(eng.Status()[0].State)
	// Output:
	// activated: Activating vip resource has completed.
	// activation_failed: Activating app resource has failed.(6 : Timeout occurred.)
	// deactivated: Deactivating app resource has completed.
	// deactivated: Deactivating vip resource has completed.
	// ha: group web: Activating app resource has failed.(6 : Timeout occurred.)
	// failed
}
