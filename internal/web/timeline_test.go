package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/i18n"
	"whistle/internal/sla"
)

// TestTimelineDetails: each action's timeline entry renders the typed
// facts its event records, in both languages, with whom a step dispatched
// to and which rule chose a department for staff only; rows with unknown
// or ill-typed data still render, without those facts.
func TestTimelineDetails(t *testing.T) {
	s := newDocServer(t).features().cases
	c := &casework.Case{ID: 7, Number: "WS20261123000001"}
	tests := []struct {
		name   string
		action casework.Action
		data   string // the stored JSON
		staff  bool
		lang   i18n.Lang
		want   string // details, " | "-joined
	}{
		{"submit", casework.ActSubmit, `{"source":"resident","category":"ZL05"}`, true, i18n.EN, ""},
		{"dispatch to a department", casework.ActDispatch, `{"target_department":"CG","target_department_name":"城管局"}`, false, i18n.EN, "to: 城管局"},
		{"dispatch to a person, staff", casework.ActDispatch, `{"target_user":"grid-a"}`, true, i18n.EN, "to: grid-a"},
		{"dispatch to a person, resident", casework.ActDispatch, `{"target_user":"grid-a"}`, false, i18n.EN, ""},
		{"automatic by rule, staff", casework.ActDispatch, `{"automatic":true,"rule_id":12,"rule_category":"ZL05","rule_region":"330303001","rule_priority":3,"target_department_name":"城管局"}`,
			true, i18n.EN, "to: 城管局 | Dispatched automatically by routing rule #12 (category ZL05, region 330303001, priority 3)"},
		{"automatic by rule, resident", casework.ActDispatch, `{"automatic":true,"rule_id":12,"target_department_name":"城管局"}`, false, i18n.EN,
			"to: 城管局 | Dispatched automatically"},
		{"automatic by default", casework.ActAccept, `{"automatic":true,"default_of":"ZL05"}`, true, i18n.EN,
			"Dispatched automatically to the default department of category ZL05"},
		{"rate", casework.ActRate, `{"stars":4}`, false, i18n.EN, "★★★★☆"},
		{"verify passed", casework.ActVerify, `{"passed":true}`, true, i18n.EN, "Passed"},
		{"verify failed", casework.ActVerify, `{"passed":false}`, true, i18n.EN, "Failed (rework)"},
		{"verify failed, zh", casework.ActVerify, `{"passed":false}`, true, i18n.ZH, "不通过（返工）"},
		{"revisit", casework.ActRevisit, `{"result":"basically_satisfied"}`, true, i18n.EN, "Basically satisfied"},
		{"postpone request", casework.ActPostponeRequest, `{"hours":16,"reason":"物业未回复"}`, true, i18n.EN, "16 working hours | Reason: 物业未回复"},
		{"merge", casework.ActMerge, `{"parent":"WS20261123000002"}`, false, i18n.EN, "merged into WS20261123000002"},
		{"merge, zh", casework.ActMerge, `{"parent":"WS20261123000002"}`, false, i18n.ZH, "合并到 WS20261123000002"},
		{"SLA breach", casework.ActBreach, `{"stage":"handle","limit":"3wd","deadline":"2026-11-30T18:00:00+08:00"}`, true, i18n.EN, "Time-limit stage: Handle"},
		{"SLA warning, zh", casework.ActWarning, `{"stage":"dispatch"}`, true, i18n.ZH, "时限环节：派遣"},
		{"a stage the catalogue does not name", casework.ActBreach, `{"stage":"inspect"}`, true, i18n.EN, "Time-limit stage: inspect"},
		{"escalation", casework.ActEscalate, `{"supervision":4,"level":"street","reason":"超时未办结"}`, true, i18n.EN, "Reason: 超时未办结"},
		{"no data", casework.ActAccept, ``, true, i18n.EN, ""},
		{"unknown keys", casework.ActAccept, `{"colour":"red"}`, true, i18n.EN, ""},
		{"ill-typed legacy data", casework.ActRate, `{"stars":"5","passed":"yes","hours":"8","target_department_name":7}`, true, i18n.EN, ""},
		{"stars out of range", casework.ActRate, `{"stars":9}`, true, i18n.EN, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := casework.Event{ID: 1, Action: tt.action, Role: "community_staff", ActorName: "staff-a"}
			if tt.data != "" {
				if err := json.Unmarshal([]byte(tt.data), &e.Data); err != nil {
					t.Fatal(err)
				}
			}
			it := s.timelineItem(tt.lang, c, e, tt.staff, false)
			if got, want := strings.Join(it.Details, " | "), tt.want; got != want {
				t.Errorf("details: got %q, want %q", got, want)
			}
			if it.ActionText == "" || strings.HasPrefix(it.ActionText, "action.") {
				t.Errorf("action text: got %q, want the action's name", it.ActionText)
			}
		})
	}
}

// TestTimelinePostponeUnit (issue 15 item 6): a 延期 entry says what it
// added in the unit of the limit open at the step: working hours for a
// working-time stage, natural hours for a natural-time one.
func TestTimelinePostponeUnit(t *testing.T) {
	s := newDocServer(t).features().cases
	c := &casework.Case{ID: 7, Number: "WS20261123000001"}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	working := sla.Stage{Stage: "dispatch", StartedAt: at.Add(-48 * time.Hour)}
	natural := sla.Stage{Stage: "handle", Natural: true, StartedAt: at.Add(-time.Hour)}
	tests := []struct {
		name   string
		stages []sla.Stage
		action casework.Action
		lang   i18n.Lang
		want   string
	}{
		{"request in a working-time stage, zh", []sla.Stage{working}, casework.ActPostponeRequest, i18n.ZH, "延期 8 个工作小时"},
		{"approval in a working-time stage, en", []sla.Stage{working}, casework.ActPostponeApprove, i18n.EN, "8 working hours"},
		{"request in a natural-time stage, zh", []sla.Stage{working, natural}, casework.ActPostponeRequest, i18n.ZH, "延期 8 小时（自然时）"},
		{"approval in a natural-time stage, en", []sla.Stage{working, natural}, casework.ActPostponeApprove, i18n.EN, "8 hours (natural time)"},
		{"a natural stage entered after the step", []sla.Stage{working, {Stage: "verify", Natural: true, StartedAt: at.Add(time.Hour)}}, casework.ActPostponeApprove, i18n.ZH, "延期 8 个工作小时"},
		{"no stages", nil, casework.ActPostponeApprove, i18n.ZH, "延期 8 个工作小时"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := casework.Event{ID: 1, Action: tt.action, At: at, Role: "street_staff", Data: map[string]any{"hours": 8.0}}
			it := s.timelineItem(tt.lang, c, e, true, naturalAt(tt.stages, e.At))
			if got := strings.Join(it.Details, " | "); got != tt.want {
				t.Errorf("details: got %q, want %q", got, tt.want)
			}
		})
	}
}
