package sla

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// stageWant is what a case's open stage and its mirror on the case should be.
type stageWant struct {
	stage, limit, deadline, warn, sla string
}

func (w *world) checkStage(t *testing.T, id int64, want stageWant) {
	t.Helper()
	st := w.open(t, id)
	c := w.get(t, id)
	got := stageWant{sla: c.SLAState, deadline: at(c.DeadlineAt)}
	if st != nil {
		got.stage, got.limit, got.warn = st.Stage, st.Limit, at(st.WarnAt)
		if !st.Deadline.Equal(c.DeadlineAt) && st.PausedAt.IsZero() {
			t.Errorf("case deadline %s differs from its stage's %s", at(c.DeadlineAt), at(st.Deadline))
		}
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDeadlineOnStageEntry(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		// A 红哨 case in 卫生死角 (ZL0302, 2wd) submitted Friday 2025-09-26
		// 16:00, accepted and dispatched at that instant. Sunday 09-28 is
		// a make-up workday.
		ws := w.submit(t, "resident", "ZL0302", inA)
		urgent := w.submit(t, "resident", "ZL0202", inA) // 燃气隐患: urgent, 4ch
		urban := w.submit(t, "grid-a", "SJ0104", inA)    // 道路不洁: 5h
		steps := []struct {
			name string
			id   int64
			do   func()
			want stageWant
		}{
			{"submitted: accept in 2 working hours, over the weekend", ws.ID, func() {},
				stageWant{"accept", "2h", "2025-09-28 09:00 Sun", "2025-09-28 08:36 Sun", "ok"}},
			{"accepted: dispatch in 30 working minutes", ws.ID, func() { w.act(t, "staff-a", ws.ID, casework.ActAccept, casework.Input{}) },
				stageWant{"dispatch", "30m", "2025-09-26 16:30 Fri", "2025-09-26 16:24 Fri", "ok"}},
			{"dispatched: the category's 2 working days", ws.ID, func() {
				w.act(t, "staff-a", ws.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
			}, stageWant{"handle", "2wd", "2025-09-29 16:00 Mon", "2025-09-29 11:30 Mon", "ok"}},
			{"started: the same stage keeps its clock", ws.ID, func() {
				w.clk.Advance(time.Hour)
				w.act(t, "cg-handler", ws.ID, casework.ActStart, casework.Input{})
			}, stageWant{"handle", "2wd", "2025-09-29 16:00 Mon", "2025-09-29 11:30 Mon", "ok"}},
			{"resolved: verify in a working day", ws.ID, func() {
				w.act(t, "cg-handler", ws.ID, casework.ActResolve, casework.Input{Note: "清理完毕", Photos: []int64{w.photo(t, "cg-handler", ws.ID)}})
			}, stageWant{"verify", "1wd", "2025-09-28 17:00 Sun", "2025-09-28 15:30 Sun", "ok"}},
			{"urgent: natural hours for accept", urgent.ID, func() {},
				stageWant{"accept", "2ch", "2025-09-26 18:00 Fri", "2025-09-26 17:36 Fri", "ok"}},
			{"urgent dispatched: the category's 4 natural hours", urgent.ID, func() {
				w.act(t, "staff-a", urgent.ID, casework.ActAccept, casework.Input{})
				w.act(t, "staff-a", urgent.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "RQ"}})
			}, stageWant{"handle", "4ch", "2025-09-26 21:00 Fri", "2025-09-26 20:12 Fri", "ok"}},
			{"数字城管 reported at 16:00: register in 1 working hour", urban.ID, func() {},
				stageWant{"register", "1h", "2025-09-26 17:00 Fri", "2025-09-26 16:48 Fri", "ok"}},
			{"数字城管 dispatched at 17:00: the category's 5 working hours", urban.ID, func() {
				w.act(t, "street", urban.ID, casework.ActRegister, casework.Input{})
				w.act(t, "street", urban.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "ZJ"}})
			}, stageWant{"handle", "5h", "2025-09-28 14:30 Sun", "2025-09-28 12:00 Sun", "ok"}},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				s.do()
				w.checkStage(t, s.id, s.want)
			})
		}
		t.Run("ended stages met", func(t *testing.T) {
			stages, err := w.eng.Stages(context.Background(), ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range stages {
				got = append(got, s.Stage+":"+s.Outcome)
			}
			want := []string{"accept:met", "dispatch:met", "handle:met", "verify:open"}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
		t.Run("one warning and one breach timer per running stage", func(t *testing.T) {
			got := w.countTimers(t, ws.ID)
			if got != 2 {
				t.Errorf("got %d pending timers, want 2", got)
			}
		})
	})
}

