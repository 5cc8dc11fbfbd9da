package casework_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// step is one action in a path; input may use the world (for photos).
type step struct {
	who    string
	action casework.Action
	input  func(w *world, c *casework.Case) casework.Input
	want   casework.State
	err    errs.Code
}

func in(v casework.Input) func(*world, *casework.Case) casework.Input {
	return func(*world, *casework.Case) casework.Input { return v }
}

// resolveWithPhoto uploads an after-photo as who and resolves with it.
func resolveWithPhoto(who string) func(*world, *casework.Case) casework.Input {
	return func(w *world, c *casework.Case) casework.Input {
		return casework.Input{Note: "已清理完毕", Photos: []int64{w.photoAs(who, c.ID)}}
	}
}

var photoT *testing.T // set per subtest; photo uploads need a testing.T

func (w *world) photoAs(who string, id int64) int64 { return w.photo(photoT, who, id, "after") }

func TestWorkflowsValidate(t *testing.T) {
	for name, w := range casework.Workflows() {
		if err := w.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPaths(t *testing.T) {
	dispatchDept := func(code string) func(*world, *casework.Case) casework.Input {
		return in(casework.Input{Target: &casework.Target{Department: code}})
	}
	dispatchUser := func(name string) func(*world, *casework.Case) casework.Input {
		return func(w *world, c *casework.Case) casework.Input {
			return casework.Input{Target: &casework.Target{User: w.users[name].ID}}
		}
	}
	paths := []struct {
		name     string
		workflow string
		steps    []step
		check    func(t *testing.T, c *casework.Case)
	}{
		{"whistle reject", "whistle", []step{
			{who: "staff-a", action: casework.ActReject, input: in(casework.Input{}), err: errs.Invalid}, // a reason is required
			{who: "staff-a", action: casework.ActReject, input: in(casework.Input{Reason: "不属于本社区职责"}), want: casework.Rejected},
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{}), err: errs.Conflict},
		}, nil},
		{"whistle dispatch to a department, high rating closes", "whistle", []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{}), want: casework.Accepted},
			{who: "staff-a", action: casework.ActDispatch, input: dispatchDept("CG"), want: casework.Dispatched},
			{who: "zj-handler", action: casework.ActStart, input: in(casework.Input{}), err: errs.NotFound}, // another department: out of scope
			{who: "cg-handler", action: casework.ActStart, input: in(casework.Input{}), want: casework.InProgress},
			{who: "cg-handler", action: casework.ActResolve, input: in(casework.Input{Note: "done"}), err: errs.Invalid}, // photos required
			{who: "cg-handler", action: casework.ActResolve, input: resolveWithPhoto("cg-handler"), want: casework.Resolved},
			{who: "grid-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(true)}), want: casework.Verified},
			{who: "neighbour", action: casework.ActRate, input: in(casework.Input{Stars: intp(5)}), err: errs.NotFound}, // not theirs to see
			{who: "staff-a", action: casework.ActRate, input: in(casework.Input{Stars: intp(5)}), err: errs.Forbidden},  // sees it, but is not the reporter
			{who: "resident", action: casework.ActRate, input: in(casework.Input{Stars: intp(9)}), err: errs.Invalid},
			{who: "resident", action: casework.ActRate, input: in(casework.Input{Stars: intp(5), Comment: "很满意"}), want: casework.Closed},
		}, func(t *testing.T, c *casework.Case) {
			if c.Rating != 5 || c.ClosedAt.IsZero() {
				t.Errorf("rating %d closed %v, want 5 and a close time", c.Rating, c.ClosedAt)
			}
		}},
		{"whistle dispatch to a person", "whistle", []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{}), want: casework.Accepted},
			{who: "staff-a", action: casework.ActDispatch, input: dispatchUser("staff-b"), err: errs.Invalid}, // outside staff-a's scope
			{who: "staff-a", action: casework.ActDispatch, input: dispatchUser("grid-a"), want: casework.Dispatched},
			{who: "grid-a", action: casework.ActStart, input: in(casework.Input{}), want: casework.InProgress},
			{who: "grid-a", action: casework.ActResolve, input: resolveWithPhoto("grid-a"), want: casework.Resolved},
		}, func(t *testing.T, c *casework.Case) {
			if c.AssigneeName == "" || c.DepartmentID != 0 {
				t.Errorf("assignee %q department %d, want a person and no department", c.AssigneeName, c.DepartmentID)
			}
		}},
		{"whistle claim, failed verification, rework, low rating reopens once", "whistle", []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{}), want: casework.Accepted},
			{who: "staff-a", action: casework.ActOpenForClaim, input: in(casework.Input{}), want: casework.Claimable},
			{who: "resident", action: casework.ActClaim, input: in(casework.Input{}), err: errs.Forbidden},
			{who: "party-01", action: casework.ActClaim, input: in(casework.Input{}), want: casework.InProgress},
			{who: "party-02", action: casework.ActResolve, input: in(casework.Input{Note: "x", Photos: []int64{1}}), err: errs.Forbidden},
			{who: "party-01", action: casework.ActResolve, input: resolveWithPhoto("party-01"), want: casework.Resolved},
			{who: "staff-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(false)}), err: errs.Invalid}, // a failed check needs a note
			{who: "staff-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(false), Note: "仍有杂物"}), want: casework.InProgress},
			{who: "party-01", action: casework.ActResolve, input: resolveWithPhoto("party-01"), want: casework.Resolved},
			{who: "staff-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(true)}), want: casework.Verified},
			{who: "resident", action: casework.ActRate, input: in(casework.Input{Stars: intp(1), Comment: "没解决"}), want: casework.InProgress},
			{who: "party-01", action: casework.ActResolve, input: resolveWithPhoto("party-01"), want: casework.Resolved},
			{who: "staff-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(true)}), want: casework.Verified},
			{who: "resident", action: casework.ActRate, input: in(casework.Input{Stars: intp(2)}), want: casework.Closed}, // reopens only once
		}, func(t *testing.T, c *casework.Case) {
			if c.Rework != 1 || c.Reopens != 1 || !c.Supervised || c.AssigneeName == "" {
				t.Errorf("rework %d reopens %d supervised %v assignee %q; want 1, 1, true, the claimant", c.Rework, c.Reopens, c.Supervised, c.AssigneeName)
			}
		}},
		{"whistle postpone approved and refused, suspend and resume, supervise, revisit", "whistle", []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{}), want: casework.Accepted},
			{who: "staff-a", action: casework.ActDispatch, input: dispatchDept("CG"), want: casework.Dispatched},
			{who: "staff-a", action: casework.ActPostponeApprove, input: in(casework.Input{}), err: errs.Conflict}, // nothing pending
			{who: "cg-handler", action: casework.ActPostponeRequest, input: in(casework.Input{Reason: "需协调物业", Hours: intp(16)}), want: casework.Dispatched},
			{who: "cg-handler", action: casework.ActPostponeRequest, input: in(casework.Input{Reason: "again", Hours: intp(8)}), err: errs.Conflict}, // one at a time
			{who: "staff-a", action: casework.ActPostponeApprove, input: in(casework.Input{}), want: casework.Dispatched},
			{who: "cg-handler", action: casework.ActPostponeRequest, input: in(casework.Input{Reason: "再延", Hours: intp(8)}), want: casework.Dispatched},
			{who: "staff-a", action: casework.ActPostponeRefuse, input: in(casework.Input{Reason: "不同意"}), want: casework.Dispatched},
			{who: "staff-a", action: casework.ActSuspend, input: in(casework.Input{Reason: "等待施工许可"}), want: casework.Suspended},
			{who: "cg-handler", action: casework.ActStart, input: in(casework.Input{}), err: errs.Conflict},
			{who: "staff-a", action: casework.ActResume, input: in(casework.Input{}), want: casework.Dispatched},
			{who: "staff-a", action: casework.ActSupervise, input: in(casework.Input{Note: "x"}), err: errs.Forbidden},
			{who: "leader", action: casework.ActSupervise, input: in(casework.Input{Note: "请于三日内办结"}), want: casework.Dispatched},
			{who: "cg-handler", action: casework.ActStart, input: in(casework.Input{}), want: casework.InProgress},
			{who: "cg-handler", action: casework.ActResolve, input: resolveWithPhoto("cg-handler"), want: casework.Resolved},
			{who: "staff-a", action: casework.ActRevisit, input: in(casework.Input{Result: "satisfied"}), want: casework.Resolved},
		}, func(t *testing.T, c *casework.Case) {
			if !c.Supervised || c.PostponeHours != 0 || c.RevisitResult != "satisfied" {
				t.Errorf("supervised %v postpone %d revisit %q", c.Supervised, c.PostponeHours, c.RevisitResult)
			}
		}},
		{"urban return and re-dispatch, failed check, close", "urban", []step{
			{who: "staff-a", action: casework.ActRegister, input: in(casework.Input{}), err: errs.Forbidden}, // the command centre registers
			{who: "street", action: casework.ActRegister, input: in(casework.Input{}), want: casework.Registered},
			{who: "street", action: casework.ActDispatch, input: dispatchDept("ZJ"), want: casework.Dispatched},
			{who: "zj-handler", action: casework.ActReturn, input: in(casework.Input{}), err: errs.Invalid},
			{who: "zj-handler", action: casework.ActReturn, input: in(casework.Input{Reason: "非本部门职责"}), want: casework.Registered},
			{who: "street", action: casework.ActDispatch, input: dispatchDept("CG"), want: casework.Dispatched},
			{who: "cg-handler", action: casework.ActResolve, input: in(casework.Input{Note: "已处置"}), want: casework.Resolved},
			{who: "grid-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(false), Note: "未处置到位"}), want: casework.Dispatched},
			{who: "cg-handler", action: casework.ActResolve, input: in(casework.Input{Note: "已再次处置"}), want: casework.Resolved},
			{who: "grid-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(true)}), want: casework.Verified},
			{who: "grid-a", action: casework.ActClose, input: in(casework.Input{}), err: errs.Forbidden},
			{who: "admin", action: casework.ActClose, input: in(casework.Input{}), want: casework.Closed},
			{who: "admin", action: casework.ActRevisit, input: in(casework.Input{Result: "basically_satisfied"}), want: casework.Closed},
		}, func(t *testing.T, c *casework.Case) {
			if c.Returns != 1 || c.Rework != 1 || c.DepartmentCode != "CG" {
				t.Errorf("returns %d rework %d dept %s; want 1, 1, CG", c.Returns, c.Rework, c.DepartmentCode)
			}
		}},
		{"urban decline", "urban", []step{
			{who: "admin", action: casework.ActDecline, input: in(casework.Input{Reason: "重复上报"}), want: casework.Declined},
		}, nil},
	}
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		for _, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				photoT = t
				reporter := "resident"
				if p.workflow == "urban" {
					reporter = "grid-a"
				}
				c := w.submit(t, reporter, inA, p.workflow)
				if c.Status != casework.Submitted || c.Workflow != p.workflow {
					t.Fatalf("new case: %s %s", c.Workflow, c.Status)
				}
				for i, s := range p.steps {
					got, err := w.svc.Act(ctx, w.as(s.who), c.ID, s.action, s.input(w, c))
					if s.err != "" {
						if errs.CodeOf(err) != s.err {
							t.Fatalf("step %d %s %s: err %v, want %s", i+1, s.who, s.action, err, s.err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("step %d %s %s: %v", i+1, s.who, s.action, err)
					}
					if got.Status != s.want {
						t.Fatalf("step %d %s %s: status %s, want %s", i+1, s.who, s.action, got.Status, s.want)
					}
					c = got
				}
				if p.check != nil {
					p.check(t, c)
				}
				// The timeline has one entry per successful step plus the submission.
				tl, err := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
				if err != nil {
					t.Fatal(err)
				}
				ok := 1
				for _, s := range p.steps {
					if s.err == "" {
						ok++
					}
				}
				if len(tl) != ok {
					t.Errorf("timeline has %d entries, want %d", len(tl), ok)
				}
				for _, e := range tl {
					if e.Role == "" || e.ActorName == "" {
						t.Errorf("timeline entry %s lacks role or actor: %+v", e.Action, e)
					}
				}
			})
		}
	})
}

