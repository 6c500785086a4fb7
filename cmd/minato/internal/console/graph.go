package console

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/minato-ops/minato/job/jobfile"
)

// graphCacheMax bounds the parsed definitions kept by a Definitions.
const graphCacheMax = 512

// Definitions turns job file definitions into graphs, caching them by
// content. The zero Definitions is ready to use; safe for concurrent use.
type Definitions struct {
	mu    sync.Mutex
	cache map[[32]byte]parsedGraph
}

type parsedGraph struct {
	name  string
	units []GraphUnit
}

// Graph returns the network name and the graph of a job file's
// definition (what scheduler.RunRecord.Definition and the agent's jobnet
// files hold), parsed with jobfile.Parse. Parsed definitions are cached
// by content (up to 512), so that a page refreshing every second does not
// parse them again. The returned slice must not be modified. Safe for
// concurrent use.
func (ds *Definitions) Graph(def []byte) (string, []GraphUnit, error) {
	key := sha256.Sum256(def)
	ds.mu.Lock()
	g, ok := ds.cache[key]
	ds.mu.Unlock()
	if ok {
		return g.name, g.units, nil
	}
	d, err := jobfile.Parse(def)
	if err != nil {
		return "", nil, fmt.Errorf("console: job network definition: %w", err)
	}
	g = parsedGraph{name: d.Name, units: make([]GraphUnit, 0, len(d.Units))}
	for _, u := range d.Units {
		when := u.When.On
		if when == "" && len(u.When.Codes) > 0 {
			when = "exit"
		}
		g.units = append(g.units, GraphUnit{Name: u.Name, Needs: u.Needs, When: when})
	}
	ds.mu.Lock()
	if ds.cache == nil || len(ds.cache) >= graphCacheMax {
		ds.cache = map[[32]byte]parsedGraph{}
	}
	ds.cache[key] = g
	ds.mu.Unlock()
	return g.name, g.units, nil
}
