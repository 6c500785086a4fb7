package console

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// Graph is a job network laid out for drawing: layered left to right by
// longest path (a unit sits one column right of the furthest unit it
// needs), units ordered within a column by the mean row of their needs.
type Graph struct {
	Width  int         `json:"width"`
	Height int         `json:"height"`
	Nodes  []GraphNode `json:"nodes"`
	Edges  []GraphEdge `json:"edges"`
}

// GraphNode is one unit's box.
type GraphNode struct {
	Name string `json:"name"`
	// Label is Name shortened to fit the box.
	Label    string `json:"label"`
	State    string `json:"state,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	Duration string `json:"duration,omitempty"`
	Layer    int    `json:"layer"`
	Row      int    `json:"row"`
	X        int    `json:"x"`
	Y        int    `json:"y"`
	W        int    `json:"w"`
	H        int    `json:"h"`
}

// GraphEdge is one dependency: To needs From. Path is the SVG path from
// the right side of From to the left side of To.
type GraphEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	When string `json:"when,omitempty"`
	Path string `json:"path"`
}

// Box sizes of the drawing, in SVG user units.
const (
	nodeW, nodeH = 160, 46
	gapX, gapY   = 48, 14
	pad          = 6
	labelRunes   = 20
)

// unitInfo is what a node shows of a unit's report.
type unitInfo struct {
	State    string
	Attempts int
	Duration string
}

// Layout lays out units. Needs naming no unit are ignored; a cycle (which
// a valid network has not) is broken where it is found.
func Layout(units []GraphUnit, info map[string]unitInfo) Graph {
	idx := make(map[string]int, len(units))
	for i, u := range units {
		if _, dup := idx[u.Name]; !dup {
			idx[u.Name] = i
		}
	}
	layer := make([]int, len(units))
	state := make([]uint8, len(units)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case 1:
			return -1 // a cycle: this edge does not push the layer
		case 2:
			return layer[i]
		}
		state[i] = 1
		l := 0
		for _, n := range units[i].Needs {
			if j, ok := idx[n]; ok && j != i {
				if nl := visit(j); nl >= 0 {
					l = max(l, nl+1)
				}
			}
		}
		layer[i], state[i] = l, 2
		return l
	}
	layers := 0
	for i := range units {
		if _, ok := idx[units[i].Name]; !ok || idx[units[i].Name] != i {
			continue // a duplicate name is drawn once
		}
		layers = max(layers, visit(i)+1)
	}
	cols := make([][]int, layers)
	for i := range units {
		if idx[units[i].Name] == i {
			cols[layer[i]] = append(cols[layer[i]], i)
		}
	}
	row := make([]int, len(units))
	for _, col := range cols {
		for r, i := range col {
			row[i] = r
		}
	}
	// Two sweeps of the barycenter heuristic: order each column by the
	// mean row of the units its units need (stable: definition order
	// breaks ties), which removes most crossings of typical networks.
	for range 2 {
		for l := 1; l < layers; l++ {
			bary := map[int]float64{}
			for _, i := range cols[l] {
				sum, n := 0.0, 0
				for _, need := range units[i].Needs {
					if j, ok := idx[need]; ok && layer[j] < l {
						sum += float64(row[j])
						n++
					}
				}
				if n > 0 {
					bary[i] = sum / float64(n)
				} else {
					bary[i] = float64(row[i])
				}
			}
			slices.SortStableFunc(cols[l], func(a, b int) int {
				switch {
				case bary[a] < bary[b]:
					return -1
				case bary[a] > bary[b]:
					return 1
				}
				return 0
			})
			for r, i := range cols[l] {
				row[i] = r
			}
		}
	}
	g := Graph{Nodes: []GraphNode{}, Edges: []GraphEdge{}}
	rows := 0
	for _, col := range cols {
		rows = max(rows, len(col))
	}
	g.Width = 2*pad + max(layers*(nodeW+gapX)-gapX, 0)
	g.Height = 2*pad + max(rows*(nodeH+gapY)-gapY, 0)
	pos := map[string][2]int{}
	for l, col := range cols {
		for r, i := range col {
			u := units[i]
			n := GraphNode{Name: u.Name, Label: shorten(u.Name, labelRunes), Layer: l, Row: r,
				X: pad + l*(nodeW+gapX), Y: pad + r*(nodeH+gapY), W: nodeW, H: nodeH}
			if in, ok := info[u.Name]; ok {
				n.State, n.Attempts, n.Duration = in.State, in.Attempts, in.Duration
			}
			g.Nodes = append(g.Nodes, n)
			pos[u.Name] = [2]int{n.X, n.Y}
		}
	}
	for i, u := range units {
		if idx[u.Name] != i {
			continue
		}
		for _, need := range u.Needs {
			from, ok := pos[need]
			if !ok || need == u.Name {
				continue
			}
			to := pos[u.Name]
			g.Edges = append(g.Edges, GraphEdge{From: need, To: u.Name, When: u.When, Path: edgePath(from, to)})
		}
	}
	return g
}

// edgePath is a cubic curve from the right middle of the box at from to
// the left middle of the box at to (or, for an edge that goes back
// because of a broken cycle, between the same sides).
func edgePath(from, to [2]int) string {
	x1, y1 := from[0]+nodeW, from[1]+nodeH/2
	x2, y2 := to[0], to[1]+nodeH/2
	dx := max((x2-x1)/2, gapX/2)
	it := strconv.Itoa
	return "M" + it(x1) + " " + it(y1) + " C" + it(x1+dx) + " " + it(y1) + " " + it(x2-dx) + " " + it(y2) + " " + it(x2) + " " + it(y2)
}

// shorten cuts s to n runes, ending with "…" when cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
