package workflow_test

import (
	"os"
	"testing"

	"whistle/internal/workflow"
)

// ticketVocab is what the test-only "ticket" module knows.
func ticketVocab() workflow.Vocab {
	return workflow.Vocab{Kind: "ticket",
		Effects:   []string{"assign_self", "reopen"},
		Fields:    []string{"text", "score"},
		Attrs:     []string{"ticket.reopens"},
		Roles:     []string{"agent", "lead"},
		Relations: []string{"owner", "requester", "system"},
		AfterEnd:  []string{"note"},
	}
}

func ticketBody(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/ticket.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ticketDef(t testing.TB) *workflow.Definition {
	t.Helper()
	d, err := workflow.Parse(ticketBody(t))
	if err != nil {
		t.Fatal(err)
	}
	if ps := workflow.Validate(d, ticketVocab()); ps != nil {
		t.Fatalf("ticket.json: %v", ps)
	}
	return d
}

// ticket is an in-memory subject of the test kind.
type ticket struct {
	state   string
	reopens int
	owner   int
	asker   int
}

func (tk *ticket) Attr(name string) (int, bool) {
	if name == "ticket.reopens" {
		return tk.reopens, true
	}
	return 0, false
}

// inputs are the fields sent with an action.
type inputs map[string]int

func (in inputs) Value(name string) (int, bool) { v, ok := in[name]; return v, ok }

// person acts on a ticket: their roles, and their relations to it.
type person struct {
	id     int
	roles  []string
	system bool
	tk     *ticket
}

func (p person) HasRole(r string) bool {
	for _, x := range p.roles {
		if x == r {
			return true
		}
	}
	return false
}

func (p person) HasRelation(rel string) bool {
	switch rel {
	case "owner":
		return p.id != 0 && p.tk.owner == p.id
	case "requester":
		return p.id != 0 && p.tk.asker == p.id
	case "system":
		return p.system
	}
	return false
}