// submissions are new cases of both workflows, by residents, a grid
// worker and someone signed out.
var submissions = []struct {
	name, who string
	in        casework.SubmitInput
}{
	{"红哨 over the weekend", "resident", casework.SubmitInput{Category: "ZL0302"}},
	{"urgent, natural hours", "resident", casework.SubmitInput{Category: "ZL0202", Visibility: "private"}},
	{"数字城管", "grid-a", casework.SubmitInput{Category: "SJ0104", Fields: map[string]string{}}},
	{"anonymous with a phone", "resident", casework.SubmitInput{Category: "ZL0302", Anonymous: true, Phone: "13800001234"}},
	{"by someone signed out", "", casework.SubmitInput{Category: "ZL0302", Phone: "13800001235"}},
}

// TestSubmitAnswersWithTheStoredCase: Submit answers with the case its
// hooks saw, which the engine updated with the stage it opened, instead of
// reading it again; it must equal what a read after the commit returns.
func TestSubmitAnswersWithTheStoredCase(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		for _, tc := range submissions {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				in.Description, in.Address, in.Lat, in.Lng = " 楼道堆放杂物 ", " 万顺路 1 号 ", f64(inA[0]), f64(inA[1])
				got := w.Submit(t, tc.who, in)
				want := w.get(t, got.ID)
				if got.DeadlineAt.IsZero() || got.SLAState != StateOK {
					t.Errorf("got deadline %v, SLA state %q; want a deadline and %q", got.DeadlineAt, got.SLAState, StateOK)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Submit answered\n%+v\nwant the stored case\n%+v", *got, *want)
				}
			})
		}
	})
}

func TestTerminalStatesCloseEverything(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		tests := []struct {
			name   string
			finish func(id int64)
		}{
			{"rejected", func(id int64) { w.act(t, "staff-a", id, casework.ActReject, casework.Input{Reason: "不属实"}) }},
			{"merged", func(id int64) {
				parent := w.submit(t, "resident", "ZL0302", inA)
				w.act(t, "staff-a", id, casework.ActMerge, casework.Input{Parent: parent.ID})
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := w.submit(t, "resident", "ZL0302", inA)
				w.act(t, "leader", c.ID, casework.ActSupervise, casework.Input{Note: "尽快处理"})
				w.clk.Advance(72 * time.Hour) // past the accept deadline, but no scheduler ran
				tt.finish(c.ID)
				w.checkStage(t, c.ID, stageWant{sla: "none", deadline: "-"})
				if got := w.countTimers(t, c.ID); got != 0 {
					t.Errorf("got %d pending timers, want 0", got)
				}
				if got := w.count(t, `SELECT COUNT(*) FROM supervisions WHERE case_id = $1 AND status = 'closed'`, c.ID); got != 1 {
					t.Errorf("got %d closed supervisions, want 1", got)
				}
				stages, _ := w.eng.Stages(context.Background(), c.ID)
				if len(stages) != 1 || stages[0].Outcome != OutcomeMissed {
					t.Errorf("got stages %s, want the accept stage missed", dump(stages))
				}
			})
		}
	})
}

