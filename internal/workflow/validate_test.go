package workflow_test

import (
	"slices"
	"strings"
	"testing"

	"whistle/internal/i18n"
	"whistle/internal/workflow"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(d *workflow.Definition)
		vocab func(v *workflow.Vocab)
		want  []string
	}{
		{"the test file is valid", func(d *workflow.Definition) {}, nil, nil},
		{"unreachable state", func(d *workflow.Definition) {
			d.States = append(d.States, workflow.State{Name: "archived", Terminal: true})
		}, nil, []string{`state "archived" is unreachable from "open"`}},
		{"dead end", func(d *workflow.Definition) {
			d.States = append(d.States, workflow.State{Name: "limbo"})
			d.Actions = append(d.Actions, workflow.Action{Name: "park", From: []string{"taken"}, To: "limbo", Roles: []string{"lead"}})
		}, nil, []string{`state "limbo" is a dead end: no action leaves it`}},
		{"a loop with no way to an end", func(d *workflow.Definition) {
			d.States = append(d.States, workflow.State{Name: "ping"}, workflow.State{Name: "pong"})
			d.Actions = append(d.Actions,
				workflow.Action{Name: "bounce", From: []string{"taken"}, To: "ping", Roles: []string{"lead"}},
				workflow.Action{Name: "bounce", From: []string{"ping"}, To: "pong", Roles: []string{"lead"}},
				workflow.Action{Name: "bounce", From: []string{"pong"}, To: "ping", Roles: []string{"lead"}})
		}, nil, []string{`state "ping" has no path to a terminal state`, `state "pong" has no path to a terminal state`}},
		{"duplicate state", func(d *workflow.Definition) {
			d.States = append(d.States, workflow.State{Name: "taken"})
		}, nil, []string{`state "taken" is declared twice`}},
		{"duplicate action", func(d *workflow.Definition) {
			d.Actions = append(d.Actions, workflow.Action{Name: "take", From: []string{"open"}, To: "closed", Roles: []string{"lead"}})
		}, nil, []string{`action "take" from "open" is declared twice with the same guards`}},
		{"same action, other guards, is no duplicate", func(d *workflow.Definition) {
			d.Actions = append(d.Actions, workflow.Action{Name: "take", From: []string{"open"}, To: "closed", Roles: []string{"lead"},
				When: []workflow.Cond{{Field: "score", Op: "eq", Value: 0}}})
		}, nil, nil},
		{"unknown effect", func(d *workflow.Definition) {
			d.Actions[0].Effects = append(d.Actions[0].Effects, "launch_rocket")
		}, nil, []string{`action "take" names unknown effect "launch_rocket"`}},
		{"unknown role, relation and field", func(d *workflow.Definition) {
			d.Actions[1].Roles = []string{"janitor"}
			d.Actions[1].Relations = []string{"neighbour"}
			d.Actions[1].Optional = []string{"colour"}
		}, nil, []string{`action "answer" names unknown role "janitor"`, `action "answer" names unknown relation "neighbour"`,
			`action "answer" names unknown field "colour"`}},
		{"unknown guard field and operator", func(d *workflow.Definition) {
			d.Actions[4].When = []workflow.Cond{{Field: "ticket.age", Op: "eq"}, {Field: "score", Op: "ne"}}
		}, nil, []string{`action "rate" tests unknown field "ticket.age"`, `action "rate" compares with unknown operator "ne"`}},
		{"unknown states in an action", func(d *workflow.Definition) {
			d.Actions[0].From = []string{"nowhere"}
			d.Actions[0].To = "elsewhere"
		}, nil, []string{`action "take" leaves unknown state "nowhere"`, `action "take" leads to unknown state "elsewhere"`,
			`state "open" has no path to a terminal state`, `state "taken" is unreachable from "open"`,
			`state "answered" is unreachable from "open"`, `state "on_hold" has no path to a terminal state`,
			`state "closed" is unreachable from "open"`}},
		{"nobody may act", func(d *workflow.Definition) {
			d.Actions[2].Roles = nil
		}, nil, []string{`nobody may take action "hold"`}},
		{"terminal state with an exit", func(d *workflow.Definition) {
			d.Actions = append(d.Actions, workflow.Action{Name: "reopen", From: []string{"closed"}, To: "open", Roles: []string{"lead"}})
		}, nil, []string{`terminal state "closed" has an exit: action "reopen"`}},
		{"an after-end action the module does not allow", func(d *workflow.Definition) {}, func(v *workflow.Vocab) { v.AfterEnd = nil },
			[]string{`terminal state "closed" has an exit: action "note"`}},
		{"a resolved state the module does not count", func(d *workflow.Definition) { d.States[1].Resolved = true },
			func(v *workflow.Vocab) { v.Resolved = []string{"closed"} }, []string{`state "taken" is marked resolved, which the module does not count as solved`}},
		{"a terminal state the module does not know", func(d *workflow.Definition) {}, func(v *workflow.Vocab) { v.Terminal = []string{"done"} },
			[]string{`terminal state "closed" is not one the module knows as an end`}},
		{"a stage the module does not know", func(d *workflow.Definition) { d.States[1].Stage = "ponder"; d.Stages[1].Name = "ponder" },
			func(v *workflow.Vocab) { v.Stages = []string{"take", "answer"} }, []string{`state "taken" names unknown time-limit stage "ponder"`}},
		{"a state naming an undeclared stage", func(d *workflow.Definition) { d.States[2].Stage = "review"; d.States[0].Stage = "review" },
			nil, []string{`stage "take" is declared but no state names it`, `state "open" names stage "review", which the stages do not declare`}},
		{"a stage no state names", func(d *workflow.Definition) {
			d.Stages = append(d.Stages, workflow.Stage{Name: "archive", Limit: &workflow.Limit{Amount: 1, Unit: workflow.WorkingDays}})
		}, nil, []string{`stage "archive" is declared but no state names it`}},
		{"a stage declared twice", func(d *workflow.Definition) { d.Stages = append(d.Stages, d.Stages[0]) },
			nil, []string{`stage "take" is declared twice`}},
		{"an unknown unit", func(d *workflow.Definition) { d.Stages[0].Limit.Unit = "fortnights" },
			nil, []string{`stage "take" has a time limit in unknown unit "fortnights"`}},
		{"a negative limit", func(d *workflow.Definition) { d.Stages[0].Limit.Amount = -2 },
			nil, []string{`stage "take" has time limit -2, which is not between 1 and the calendar's bound`}},
		{"a zero limit", func(d *workflow.Definition) { d.Stages[1].Limit.Amount = 0 },
			nil, []string{`stage "answer" has time limit 0, which is not between 1 and the calendar's bound`}},
		{"a limit past the calendar's bound", func(d *workflow.Definition) {
			d.Stages[0].Limit = &workflow.Limit{Amount: 1001, Unit: workflow.WorkingDays}
		},
			nil, []string{`stage "take" has time limit 1001, which is not between 1 and the calendar's bound`}},
		{"no limit is allowed", func(d *workflow.Definition) { d.Stages[0].Limit = nil }, nil, nil},
		{"a warning past the limit", func(d *workflow.Definition) { d.Stages[1].WarnPercent = 100 },
			nil, []string{`stage "answer" warns at 100%, which is not between 0 and 99`}},
		{"bad initial state", func(d *workflow.Definition) { d.Initial = "start" }, nil, []string{`initial state "start" is not declared`}},
		{"another module's kind", func(d *workflow.Definition) { d.Kind = "case" }, nil, []string{`kind "case" is not "ticket"`}},
		{"no version", func(d *workflow.Definition) { d.Version = 0 }, nil, []string{`version 0 is not a positive number`}},
		{"no terminal state", func(d *workflow.Definition) {
			d.States[4].Terminal = false
			d.Actions = d.Actions[:7] // without note, which would be an exit
		}, nil, []string{`no state is terminal`, `state "open" has no path to a terminal state`, `state "taken" has no path to a terminal state`,
			`state "answered" has no path to a terminal state`, `state "on_hold" has no path to a terminal state`,
			`state "closed" is a dead end: no action leaves it`}},
		{"resume from a state that is not paused", func(d *workflow.Definition) { d.Actions[3].From = []string{"taken"} },
			nil, []string{`action "release" resumes from "taken", which is not a paused state`, `state "on_hold" is a dead end: no action leaves it`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := ticketDef(t)
			tc.edit(d)
			v := ticketVocab()
			if tc.vocab != nil {
				tc.vocab(&v)
			}
			var got []string
			for _, p := range workflow.Validate(d, v) {
				got = append(got, p.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseRefusesUnknownKeys(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key":       `{"kind": "ticket", "name": "t", "version": 1, "initial": "a", "colour": "red"}`,
		"unknown state key": `{"kind": "ticket", "states": [{"name": "a", "final": true}]}`,
		"trailing data":     `{"kind": "ticket"} {}`,
		"not json":          `kind: ticket`,
	} {
		if _, err := workflow.Parse([]byte(body)); err == nil {
			t.Errorf("%s: Parse accepted %s", name, body)
		}
	}
}

// TestProblemMessagesInBothLanguages checks that every problem's key is in
// the catalogues and that the English there says what Error says.
func TestProblemMessagesInBothLanguages(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range workflow.Keys() {
		args := []any{"a", "b"}
		switch k {
		case "workflow.bad_version", "workflow.no_action_name":
			args = []any{3}
		case "workflow.bad_limit", "workflow.bad_warn":
			args = []any{"a", 3}
		}
		// As many arguments as the message takes.
		p := workflow.Problem{Key: k}
		for n := 0; n <= len(args); n++ {
			if p = (workflow.Problem{Key: k, Args: args[:n]}); !strings.Contains(p.Error(), "%!") {
				break
			}
		}
		args = p.Args
		want := strings.ToUpper(p.Error()[:1]) + p.Error()[1:] + "."
		if got := cat.T(i18n.EN, k, args...); got != want {
			t.Errorf("%s: catalogue en %q, want %q", k, got, want)
		}
		if zh := cat.T(i18n.ZH, k, args...); zh == k || strings.Contains(zh, "%!") {
			t.Errorf("%s: catalogue zh %q", k, zh)
		}
	}
}