func TestAutoClose(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		photoT = t
		w := newWorld(t, d, clk)
		ctx := context.Background()
		c := w.submit(t, "resident", inA, "whistle")
		for _, s := range []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{})},
			{who: "staff-a", action: casework.ActDispatch, input: in(casework.Input{Target: &casework.Target{Department: "CG"}})},
			{who: "cg-handler", action: casework.ActStart, input: in(casework.Input{})},
			{who: "cg-handler", action: casework.ActResolve, input: resolveWithPhoto("cg-handler")},
			{who: "staff-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(true)})},
		} {
			if _, err := w.svc.Act(ctx, w.as(s.who), c.ID, s.action, s.input(w, c)); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(6 * 24 * time.Hour)
		if n, err := w.svc.AutoClose(ctx); err != nil || n != 0 {
			t.Fatalf("after 6 days closed %d (%v), want 0", n, err)
		}
		clk.Advance(25 * time.Hour)
		if n, err := w.svc.AutoClose(ctx); err != nil || n != 1 {
			t.Fatalf("after 7 days closed %d (%v), want 1", n, err)
		}
		got, _ := w.svc.Get(ctx, w.as("admin"), c.ID)
		if got.Status != casework.Closed {
			t.Errorf("status %s, want closed", got.Status)
		}
		tl, _ := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
		if last := tl[len(tl)-1]; last.Role != "system" || last.Action != casework.ActClose {
			t.Errorf("last step %+v, want a close by the system", last)
		}
	})
}