func TestSuspensionPausesTheClock(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		c := w.submit(t, "resident", "ZL0302", inA)
		w.act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.clk.Set(cst(2025, 9, 26, 17, 0))
		before, _ := w.eng.Remaining(w.open(t, c.ID), w.clk.Now())
		w.act(t, "staff-a", c.ID, casework.ActSuspend, casework.Input{Reason: "等待业主回复"})
		w.checkStage(t, c.ID, stageWant{stage: "handle", limit: "2wd", deadline: "-", warn: "2025-09-29 11:30 Mon", sla: "paused"})
		if got := w.countTimers(t, c.ID); got != 0 {
			t.Errorf("got %d pending timers while suspended, want 0", got)
		}
		// Well past the original deadline: nothing fires while the clock stands still.
		w.clk.Set(cst(2025, 9, 30, 10, 0))
		if n := w.runDue(t); n != 0 {
			t.Errorf("fired %d timers while suspended, want 0", n)
		}
		w.act(t, "staff-a", c.ID, casework.ActResume, casework.Input{})
		// 17 working hours stood still (Fri 0.5, Sun 7.5, Mon 7.5, Tue 1.5):
		// Monday 16:00 becomes Friday 10-10 09:00 across the National Day break.
		w.checkStage(t, c.ID, stageWant{"handle", "2wd", "2025-10-10 09:00 Fri", "2025-10-09 15:00 Thu", "ok"})
		after, _ := w.eng.Remaining(w.open(t, c.ID), w.clk.Now())
		if before != 14*time.Hour || after != before {
			t.Errorf("remaining: got %v before suspension and %v after, want 14h both", before, after)
		}
		if st := w.open(t, c.ID); st.Paused != 17*time.Hour {
			t.Errorf("paused: got %v, want 17h", st.Paused)
		}
	})
}

func TestPostponementExtendsTheDeadline(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		c := w.submit(t, "resident", "ZL0302", inA)
		w.act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.clk.Set(cst(2025, 9, 29, 12, 0)) // after the 11:30 warning
		if n := w.runDue(t); n != 1 {
			t.Fatalf("fired %d, want the warning", n)
		}
		w.checkStage(t, c.ID, stageWant{"handle", "2wd", "2025-09-29 16:00 Mon", "2025-09-29 11:30 Mon", "warning"})
		w.act(t, "cg-handler", c.ID, casework.ActPostponeRequest, casework.Input{Reason: "需要采购配件", Hours: intp(8)})
		w.checkStage(t, c.ID, stageWant{"handle", "2wd", "2025-09-29 16:00 Mon", "2025-09-29 11:30 Mon", "warning"})
		w.act(t, "staff-a", c.ID, casework.ActPostponeApprove, casework.Input{})
		// Monday 16:00 + 8 working hours = Tuesday 16:30; the warning moves
		// to 80% of the 23-hour limit (4h36m before it) and comes again.
		w.checkStage(t, c.ID, stageWant{"handle", "2wd", "2025-09-30 16:30 Tue", "2025-09-30 10:24 Tue", "ok"})
		w.clk.Set(cst(2025, 9, 30, 10, 23))
		if n := w.runDue(t); n != 0 {
			t.Errorf("fired %d before the new warning, want 0", n)
		}
		w.clk.Set(cst(2025, 9, 30, 10, 24))
		if n := w.runDue(t); n != 1 {
			t.Errorf("fired %d at the new warning, want 1", n)
		}
		w.clk.Set(cst(2025, 9, 30, 16, 30))
		if n := w.runDue(t); n != 1 {
			t.Errorf("fired %d at the new deadline, want the breach", n)
		}
		w.checkStage(t, c.ID, stageWant{"handle", "2wd", "2025-09-30 16:30 Tue", "2025-09-30 10:24 Tue", "overdue"})
		got := w.actions(t, c.ID)
		want := []string{"submit", "accept", "dispatch", "sla_warning", "postpone_request", "postpone_approve", "sla_warning", "sla_breach", "escalate"}
		if !slices.Equal(got, want) {
			t.Errorf("timeline: got %v, want %v", got, want)
		}
		if st := w.open(t, c.ID); st.Extended != 8*time.Hour || st.Budget != 23*time.Hour {
			t.Errorf("got extended %v, budget %v; want 8h, 23h", st.Extended, st.Budget)
		}
	})
}

