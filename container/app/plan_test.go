package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minato-ops/minato/container"
)

func replica(s Spec, i int, state container.State, name string) container.Summary {
	if name == "" {
		name = ReplicaName(s.Name, i)
	}
	return container.Summary{ID: name + "-id", Name: name, State: state, Labels: map[string]string{
		LabelApp: s.Name, LabelReplica: string(rune('0' + i)), LabelSpec: s.Hash(), LabelConfig: s.recordLabel(),
	}}
}

func TestNewPlan(t *testing.T) {
	s := Spec{Name: "web", Image: "img:1", Replicas: ptr(2), Env: map[string]string{"PW": "old"}}
	old := s
	s2 := s
	s2.Env = map[string]string{"PW": "new-secret"}
	s2.Image = "img:2"
	actual := []container.Summary{
		replica(old, 1, container.Running, ""),
		replica(old, 2, container.Exited, ""),
		replica(old, 3, container.Running, ""),
		replica(old, 4, container.Running, ""),
		replica(old, 1, container.Exited, "web-1"+PrevSuffix),
		replica(Spec{Name: "gone", Image: "x"}, 1, container.Running, ""),
	}
	p := NewPlan([]Spec{s}, actual, PlanOptions{})
	got := []string{}
	for _, st := range p.Apps[0].Steps {
		got = append(got, st.Container+" "+string(st.Action))
	}
	want := "web-1 keep|web-2 start|web-4 remove|web-3 remove|web-1.minato-prev remove"
	if strings.Join(got, "|") != want {
		t.Fatalf("steps %v, want %s", got, want)
	}
	if len(p.Apps) != 1 {
		t.Fatal("undeclared app planned without Prune")
	}
	p = NewPlan([]Spec{s2}, actual[:1], PlanOptions{Prune: true})
	txt := p.String()
	for _, w := range []string{"web-1                    recreate spec changed", "image: img:1 -> img:2", "env.PW: changed", "web-2                    create   missing"} {
		if !strings.Contains(txt, w) {
			t.Errorf("text lacks %q:\n%s", w, txt)
		}
	}
	b, _ := json.Marshal(p)
	if strings.Contains(txt+string(b), "secret") || strings.Contains(txt+string(b), "old") {
		t.Fatalf("plan shows an env value:\n%s\n%s", txt, b)
	}
	p = NewPlan([]Spec{old}, actual[:2], PlanOptions{Prune: true})
	if p.Count(ActionStart) != 1 || p.Converged() {
		t.Fatalf("plan %s", p)
	}
}