func TestConcurrentClaims(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		c := w.submit(t, "resident", inA, "whistle")
		for _, a := range []casework.Action{casework.ActAccept, casework.ActOpenForClaim} {
			if _, err := w.svc.Act(ctx, w.as("staff-a"), c.ID, a, casework.Input{}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		results := make([]error, 20)
		start := make(chan struct{})
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				_, results[i] = w.svc.Act(ctx, w.as(partyName(i)), c.ID, casework.ActClaim, casework.Input{})
			}(i)
		}
		close(start)
		wg.Wait()
		wins, conflicts := 0, 0
		for i, err := range results {
			switch {
			case err == nil:
				wins++
			case errs.CodeOf(err) == errs.Conflict:
				conflicts++
			default:
				t.Errorf("claim %d: %v", i, err)
			}
		}
		if wins != 1 || conflicts != 19 {
			t.Errorf("%d wins and %d conflicts, want 1 and 19", wins, conflicts)
		}
		tl, _ := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
		claims := 0
		for _, e := range tl {
			if e.Action == casework.ActClaim {
				claims++
			}
		}
		if claims != 1 {
			t.Errorf("%d claim steps in the timeline, want 1", claims)
		}
	})
}

func partyName(i int) string { return "party-" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func TestIdempotencyKey(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		in := casework.SubmitInput{Category: leafOf(t, w, "ZL06"), Description: "路灯不亮", Lat: f64(inA[0]), Lng: f64(inA[1]), IdempotencyKey: "k-123"}
		first, replayed, err := w.svc.Submit(ctx, w.as("resident"), in)
		if err != nil || replayed {
			t.Fatalf("first: %v replayed=%v", err, replayed)
		}
		var wg sync.WaitGroup
		ids := make([]int64, 5)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c, rep, err := w.svc.Submit(ctx, w.as("resident"), in)
				if err != nil || !rep {
					t.Errorf("resend %d: %v replayed=%v", i, err, rep)
					return
				}
				ids[i] = c.ID
			}(i)
		}
		wg.Wait()
		for _, id := range ids {
			if id != first.ID {
				t.Errorf("resend got case %d, want %d", id, first.ID)
			}
		}
		// Another user's identical key is a different request.
		other, replayed, err := w.svc.Submit(ctx, w.as("neighbour"), in)
		if err != nil || replayed || other.ID == first.ID {
			t.Errorf("another user's key: %v replayed=%v id=%d", err, replayed, other.ID)
		}
		var n int
		_ = d.QueryRow(ctx, `SELECT COUNT(*) FROM cases`).Scan(&n)
		if n != 2 {
			t.Errorf("%d cases, want 2", n)
		}
	})
}