func TestChangingALimitLeavesRunningDeadlines(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		running := w.submit(t, "resident", "ZL0302", inA)
		// A district-wide rule replaces the definition's default of 2h.
		if _, err := w.eng.AddTimeLimit(ctx, audit.System("test"), TimeLimit{Workflow: "whistle", Stage: "accept", Limit: "4h"}); err != nil {
			t.Fatal(err)
		}
		// A more specific rule for 环境卫生 in community A.
		if _, err := w.eng.AddTimeLimit(ctx, audit.System("test"), TimeLimit{Workflow: "whistle", Stage: "accept", CategoryPrefix: "ZL03",
			RegionCode: "330303001001", Limit: "1h", WarnPercent: 50}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			id   int64
			want stageWant
		}{
			{"running deadline unchanged", running.ID, stageWant{"accept", "2h", "2025-09-28 09:00 Sun", "2025-09-28 08:36 Sun", "ok"}},
			{"new case in community A: the specific rule", w.submit(t, "resident", "ZL0302", inA).ID,
				stageWant{"accept", "1h", "2025-09-26 17:00 Fri", "2025-09-26 16:30 Fri", "ok"}},
			{"new case in community B: the changed default", w.submit(t, "resident", "ZL0302", inB).ID,
				stageWant{"accept", "4h", "2025-09-28 11:00 Sun", "2025-09-28 10:12 Sun", "ok"}},
			{"new case of another category: the changed default", w.submit(t, "resident", "ZL0601", inA).ID,
				stageWant{"accept", "4h", "2025-09-28 11:00 Sun", "2025-09-28 10:12 Sun", "ok"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { w.checkStage(t, tt.id, tt.want) })
		}
	})
}

func TestWarningAndBreachEscalate(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		c := w.submit(t, "resident", "ZL0302", inA)
		supervisions := func() string {
			sv, err := w.eng.Supervisions(context.Background(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			for _, x := range sv {
				s += x.Kind + "/" + x.Level + "/" + x.RegionCode + "/" + x.Status + "/due " + at(x.Deadline) + ";"
			}
			return s
		}
		steps := []struct {
			name   string
			now    time.Time
			fired  int
			sla    string
			tail   []string
			sup    string
			notify map[string]map[string]int // user → kind → count, cumulative; "next" is the submission's call to accept it
		}{
			{"before 80%: nothing", cst(2025, 9, 28, 8, 35), 0, "ok", []string{"submit"}, "", nil},
			{"at 80% (96 of 120 working minutes): the warning", cst(2025, 9, 28, 8, 36), 1, "warning", []string{"submit", "sla_warning"}, "",
				map[string]map[string]int{"staff-a": {"next": 1, "sla_warning": 1}, "street": {"next": 1}}},
			{"again: nothing more", cst(2025, 9, 28, 8, 59), 0, "warning", []string{"submit", "sla_warning"}, "", nil},
			{"at the deadline: breach and street supervision", cst(2025, 9, 28, 9, 0), 1, "overdue",
				[]string{"submit", "sla_warning", "sla_breach", "escalate"}, "auto/street/330303001/open/due 2025-09-29 09:00 Mon;",
				map[string]map[string]int{"staff-a": {"next": 1, "sla_warning": 1, "sla_breach": 1}, "street": {"next": 1, "supervision": 1}, "leader": {}}},
			{"the street supervision unanswered: district", cst(2025, 9, 29, 9, 0), 1, "overdue",
				[]string{"sla_breach", "escalate", "sla_breach", "escalate"},
				"auto/street/330303001/open/due 2025-09-29 09:00 Mon;auto/district/330303/open/due 2025-09-30 09:00 Tue;",
				map[string]map[string]int{"street": {"next": 1, "supervision": 1, "sla_breach": 1}, "leader": {"supervision": 1}, "admin": {"supervision": 1}}},
			{"the district one unanswered: recorded, no higher level", cst(2025, 10, 9, 9, 0), 1, "overdue",
				[]string{"sla_breach", "escalate", "sla_breach", "escalate", "sla_breach"},
				"auto/street/330303001/open/due 2025-09-29 09:00 Mon;auto/district/330303/open/due 2025-09-30 09:00 Tue;",
				map[string]map[string]int{"leader": {"supervision": 1, "sla_breach": 1}}},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				w.clk.Set(s.now)
				if n := w.runDue(t); n != s.fired {
					t.Errorf("fired %d, want %d", n, s.fired)
				}
				if got := w.get(t, c.ID); got.SLAState != s.sla {
					t.Errorf("sla: got %s, want %s", got.SLAState, s.sla)
				}
				if got := w.actions(t, c.ID); !slices.Equal(got[max(0, len(got)-len(s.tail)):], s.tail) {
					t.Errorf("timeline: got %v, want it to end with %v", got, s.tail)
				}
				if got := supervisions(); got != s.sup {
					t.Errorf("supervisions: got %s, want %s", got, s.sup)
				}
				for user, want := range s.notify {
					if got := w.inboxKinds(t, user, c.ID); dump(got) != dump(want) {
						t.Errorf("%s's inbox: got %v, want %v", user, got, want)
					}
				}
			})
		}
		if !w.get(t, c.ID).Supervised {
			t.Error("the case is not flagged as supervised")
		}
	})
}

