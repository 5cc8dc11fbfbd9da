package workflow_test

import (
	"slices"
	"testing"

	"whistle/internal/workflow"
)

func TestDiff(t *testing.T) {
	cases := []struct {
		name string
		edit func(d *workflow.Definition)
		want []string
	}{
		{"no change", func(d *workflow.Definition) {}, nil},
		{"a state added, with an action into it", func(d *workflow.Definition) {
			d.States = append(d.States, workflow.State{Name: "archived", Terminal: true})
			d.Actions = append(d.Actions, workflow.Action{Name: "archive", From: []string{"answered"}, To: "archived", Roles: []string{"lead"}})
		}, []string{`state "archived" added`, `action "archive" from [answered] added`}},
		{"a state removed", func(d *workflow.Definition) {
			d.States = d.States[:3]
		}, []string{`state "on_hold" removed`, `state "closed" removed`}},
		{"labels, flags and stages", func(d *workflow.Definition) {
			d.Label.Zh = "工单2"
			d.States[0].Label.En = "new"
			d.States[1].Stage = "work"
			d.States[2].Paused = true
		}, []string{`label: "工单"/"Ticket" → "工单2"/"Ticket"`,
			`state "open": label "待处理"/"open" → "待处理"/"new"`, `state "taken": stage "answer" → "work"`, `state "answered": paused false → true`}},
		{"who may act, fields, effects, target, visibility", func(d *workflow.Definition) {
			d.Actions[1].Relations = []string{"owner", "requester"}
			d.Actions[1].Requires = nil
			d.Actions[1].Optional = []string{"text"}
			d.Actions[0].Effects = nil
			d.Actions[0].Public = true
			d.Actions[2].To = "closed"
		}, []string{`action "take" from [open]: effects [assign_self] → []`, `action "take" from [open]: public false → true`,
			`action "answer" from [taken]: relations [owner] → [owner requester]`, `action "answer" from [taken]: requires [text] → []`,
			`action "answer" from [taken]: optional [] → [text]`, `action "hold" from [open taken]: to "on_hold" → "closed"`}},
		{"stage limits, warnings and assessment", func(d *workflow.Definition) {
			d.Stages[0].Limit = &workflow.Limit{Amount: 6, Unit: workflow.WorkingHours}
			d.Stages[0].UseCategory = true
			d.Stages[1].WarnPercent = 70
			d.Stages[1].Assessed = true
			d.Stages[1].Label.Zh = "回复"
			d.Stages[1].Limit = nil
		}, []string{`stage "take": limit 4 working_hours → 6 working_hours`, `stage "take": category's own limit first false → true`,
			`stage "answer": label "答复"/"answer" → "回复"/"answer"`, `stage "answer": limit 2 natural_days → none`,
			`stage "answer": warning at 50% → 70%`, `stage "answer": assessed false → true`}},
		{"a stage added and one removed", func(d *workflow.Definition) {
			d.Stages[1] = workflow.Stage{Name: "review", Limit: &workflow.Limit{Amount: 1, Unit: workflow.WorkingDays}, Assessed: true}
		}, []string{`stage "answer" removed`, `stage "review" added: limit 1 working_days, assessed true`}},
		{"a guarded branch removed", func(d *workflow.Definition) {
			d.Actions = slices.Delete(d.Actions, 4, 5)
		}, []string{`action "rate" from [answered] when score le 2,ticket.reopens eq 0 removed`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prev, next := ticketDef(t), ticketDef(t)
			tc.edit(next)
			if got := workflow.Diff(prev, next); !slices.Equal(got, tc.want) {
				t.Errorf("diff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