func TestRollbackPublishesNothing(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		c := w.submit(t, "resident", inA, "whistle")
		before := len(w.feed(t))
		if before != 1 {
			t.Fatalf("submit appended %d feed events, want 1", before)
		}
		for _, a := range []casework.Action{casework.ActAccept, casework.ActOpenForClaim} {
			if _, err := w.svc.Act(ctx, w.as("staff-a"), c.ID, a, casework.Input{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.svc.Act(ctx, w.as("party-01"), c.ID, casework.ActClaim, casework.Input{}); err != nil {
			t.Fatal(err)
		}
		published := len(w.feed(t))
		tlBefore, _ := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
		// Resolve with a photo id that is not this case's: the transaction
		// fails after the case row and the timeline row were written.
		_, err := w.svc.Act(ctx, w.as("party-01"), c.ID, casework.ActResolve, casework.Input{Note: "x", Photos: []int64{999999}})
		if errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("resolve with a foreign photo: %v, want invalid", err)
		}
		if got := len(w.feed(t)); got != published {
			t.Errorf("a rolled-back transition appended %d feed events", got-published)
		}
		got, _ := w.svc.Get(ctx, w.as("admin"), c.ID)
		tlAfter, _ := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
		if got.Status != casework.InProgress || len(tlAfter) != len(tlBefore) {
			t.Errorf("after rollback: status %s, timeline %d → %d", got.Status, len(tlBefore), len(tlAfter))
		}
	})
}