func TestManualSupervision(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		c := w.submit(t, "resident", "ZL0302", inA)
		w.act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})

		t.Run("a deadline in the past is refused and changes nothing", func(t *testing.T) {
			past := friday.Add(-time.Hour)
			_, err := w.svc.Act(ctx, w.as("leader"), c.ID, casework.ActSupervise, casework.Input{Note: "限期整改", Deadline: &past})
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["deadline"].Key != "sla.err.deadline_past" {
				t.Fatalf("got %v, want invalid deadline", err)
			}
			if got := w.count(t, `SELECT COUNT(*) FROM supervisions WHERE case_id = $1`, c.ID); got != 0 || w.get(t, c.ID).Supervised {
				t.Errorf("got %d supervisions, supervised %v; want none", got, w.get(t, c.ID).Supervised)
			}
		})
		t.Run("a district leader's deadline and instruction, answered by the reply", func(t *testing.T) {
			deadline := cst(2025, 9, 29, 10, 0)
			w.act(t, "leader", c.ID, casework.ActSupervise, casework.Input{Note: "周一上午前办结", Deadline: &deadline})
			sv, _ := w.eng.Supervisions(ctx, c.ID)
			if len(sv) != 1 || sv[0].Kind != KindManual || sv[0].Level != LevelDistrict || sv[0].Instruction != "周一上午前办结" ||
				!sv[0].Deadline.Equal(deadline) || sv[0].IssuedBy != w.users["leader"].ID {
				t.Fatalf("got %s", dump(sv))
			}
			if got := w.count(t, `SELECT COUNT(*) FROM kernel_timers WHERE kind = $1 AND subject = $2 AND name = $3`, TimerSupervision, strconv.FormatInt(c.ID, 10), strconv.FormatInt(sv[0].ID, 10)); got != 1 {
				t.Errorf("got %d timers, want 1", got)
			}
			w.clk.Set(cst(2025, 9, 28, 10, 0))
			w.act(t, "cg-handler", c.ID, casework.ActReply, casework.Input{Note: "已安排周日清理"})
			sv, _ = w.eng.Supervisions(ctx, c.ID)
			if sv[0].Status != SupAnswered || sv[0].Answer != "已安排周日清理" || !sv[0].AnsweredAt.Equal(w.clk.Now()) {
				t.Errorf("got %s, want answered", dump(sv[0]))
			}
			w.clk.Set(cst(2025, 9, 29, 10, 0))
			if n := w.runDue(t); n != 0 {
				t.Errorf("fired %d after the answer, want 0", n)
			}
		})
		t.Run("a street leader's with the default deadline breaches and escalates", func(t *testing.T) {
			w.act(t, "street-leader", c.ID, casework.ActSupervise, casework.Input{Note: "请说明进度"})
			sv, _ := w.eng.Supervisions(ctx, c.ID)
			last := sv[len(sv)-1]
			if last.Level != LevelStreet || last.RegionCode != "330303001" || at(last.Deadline) != "2025-10-09 10:00 Thu" {
				t.Fatalf("got %s, want a street supervision due in 2 working days", dump(last))
			}
			w.clk.Set(cst(2025, 10, 9, 10, 0))
			// The handle stage's warning and breach (Monday 16:00), the
			// district supervision that breach opened (due a working day
			// later, Tuesday 16:00) and the street supervision's breach.
			if n := w.runDue(t); n != 4 {
				t.Errorf("fired %d, want 4", n)
			}
			sv, _ = w.eng.Supervisions(ctx, c.ID)
			var got []string
			for _, s := range sv {
				got = append(got, s.Kind+"/"+s.Level+"/"+s.Reason+"/"+s.Status)
			}
			// The stage breach escalates above the answered district
			// supervision's level, to the district again; the breaches of
			// that one and of the street one find the district open and stop.
			want := []string{"manual/district/manual/answered", "manual/street/manual/open", "auto/district/stage_breach/open"}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	})
}

