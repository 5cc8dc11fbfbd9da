package sla

import (
	"context"
	"testing"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/workflow"
)

// upload activates a new version of the named workflow, edited by edit.
func (w *world) upload(t *testing.T, name string, edit func(d *workflow.Definition)) {
	t.Helper()
	ctx := context.Background()
	store := w.svc.WorkflowStore()
	active, err := store.Active(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	body, err := active.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	next, err := workflow.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	edit(next)
	if body, err = next.Marshal(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Upload(ctx, audit.System("test"), body, true); err != nil {
		t.Fatal(err)
	}
}

// setStage changes the default limit and assessment of a stage of d.
func setStage(t *testing.T, d *workflow.Definition, name string, l workflow.Limit, assessed bool) {
	t.Helper()
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			d.Stages[i].Limit, d.Stages[i].Assessed = &l, assessed
			return
		}
	}
	t.Fatalf("no stage %s", name)
}

// TestStageLimitsFromTheCasesWorkflowVersion: without a district rule a
// stage gets the default of the version its case follows, so an upload
// changes the limits and the assessment of new cases only; a rule, when
// one matches, wins over the default.
func TestStageLimitsFromTheCasesWorkflowVersion(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		old := w.submit(t, "resident", "ZL0302", inA)
		w.upload(t, "whistle", func(d *workflow.Definition) {
			setStage(t, d, "accept", workflow.Limit{Amount: 6, Unit: workflow.WorkingHours}, false)
			setStage(t, d, "dispatch", workflow.Limit{Amount: 1, Unit: workflow.NaturalDays}, true)
		})
		fresh := w.submit(t, "resident", "ZL0302", inA)
		if fresh.WorkflowVersion != old.WorkflowVersion+1 {
			t.Fatalf("workflow versions: old %d, new %d", old.WorkflowVersion, fresh.WorkflowVersion)
		}
		type want struct {
			stage, limit string
			assessed     bool
		}
		check := func(name string, id int64, wt want) {
			t.Helper()
			st := w.open(t, id)
			if st == nil || st.Stage != wt.stage || st.Limit != wt.limit || st.Assessed != wt.assessed || st.RuleID != 0 {
				t.Errorf("%s: got stage %+v, want %+v from the definition", name, st, wt)
			}
		}
		check("old case, accept", old.ID, want{"accept", "2h", true})
		check("new case, accept", fresh.ID, want{"accept", "6h", false})
		w.act(t, "staff-a", old.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", fresh.ID, casework.ActAccept, casework.Input{})
		check("old case, dispatch", old.ID, want{"dispatch", "30m", true})
		check("new case, dispatch", fresh.ID, want{"dispatch", "24ch", true})

		// A district-wide rule wins over the default of every version.
		if _, err := w.eng.AddTimeLimit(ctx, audit.System("test"), TimeLimit{Workflow: "whistle", Stage: "accept", Limit: "3h"}); err != nil {
			t.Fatal(err)
		}
		ruled := w.submit(t, "resident", "ZL0302", inA)
		if st := w.open(t, ruled.ID); st.Limit != "3h" || st.RuleID == 0 || st.Assessed {
			t.Errorf("with a rule: got limit %s rule %d assessed %v, want 3h by the rule, not assessed (v2)", st.Limit, st.RuleID, st.Assessed)
		}
	})
}
