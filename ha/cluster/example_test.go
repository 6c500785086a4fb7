package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
)

// printEngine stands for a node's ha.Engine: it prints what the cluster
// asks of it.
type printEngine struct{ node string }

func (e printEngine) Online(ctx context.Context, group string, epoch ha.Epoch) error {
	fmt.Printf("%s: activate %s\n", e.node, group)
	return nil
}

func (e printEngine) Offline(ctx context.Context, group string) error {
	fmt.Printf("%s: deactivate %s\n", e.node, group)
	return nil
}

func (e printEngine) OfflineAll(ctx context.Context) error { return nil }

// Two nodes in one process, over an in-memory network: the first node of
// the group takes it, then an operator moves it to the other node.
func Example() {
	net := cluster.NewMemNetwork()
	key := []byte("an example key of at least 32 bytes")
	groups := []ha.Group{{Name: "web", Nodes: []string{"tokyo", "osaka"}}}
	nodes := []cluster.NodeConfig{
		{Name: "tokyo", Addresses: []string{"tokyo.example:5405"}},
		{Name: "osaka", Addresses: []string{"osaka.example:5405"}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	members := map[string]*cluster.Cluster{}
	for _, n := range nodes {
		tr, err := net.Listen(n.Addresses...)
		if err != nil {
			fmt.Println(err)
			return
		}
		cfg := cluster.Config{Cluster: "example", Node: n.Name, Nodes: nodes,
			Interval: 20 * time.Millisecond, Timeout: 60 * time.Millisecond}
		c, err := cluster.New(cfg, key, groups, printEngine{n.Name}, cluster.WithTransport(tr))
		if err != nil {
			fmt.Println(err)
			return
		}
		members[n.Name] = c
		wg.Go(func() { c.Run(ctx) })
	}

	for {
		if _, ok := members["tokyo"].Holds("web"); ok {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	first, _ := members["tokyo"].Holds("web")
	if err := members["tokyo"].Move(ctx, "web", "osaka"); err != nil {
		fmt.Println(err)
		return
	}
	now, _ := members["osaka"].Holds("web")
	st := members["osaka"].Status().Groups[0]
	fmt.Printf("%s is %s on %s, epoch +%d\n", st.Name, st.State, st.Holder, now-first)
	// Output:
	// tokyo: activate web
	// tokyo: deactivate web
	// osaka: activate web
	// web is online on osaka, epoch +1
}