// spy is the case service's Deadlines: the engine, noting the SLA state
// it returns for each change.
type spy struct {
	*Engine
	returned []string
}

func (s *spy) CaseDeadline(ctx context.Context, tx *db.Tx, ch casework.Change) (casework.SLA, error) {
	got, err := s.Engine.CaseDeadline(ctx, tx, ch)
	s.returned = append(s.returned, got.State)
	return got, err
}

func (s *spy) NewCaseDeadline(ctx context.Context, tx *db.Tx, ch casework.Change) (casework.SLA, func(context.Context, *db.Tx, int64) error, bool, error) {
	got, write, ok, err := s.Engine.NewCaseDeadline(ctx, tx, ch)
	if ok {
		s.returned = append(s.returned, got.State)
	}
	return got, write, ok, err
}

// recorder is the case service's Rollups: it notes each change it is told
// of, with the SLA state and supervision flag of the case it is given, and
// checks them against what the deadline computation returned for the same
// change (the oldest answer not yet matched: a group of system steps
// computes a round's deadlines before the next round's, and counts the
// changes in their order) and against the case's row in the same
// transaction, as it stands after the transaction's last change of the
// case (a group of system steps writes a case's rounds together).
type recorder struct {
	deadlines *spy
	calls     []string
	problems  []string
	matched   int                // answers of deadlines matched so far
	last      map[int64]rowCheck // each case's latest change, not yet checked
}

// rowCheck is a change's case and its row, as the recorder saw them.
type rowCheck struct {
	tx                *db.Tx
	what              string
	state, row        string
	supervised, rowSv bool
}

func (r *recorder) CaseChanged(ctx context.Context, tx *db.Tx, ch casework.Change) error {
	var state string
	var supervised bool
	if err := tx.QueryRow(ctx, `SELECT sla_state, supervised FROM cases WHERE id = $1`, ch.After.ID).Scan(&state, &supervised); err != nil {
		return err
	}
	from := "-"
	if ch.Before != nil {
		from = ch.Before.SLAState
	}
	r.calls = append(r.calls, fmt.Sprintf("%s %s→%s supervised %v", ch.Action, from, ch.After.SLAState, ch.After.Supervised))
	if ret := r.deadlines.returned; r.matched >= len(ret) || ret[r.matched] != ch.After.SLAState {
		r.problems = append(r.problems, fmt.Sprintf("%s: rollups got SLA state %q, the deadline computation returned %v (%d matched)", ch.Action, ch.After.SLAState, ret, r.matched))
	}
	r.matched++
	if r.last == nil {
		r.last = map[int64]rowCheck{}
	}
	if prev, ok := r.last[ch.After.ID]; ok && prev.tx != tx {
		r.check(prev)
	}
	r.last[ch.After.ID] = rowCheck{tx: tx, what: string(ch.Action), state: ch.After.SLAState, row: state, supervised: ch.After.Supervised, rowSv: supervised}
	return nil
}

