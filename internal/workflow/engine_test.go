package workflow_test

import (
	"testing"
)

func TestChooseAndGuards(t *testing.T) {
	d := ticketDef(t)
	cases := []struct {
		name    string
		action  string
		state   string
		reopens int
		in      inputs
		wantTo  string // "" means no candidate holds
	}{
		{"a low score reopens once", "rate", "answered", 0, inputs{"score": 1}, "taken"},
		{"at the limit of the guard", "rate", "answered", 0, inputs{"score": 2}, "taken"},
		{"a good score closes", "rate", "answered", 0, inputs{"score": 3}, "closed"},
		{"a second low score closes", "rate", "answered", 1, inputs{"score": 1}, "closed"},
		{"no score: the guarded branch fails, the other has no guard", "rate", "answered", 0, inputs{}, "closed"},
		{"an action from another state", "rate", "taken", 0, inputs{"score": 1}, ""},
		{"an unknown action", "fly", "open", 0, nil, ""},
		{"resume", "release", "on_hold", 0, nil, "@resume"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := &ticket{state: tc.state, reopens: tc.reopens}
			a := d.Choose(tc.action, tc.state, tk, tc.in)
			got := ""
			if a != nil {
				got = a.To
			}
			if got != tc.wantTo {
				t.Errorf("Choose(%s, %s): to %q, want %q", tc.action, tc.state, got, tc.wantTo)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	d := ticketDef(t)
	tk := &ticket{owner: 7, asker: 9}
	cases := []struct {
		name         string
		action       string
		state        string
		who          person
		wantBy       string
		wantRelation bool
		wantOK       bool
	}{
		{"an agent takes", "take", "open", person{id: 1, roles: []string{"agent"}}, "agent", false, true},
		{"a lead may not take", "take", "open", person{id: 1, roles: []string{"lead"}}, "", false, false},
		{"the owner answers", "answer", "taken", person{id: 7}, "owner", true, true},
		{"another agent may not answer", "answer", "taken", person{id: 8, roles: []string{"agent"}}, "", false, false},
		{"the requester rates", "rate", "answered", person{id: 9}, "requester", true, true},
		{"the owner may not rate", "rate", "answered", person{id: 7}, "", false, false},
		{"the system closes", "close", "answered", person{system: true}, "system", true, true},
		{"a lead closes", "close", "answered", person{id: 2, roles: []string{"lead"}}, "lead", false, true},
		{"nobody without a role or relation", "close", "answered", person{id: 3}, "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.who.tk = tk
			cands := d.Candidates(tc.action, tc.state)
			if len(cands) == 0 {
				t.Fatalf("no candidate for %s in %s", tc.action, tc.state)
			}
			by, rel, ok := cands[0].Allowed(tc.who)
			if by != tc.wantBy || rel != tc.wantRelation || ok != tc.wantOK {
				t.Errorf("Allowed = (%q, %v, %v), want (%q, %v, %v)", by, rel, ok, tc.wantBy, tc.wantRelation, tc.wantOK)
			}
		})
	}
}

func TestCandidatesInDefinitionOrder(t *testing.T) {
	d := ticketDef(t)
	got := d.Candidates("rate", "answered")
	if len(got) != 2 || got[0].To != "taken" || got[1].To != "closed" {
		t.Fatalf("candidates of rate in answered: %+v, want to taken then to closed", got)
	}
	if len(d.Candidates("hold", "answered")) != 0 {
		t.Error("hold leaves answered, which the definition does not say")
	}
	if !d.Knows("release") || d.Knows("fly") {
		t.Error("Knows is wrong")
	}
}

func BenchmarkChooseAllowed(b *testing.B) {
	d := ticketDef(b)
	tk := &ticket{owner: 7, asker: 9}
	who := person{id: 9, tk: tk}
	in := inputs{"score": 4}
	for b.Loop() {
		a := d.Choose("rate", "answered", tk, in)
		if _, _, ok := a.Allowed(who); !ok {
			b.Fatal("not allowed")
		}
	}
}