func TestScope(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		photoT = t
		c := w.submit(t, "resident", inA, "whistle")
		w.photo(t, "resident", c.ID, "before")
		cases := []struct {
			who   string
			found bool
		}{
			{"staff-a", true}, {"street", true}, {"admin", true}, {"resident", true}, {"grid-a", true}, {"party-03", true},
			{"staff-b", false}, {"neighbour", false}, {"cg-handler", false},
		}
		for _, tc := range cases {
			t.Run(tc.who, func(t *testing.T) {
				_, errGet := w.svc.Get(ctx, w.as(tc.who), c.ID)
				_, errTL := w.svc.Timeline(ctx, w.as(tc.who), c.ID, false)
				_, errPh := w.svc.Photos(ctx, w.as(tc.who), c.ID)
				for name, err := range map[string]error{"get": errGet, "timeline": errTL, "photos": errPh} {
					if tc.found && err != nil {
						t.Errorf("%s: %v", name, err)
					}
					if !tc.found && errs.CodeOf(err) != errs.NotFound {
						t.Errorf("%s: %v, want not_found", name, err)
					}
				}
				if !tc.found {
					_, errAct := w.svc.Act(ctx, w.as(tc.who), c.ID, casework.ActAccept, casework.Input{})
					if errs.CodeOf(errAct) != errs.NotFound {
						t.Errorf("act: %v, want not_found", errAct)
					}
					_, errPhoto := w.svc.AddPhoto(ctx, w.as(tc.who), c.ID, "before", bytes.NewReader(pngBytes(t)))
					if errs.CodeOf(errPhoto) != errs.NotFound {
						t.Errorf("photo upload: %v, want not_found", errPhoto)
					}
				}
				list, _, err := w.svc.List(ctx, w.as(tc.who), casework.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				if got := len(list) == 1; got != tc.found {
					t.Errorf("list has %d cases, want found=%v", len(list), tc.found)
				}
			})
		}
		// Once dispatched to 城管, its handlers see it; 住建 still does not.
		for _, a := range []struct {
			action casework.Action
			in     casework.Input
		}{{casework.ActAccept, casework.Input{}}, {casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}}}} {
			if _, err := w.svc.Act(ctx, w.as("staff-a"), c.ID, a.action, a.in); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.svc.Get(ctx, w.as("cg-handler"), c.ID); err != nil {
			t.Errorf("城管 handler after dispatch: %v", err)
		}
		if _, err := w.svc.Get(ctx, w.as("zj-handler"), c.ID); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("住建 handler: %v, want not_found", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		cat := leafOf(t, w, "ZL06")
		good := func() casework.SubmitInput {
			return casework.SubmitInput{Category: cat, Description: "井盖缺失", Lat: f64(inA[0]), Lng: f64(inA[1])}
		}
		cases := []struct {
			name   string
			mutate func(*casework.SubmitInput)
			field  string
		}{
			{"missing category", func(in *casework.SubmitInput) { in.Category = "" }, "category"},
			{"unknown category", func(in *casework.SubmitInput) { in.Category = "XX99" }, "category"},
			{"latitude 999", func(in *casework.SubmitInput) { in.Lat = f64(999) }, "lat"},
			{"missing longitude", func(in *casework.SubmitInput) { in.Lng = nil }, "lng"},
			{"outside the district", func(in *casework.SubmitInput) { in.Lat, in.Lng = f64(outside[0]), f64(outside[1]) }, "lat"},
			{"description of 100 KB", func(in *casework.SubmitInput) { in.Description = strings.Repeat("很", 100<<10/3) }, "description"},
			{"empty description", func(in *casework.SubmitInput) { in.Description = "  " }, "description"},
			{"bad phone", func(in *casework.SubmitInput) { in.Phone = "12345" }, "phone"},
			{"bad crs", func(in *casework.SubmitInput) { in.CRS = "mars" }, "crs"},
			{"resident claims hotline", func(in *casework.SubmitInput) { in.Source = "hotline" }, "source"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := good()
				tc.mutate(&in)
				_, _, err := w.svc.Submit(ctx, w.as("resident"), in)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				if _, ok := e.Fields[tc.field]; !ok {
					t.Errorf("fields %v lack %q", e.Fields, tc.field)
				}
			})
		}
		var n int
		_ = d.QueryRow(ctx, `SELECT COUNT(*) FROM cases`).Scan(&n)
		if n != 0 {
			t.Errorf("%d cases written by bad input, want 0", n)
		}
		c := w.submit(t, "resident", inA, "whistle")
		_, err := w.svc.AddPhoto(ctx, w.as("resident"), c.ID, "before", strings.NewReader("this is a text file named photo.jpg"))
		if errs.CodeOf(err) != errs.Invalid {
			t.Errorf("text as a photo: %v, want invalid", err)
		}
		big := bytes.NewReader(append(pngBytes(t), make([]byte, 30<<20)...))
		_, err = w.svc.AddPhoto(ctx, w.as("resident"), c.ID, "before", big)
		if errs.CodeOf(err) != errs.TooLarge {
			t.Errorf("30 MB photo: %v, want too_large", err)
		}
		if ps, _ := w.svc.Photos(ctx, w.as("admin"), c.ID); len(ps) != 0 {
			t.Errorf("%d photos stored by refused uploads", len(ps))
		}
		_, err = w.svc.Act(ctx, w.as("staff-a"), c.ID, "fly", casework.Input{})
		if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["action"].Key == "" {
			t.Errorf("unknown action: %v, want invalid with an action field", err)
		}
		_, err = w.svc.Act(ctx, w.as("staff-a"), c.ID, casework.ActRate, casework.Input{Stars: intp(5)})
		if errs.CodeOf(err) != errs.Conflict {
			t.Errorf("rating a submitted case: %v, want conflict (illegal transition)", err)
		}
		if e, ok := errs.As(err); ok && !strings.Contains(e.Error(), "illegal") {
			t.Errorf("conflict %v does not name the transition", err)
		}
	})
}