// check notes a problem unless the change's case is its row.
func (r *recorder) check(c rowCheck) {
	if c.row != c.state || c.rowSv != c.supervised {
		r.problems = append(r.problems, fmt.Sprintf("%s: rollups got %q supervised %v, the row says %q supervised %v", c.what,
			c.state, c.supervised, c.row, c.rowSv))
	}
}

// done checks the changes not yet checked, each its transaction's last of
// its case.
func (r *recorder) done() {
	for id, c := range r.last {
		r.check(c)
		delete(r.last, id)
	}
}

// TestRollupsSeeTheReturnedSLAState: casework calls the deadline
// computation and then the rollups, in an order written in code, not the
// order they were set in (here the rollups first): on a user's action and
// on every step the scheduler fires, the rollups see the SLA state the
// engine returned for that change, and the row casework wrote with it.
func TestRollupsSeeTheReturnedSLAState(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		sp := &spy{Engine: w.eng}
		rec := &recorder{deadlines: sp}
		w.svc.UseRollups(rec)
		w.svc.UseDeadlines(sp)
		c := w.submit(t, "resident", "ZL0302", inA)
		w.clk.Set(cst(2025, 9, 29, 9, 0)) // the accept warning, its breach, and the street supervision's breach
		if n := w.runDue(t); n != 3 {
			t.Errorf("fired %d, want 3", n)
		}
		w.act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		want := []string{
			"submit -→ok supervised false",
			"sla_warning ok→warning supervised false",
			"sla_breach warning→overdue supervised false",
			"escalate overdue→overdue supervised true",
			"sla_breach overdue→overdue supervised true",
			"escalate overdue→overdue supervised true",
			"accept overdue→ok supervised true",
		}
		if !slices.Equal(rec.calls, want) {
			t.Errorf("rollups were told\n%s\nwant\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
		}
		rec.done()
		for _, p := range rec.problems {
			t.Error(p)
		}
	})
}

// TestPostponementMovesTheDeadline: the postpone_grant effect of an
// approval, not the action's name, extends the running stage by the hours
// requested; a refusal (postpone_clear alone) leaves it. The case shows
// the deadline the engine returned.
func TestPostponementMovesTheDeadline(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		c := w.submit(t, "resident", "ZL0302", inA)
		w.act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		before := w.open(t, c.ID)
		cal := w.eng.Calendar()
		steps := []struct {
			name     string
			do       func()
			extended time.Duration
		}{
			{"refused: the deadline stays", func() {
				w.act(t, "cg-handler", c.ID, casework.ActPostponeRequest, casework.Input{Reason: "需协调物业", Hours: intp(16)})
				w.act(t, "staff-a", c.ID, casework.ActPostponeRefuse, casework.Input{Reason: "不予延期"})
			}, 0},
			{"approved: 8 more working hours", func() {
				w.act(t, "cg-handler", c.ID, casework.ActPostponeRequest, casework.Input{Reason: "需协调物业", Hours: intp(8)})
				w.act(t, "staff-a", c.ID, casework.ActPostponeApprove, casework.Input{})
			}, 8 * time.Hour},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				s.do()
				st := w.open(t, c.ID)
				want := advance(cal, false, before.Deadline, s.extended)
				if st.ID != before.ID || st.Extended != s.extended || !st.Deadline.Equal(want) {
					t.Errorf("stage %d extended %v deadline %s; want stage %d extended %v deadline %s", st.ID, st.Extended, at(st.Deadline),
						before.ID, s.extended, at(want))
				}
				if got := w.get(t, c.ID); !got.DeadlineAt.Equal(want) {
					t.Errorf("case deadline %s, want %s", at(got.DeadlineAt), at(want))
				}
			})
		}
	})
}

// behind hides the engine's DeadlinesAhead: Submit then writes the case
// and computes its deadline after, as it did before NewCaseDeadline.
type behind struct{ e *Engine }

func (b behind) CaseDeadline(ctx context.Context, tx *db.Tx, ch casework.Change) (casework.SLA, error) {
	return b.e.CaseDeadline(ctx, tx, ch)
}

// TestSubmitComputesTheDeadlineAhead checks that a new case's deadline,
// computed before its row is written (NewCaseDeadline), leaves what the
// computation after the write leaves — the case's deadline and SLA state,
// its stage and its timers — and that the case's row is written once, with
// no UPDATE.
func TestSubmitComputesTheDeadlineAhead(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		stmts := []string{`CREATE TABLE case_updates (case_id BIGINT NOT NULL)`,
			`CREATE TRIGGER case_updated AFTER UPDATE ON cases BEGIN INSERT INTO case_updates VALUES (new.id); END`}
		if w.d.Dialect() == db.Postgres {
			stmts = []string{stmts[0], `CREATE FUNCTION case_updated() RETURNS trigger AS $$ BEGIN INSERT INTO case_updates VALUES (NEW.id); RETURN NULL; END $$ LANGUAGE plpgsql`,
				`CREATE TRIGGER case_updated AFTER UPDATE ON cases FOR EACH ROW EXECUTE FUNCTION case_updated()`}
		}
		if err := w.d.InTx(ctx, func(tx *db.Tx) error {
			for _, q := range stmts {
				if _, err := tx.Exec(ctx, q); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		type stage struct {
			Stage, Status, Limit, Outcome string
			Deadline, WarnAt              time.Time
			Budget                        time.Duration
			RuleID                        int64
			Provisional, Assessed         bool
		}
		type timer struct {
			Kind string
			Due  time.Time
		}
		left := func(id int64) (c *casework.Case, stages []stage, timers []timer, updates int) {
			c = w.get(t, id)
			all, err := w.eng.Stages(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range all {
				stages = append(stages, stage{s.Stage, s.Status, s.Limit, s.Outcome, s.Deadline, s.WarnAt, s.Budget, s.RuleID, s.Provisional, s.Assessed})
			}
			rows, err := w.d.Query(ctx, `SELECT kind, due_at FROM kernel_timers WHERE subject = $1 ORDER BY kind, due_at`, strconv.FormatInt(id, 10))
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var tm timer
				var due db.Time
				if err := rows.Scan(&tm.Kind, &due); err != nil {
					t.Fatal(err)
				}
				tm.Due = due.Time.UTC()
				timers = append(timers, tm)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return c, stages, timers, w.count(t, `SELECT COUNT(*) FROM case_updates WHERE case_id = $1`, id)
		}
		for _, tc := range submissions {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				in.Description, in.Lat, in.Lng = "楼道堆放杂物", f64(inA[0]), f64(inA[1])
				ahead := w.Submit(t, tc.who, in)
				w.svc.UseDeadlines(behind{w.eng})
				after := w.Submit(t, tc.who, in)
				w.svc.UseDeadlines(w.eng)
				ca, sa, ta, ua := left(ahead.ID)
				cb, sb, tb, ub := left(after.ID)
				if ua != 0 {
					t.Errorf("the case computed ahead was updated %d times after its INSERT, want 0", ua)
				}
				if ub == 0 {
					t.Errorf("the case computed after its write was never updated: the comparison does not take the old path")
				}
				if ca.SLAState != StateOK || ca.DeadlineAt.IsZero() || ca.SLAState != cb.SLAState || !ca.DeadlineAt.Equal(cb.DeadlineAt) {
					t.Errorf("ahead: deadline %v, SLA state %q; after the write: %v, %q; want equal, with a deadline and %q", ca.DeadlineAt, ca.SLAState, cb.DeadlineAt, cb.SLAState, StateOK)
				}
				if len(sa) != 1 || !reflect.DeepEqual(sa, sb) {
					t.Errorf("ahead: stages %+v; after the write: %+v; want one, equal", sa, sb)
				}
				if len(ta) != 2 || !reflect.DeepEqual(ta, tb) {
					t.Errorf("ahead: timers %+v; after the write: %+v; want two, equal", ta, tb)
				}
				if !reflect.DeepEqual(ahead, ca) {
					t.Errorf("Submit answered\n%+v\nwant the stored case\n%+v", *ahead, *ca)
				}
			})
		}
	})
}
