package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
)

// The per-action authorization matrix: every action of both workflows, as
// every caller, on a case in the caller's scope, in another street and in
// another district, through the API and through the case page's form.
// Besides the status it checks the case itself, read back as the system:
// an allowed action changed it as the action says, a refused one left
// every column and the timeline exactly as they were. The expectations are
// written out by hand from docs/WORKFLOWS.md, apart from the workflow
// tables in internal/casework, so that the two can disagree.
//
// A refused call leaves the case as it was, so the callers take turns on
// one prepared case; after an allowed (or a wrongly allowed) call the next
// caller gets a fresh one.

// actRow is one action of the matrix.
type actRow struct {
	wf     string
	action casework.Action
	// prep are the steps from submission to the state the action leaves,
	// taken by the target's administrator or handler.
	prep []casework.Action
	// to is the state an allowed action leads to ("" keeps the state).
	to casework.State
	// roles may take the action on a case they see; handler and reporter
	// add the case's handler (a handler of its department) and reporter.
	roles    []who
	handler  bool
	reporter bool
	// input builds the action's fields for a prepared case.
	input func(f *actFixture, tg target, c *casework.Case) casework.Input
	// check returns what an allowed call failed to change ("" if nothing).
	check func(f *actFixture, w who, before, after *casework.Case) string
}

// Who may take the steps, as docs/WORKFLOWS.md says.
var (
	whistleStaff  = []who{community, street, admin}
	commandCenter = []who{street, admin}
)

func actRows() []actRow {
	note := func(*actFixture, target, *casework.Case) casework.Input { return casework.Input{Note: "矩阵"} }
	reason := func(*actFixture, target, *casework.Case) casework.Input {
		return casework.Input{Reason: "矩阵理由"}
	}
	dispatchTo := func(_ *actFixture, tg target, _ *casework.Case) casework.Input {
		return casework.Input{Target: &casework.Target{Department: deptOf(tg)}}
	}
	passed := func(*actFixture, target, *casework.Case) casework.Input { y := true; return casework.Input{Passed: &y} }
	merge := func(f *actFixture, tg target, _ *casework.Case) casework.Input {
		return casework.Input{Parent: f.parent(tg)}
	}
	hours := func(*actFixture, target, *casework.Case) casework.Input {
		h := 8
		return casework.Input{Reason: "等待配件", Hours: &h}
	}
	department := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.DepartmentCode == "" || a.DepartmentCode == b.DepartmentCode {
			return fmt.Sprintf("department %q, want the target's", a.DepartmentCode)
		}
		return ""
	}
	claimed := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.AssigneeID != f.userIDs[w] {
			return fmt.Sprintf("assignee %d, want the claimant %d", a.AssigneeID, f.userIDs[w])
		}
		return ""
	}
	postponed := func(want int) func(*actFixture, who, *casework.Case, *casework.Case) string {
		return func(f *actFixture, w who, b, a *casework.Case) string {
			if a.PostponeHours != want {
				return fmt.Sprintf("postpone_hours %d, want %d", a.PostponeHours, want)
			}
			return ""
		}
	}
	supervised := func(want bool) func(*actFixture, who, *casework.Case, *casework.Case) string {
		return func(f *actFixture, w who, b, a *casework.Case) string {
			if a.Supervised != want {
				return fmt.Sprintf("supervised %v, want %v", a.Supervised, want)
			}
			return ""
		}
	}
	parented := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.ParentID == 0 {
			return "no parent recorded"
		}
		return ""
	}
	remembers := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.PrevStatus != b.Status {
			return fmt.Sprintf("prev_status %q, want %q", a.PrevStatus, b.Status)
		}
		return ""
	}
	revisited := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.RevisitResult != "satisfied" {
			return fmt.Sprintf("revisit_result %q, want satisfied", a.RevisitResult)
		}
		return ""
	}
	rated := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.Rating != 5 {
			return fmt.Sprintf("rating %d, want 5", a.Rating)
		}
		return ""
	}
	returned := func(f *actFixture, w who, b, a *casework.Case) string {
		if a.DepartmentID != 0 || a.Returns != b.Returns+1 {
			return fmt.Sprintf("department %d and returns %d, want none and %d", a.DepartmentID, a.Returns, b.Returns+1)
		}
		return ""
	}
	const (
		accept, dispatch, start, resolve, verify = casework.ActAccept, casework.ActDispatch, casework.ActStart, casework.ActResolve, casework.ActVerify
		register, supervise, suspend, postpone   = casework.ActRegister, casework.ActSupervise, casework.ActSuspend, casework.ActPostponeRequest
	)
	wsDispatched := []casework.Action{accept, dispatch}
	wsResolved := []casework.Action{accept, dispatch, start, resolve}
	cgDispatched := []casework.Action{register, dispatch}
	cgResolved := []casework.Action{register, dispatch, start, resolve}
	return []actRow{
		// 红哨.
		{wf: "whistle", action: accept, to: casework.Accepted, roles: whistleStaff},
		{wf: "whistle", action: casework.ActReject, to: casework.Rejected, roles: whistleStaff, input: reason},
		{wf: "whistle", action: dispatch, prep: []casework.Action{accept}, to: casework.Dispatched, roles: whistleStaff, input: dispatchTo, check: department},
		{wf: "whistle", action: casework.ActOpenForClaim, prep: []casework.Action{accept}, to: casework.Claimable, roles: whistleStaff},
		{wf: "whistle", action: casework.ActClaim, prep: []casework.Action{accept, casework.ActOpenForClaim}, to: casework.InProgress,
			roles: []who{party, community, street}, check: claimed},
		{wf: "whistle", action: start, prep: wsDispatched, to: casework.InProgress, handler: true},
		{wf: "whistle", action: resolve, prep: []casework.Action{accept, dispatch, start}, to: casework.Resolved, handler: true,
			input: func(f *actFixture, tg target, c *casework.Case) casework.Input {
				return casework.Input{Note: "已处置", Photos: []int64{f.afterPhoto(tg, c.ID)}}
			}},
		{wf: "whistle", action: verify, prep: wsResolved, to: casework.Verified, roles: []who{community, grid, street, admin}, input: passed},
		{wf: "whistle", action: casework.ActRate, prep: append(slices.Clone(wsResolved), verify), to: casework.Closed, reporter: true,
			input: func(*actFixture, target, *casework.Case) casework.Input { s := 5; return casework.Input{Stars: &s} }, check: rated},
		{wf: "whistle", action: casework.ActClose, prep: append(slices.Clone(wsResolved), verify), to: casework.Closed, roles: whistleStaff},
		{wf: "whistle", action: casework.ActMerge, prep: []casework.Action{accept}, to: casework.Merged, roles: whistleStaff, input: merge, check: parented},
		{wf: "whistle", action: postpone, prep: wsDispatched, handler: true, input: hours, check: postponed(8)},
		{wf: "whistle", action: casework.ActPostponeApprove, prep: []casework.Action{accept, dispatch, postpone}, roles: whistleStaff, check: postponed(0)},
		{wf: "whistle", action: casework.ActPostponeRefuse, prep: []casework.Action{accept, dispatch, postpone}, roles: whistleStaff, input: reason, check: postponed(0)},
		{wf: "whistle", action: suspend, prep: []casework.Action{accept}, to: casework.Suspended, roles: whistleStaff, input: reason, check: remembers},
		{wf: "whistle", action: casework.ActResume, prep: []casework.Action{accept, suspend}, to: casework.Accepted, roles: whistleStaff},
		{wf: "whistle", action: supervise, prep: wsDispatched, roles: []who{leader, admin}, input: note, check: supervised(true)},
		{wf: "whistle", action: casework.ActReply, prep: []casework.Action{accept, dispatch, supervise}, handler: true, input: note, check: supervised(false)},
		{wf: "whistle", action: casework.ActRevisit, prep: wsResolved, roles: whistleStaff,
			input: func(*actFixture, target, *casework.Case) casework.Input { return casework.Input{Result: "satisfied"} }, check: revisited},

		// 数字城管.
		{wf: "urban", action: register, to: casework.Registered, roles: commandCenter},
		{wf: "urban", action: casework.ActDecline, to: casework.Declined, roles: commandCenter, input: reason},
		{wf: "urban", action: dispatch, prep: []casework.Action{register}, to: casework.Dispatched, roles: commandCenter, input: dispatchTo, check: department},
		{wf: "urban", action: casework.ActReturn, prep: cgDispatched, to: casework.Registered, handler: true, input: reason, check: returned},
		{wf: "urban", action: start, prep: cgDispatched, to: casework.InProgress, handler: true},
		{wf: "urban", action: resolve, prep: []casework.Action{register, dispatch, start}, to: casework.Resolved, handler: true, input: note},
		{wf: "urban", action: verify, prep: cgResolved, to: casework.Verified, roles: []who{grid, street, admin}, input: passed},
		{wf: "urban", action: casework.ActClose, prep: append(slices.Clone(cgResolved), verify), to: casework.Closed, roles: commandCenter},
		{wf: "urban", action: casework.ActMerge, prep: []casework.Action{register}, to: casework.Merged, roles: commandCenter, input: merge, check: parented},
		{wf: "urban", action: postpone, prep: cgDispatched, handler: true, input: hours, check: postponed(8)},
		{wf: "urban", action: casework.ActPostponeApprove, prep: []casework.Action{register, dispatch, postpone}, roles: commandCenter, check: postponed(0)},
		{wf: "urban", action: casework.ActPostponeRefuse, prep: []casework.Action{register, dispatch, postpone}, roles: commandCenter, input: reason, check: postponed(0)},
		{wf: "urban", action: suspend, prep: []casework.Action{register}, to: casework.Suspended, roles: commandCenter, input: reason, check: remembers},
		{wf: "urban", action: casework.ActResume, prep: []casework.Action{register, suspend}, to: casework.Registered, roles: commandCenter},
		{wf: "urban", action: supervise, prep: cgDispatched, roles: []who{leader, admin}, input: note, check: supervised(true)},
		{wf: "urban", action: casework.ActReply, prep: []casework.Action{register, dispatch, supervise}, handler: true, input: note, check: supervised(false)},
		{wf: "urban", action: casework.ActRevisit, prep: cgResolved, roles: whistleStaff,
			input: func(*actFixture, target, *casework.Case) casework.Input { return casework.Input{Result: "satisfied"} }, check: revisited},
	}
}

// deptOf is the department a target's cases are dispatched to: the demo
// handler's CG for the case in scope, ZJ (whose handler is nobody in the
// matrix) for the others, so that the handler sees only the first.
func deptOf(tg target) string {
	if tg == in {
		return "CG"
	}
	return "ZJ"
}

// categoryOf picks a category of each workflow: the workflow follows it.
var categoryOf = map[string]string{"whistle": "ZL0601", "urban": "SJ0102"}

// sees says, by hand, who reaches a case of the matrix: the staff of its
// place and the leaders and administrators above them, its reporter (the
// demo resident reports every case in scope), and the handlers of the
// department it was dispatched to.
func sees(w who, tg target, c *casework.Case) bool {
	switch tg {
	case in:
		switch w {
		case grid, community, street, party, leader, admin:
			return true
		case resident:
			return true
		case dept:
			return c.DepartmentCode == "CG"
		}
	case out:
		return w == leader || w == admin
	}
	return false
}

func (r actRow) want(w who, tg target, c *casework.Case) outcome {
	switch {
	case w == anon:
		return unauth
	case !sees(w, tg, c):
		return notFound
	case slices.Contains(r.roles, w),
		r.handler && w == dept && c.DepartmentCode == "CG",
		r.reporter && w == resident && tg == in:
		return ok
	}
	return forbidden
}

// actFixture adds to the matrix's world the people who prepare the cases:
// an administrator of the other district and a handler of ZJ.
type actFixture struct {
	*authzFixture
	admins   map[target]*account.User // who takes the staff's preparation steps
	handlers map[target]*account.User // who takes the handler's
	reporter *account.User
	userIDs  map[who]int64
	parents  map[target]int64
}

func newActFixture(t *testing.T) *actFixture {
	f := &actFixture{authzFixture: newAuthzFixture(t), admins: map[target]*account.User{}, handlers: map[target]*account.User{},
		userIDs: map[who]int64{}, parents: map[target]int64{}}
	ctx := context.Background()
	acc := f.w.app.accounts
	byName := func(name string) *account.User {
		u, err := acc.UserByName(ctx, account.SystemScope(), name)
		if err != nil {
			t.Fatalf("user %s: %v", name, err)
		}
		return u
	}
	for w, name := range demoAccount {
		f.userIDs[w] = byName(name).ID
	}
	add := func(nu account.NewUser) *account.User {
		nu.Password = "matrix-password"
		u, err := acc.AddUser(ctx, audit.System("authz test"), account.SystemScope(), nu)
		if err != nil {
			t.Fatalf("add %s: %v", nu.Username, err)
		}
		return u
	}
	otherAdmin := add(account.NewUser{Username: "matrix-other-admin", Roles: []account.Role{account.Admin}, RegionCode: otherDistrict})
	zj := add(account.NewUser{Username: "matrix-zj", Roles: []account.Role{account.DepartmentHandler}, RegionCode: "330303", DepartmentCode: "ZJ"})
	f.admins[in], f.admins[out], f.admins[other] = byName("demo-admin"), byName("demo-admin"), otherAdmin
	f.handlers[in], f.handlers[out], f.handlers[other] = byName("demo-dept"), zj, zj
	f.reporter = byName("demo-resident")
	return f
}

// gridOf is where a target's cases lie.
func (f *actFixture) gridOf(tg target) string {
	switch tg {
	case in:
		return demoGrid
	case out:
		return firstGridOther(f.authzFixture)
	}
	return otherGrid
}

// prepare submits a case of the workflow at the target and takes it
// through the steps.
func (f *actFixture) prepare(wf string, tg target, steps []casework.Action) *casework.Case {
	f.t.Helper()
	ctx := context.Background()
	in := f.submissionInput(f.gridOf(tg))
	in.Category = categoryOf[wf]
	caller := casework.Caller{System: true}
	if tg == "in" {
		caller = casework.Caller{User: f.reporter}
	}
	c, _, err := f.w.cases.Submit(ctx, caller, in)
	if err != nil {
		f.t.Fatalf("submit a %s case at %s: %v", wf, tg, err)
	}
	if c.Workflow != wf {
		f.t.Fatalf("a %s case went to the %s workflow", categoryOf[wf], c.Workflow)
	}
	for _, a := range steps {
		by, input := f.admins[tg], casework.Input{}
		switch a {
		case casework.ActDispatch:
			input.Target = &casework.Target{Department: deptOf(tg)}
		case casework.ActStart:
			by = f.handlers[tg]
		case casework.ActResolve:
			by, input.Note = f.handlers[tg], "已处置"
			if wf == "whistle" {
				input.Photos = []int64{f.afterPhoto(tg, c.ID)}
			}
		case casework.ActPostponeRequest:
			h := 8
			by, input.Reason, input.Hours = f.handlers[tg], "等待配件", &h
		case casework.ActVerify:
			y := true
			input.Passed = &y
		case casework.ActSupervise:
			input.Note = "请加快办理"
		case casework.ActSuspend:
			input.Reason = "等待上级答复"
		}
		if c, err = f.w.cases.Act(ctx, casework.Caller{User: by}, c.ID, a, input); err != nil {
			f.t.Fatalf("prepare a %s case at %s: %s: %v", wf, tg, a, err)
		}
	}
	return c
}

// afterPhoto uploads an "after" photo as the target's handler.
func (f *actFixture) afterPhoto(tg target, id int64) int64 {
	p, err := f.w.cases.AddPhoto(context.Background(), casework.Caller{User: f.handlers[tg]}, id, "after", bytes.NewReader(jpegBytes(f.t)))
	if err != nil {
		f.t.Fatalf("after photo: %v", err)
	}
	return p.ID
}

// parent is an open case at the target to merge duplicates into.
func (f *actFixture) parent(tg target) int64 {
	if id, ok := f.parents[tg]; ok {
		return id
	}
	c := f.prepare("whistle", tg, nil)
	f.parents[tg] = c.ID
	return c.ID
}

// state is everything a call could change: the case's columns as the
// system reads them (less the time-limit state the SLA engine keeps
// apart) and the length of its timeline.
type state struct {
	c      casework.Case
	events int
}

func (f *actFixture) state(id int64) state {
	f.t.Helper()
	ctx := context.Background()
	c, err := f.w.cases.Get(ctx, casework.Caller{System: true}, id)
	if err != nil {
		f.t.Fatalf("read case %d: %v", id, err)
	}
	s := state{c: *c}
	s.c.DeadlineAt, s.c.SLAState = time.Time{}, ""
	if err := f.w.app.db.QueryRow(ctx, `SELECT COUNT(*) FROM case_events WHERE case_id = $1`, id).Scan(&s.events); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// actionForm is the page form of an action's fields, as case.html posts it.
func actionForm(in casework.Input) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("note", in.Note)
	set("reason", in.Reason)
	set("result", in.Result)
	if in.Target != nil {
		set("target", "d:"+in.Target.Department)
	}
	if in.Stars != nil {
		set("stars", strconv.Itoa(*in.Stars))
	}
	if in.Passed != nil {
		set("passed", map[bool]string{true: "1", false: "0"}[*in.Passed])
	}
	if in.Hours != nil {
		set("hours", strconv.Itoa(*in.Hours))
	}
	if in.Parent != 0 {
		set("parent", strconv.FormatInt(in.Parent, 10))
	}
	for _, p := range in.Photos {
		v.Add("photos", strconv.FormatInt(p, 10))
	}
	return v
}

// TestAuthorizationActions runs every workflow action through the API and
// the page form as every caller on every target, and checks the case.
func TestAuthorizationActions(t *testing.T) {
	f := newActFixture(t)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rows := actRows()
	// Every action of both workflows has a row.
	for _, wf := range []string{"whistle", "urban"} {
		w, _ := f.w.cases.Workflow(context.Background(), wf)
		for _, a := range w.Actions() {
			if !slices.ContainsFunc(rows, func(r actRow) bool { return r.wf == wf && r.action == a }) {
				t.Errorf("the %s workflow's action %s has no row in the per-action matrix", wf, a)
			}
		}
	}
	calls := 0
	for _, r := range rows {
		t.Run(r.wf+"/"+string(r.action), func(t *testing.T) {
			for _, route := range []string{"api", "page"} {
				for _, tg := range []target{in, out, other} {
					c := f.prepare(r.wf, tg, r.prep)
					var input casework.Input
					if r.input != nil {
						input = r.input(f, tg, c)
					}
					before := f.state(c.ID)
					for _, w := range callers {
						want := r.want(w, tg, &before.c)
						var req *http.Request
						id := strconv.FormatInt(c.ID, 10)
						if route == "api" {
							req = f.jsonRequest(w, "POST", "/api/v1/cases/"+id+"/actions/"+string(r.action), input)
						} else {
							req = f.request(w, "POST", "/cases/"+id+"/act/"+string(r.action), strings.NewReader(actionForm(input).Encode()),
								"application/x-www-form-urlencoded")
						}
						resp, err := client.Do(req)
						if err != nil {
							t.Fatalf("%s as %s: %v", req.URL.Path, w, err)
						}
						body := readSome(resp)
						calls++
						got := classify(resp)
						after := f.state(c.ID)
						where := fmt.Sprintf("%s %s as %s on the case %s (%s)", req.Method, req.URL.Path, w, tg, before.c.Status)
						if got != want {
							t.Errorf("%s: got %s (%d %s), want %s", where, got, resp.StatusCode, firstLine(body), want)
						}
						changed := !reflect.DeepEqual(before, after)
						switch {
						case want != ok && changed:
							t.Errorf("%s: refused, but the case changed: %s", where, diffState(before, after))
						case want == ok && !changed:
							t.Errorf("%s: allowed, but the case did not change", where)
						case want == ok:
							if msg := r.effect(f, w, before, after); msg != "" {
								t.Errorf("%s: %s", where, msg)
							}
						}
						if changed {
							// The next caller gets a case in the state the row needs.
							c = f.prepare(r.wf, tg, r.prep)
							if r.input != nil {
								input = r.input(f, tg, c)
							}
							before = f.state(c.ID)
						}
					}
				}
			}
		})
	}
	t.Logf("%d calls over %d actions", calls, len(rows))
}

// effect checks what every allowed step changes (a timeline entry, a new
// version, the state it leads to) and what this action changes besides.
func (r actRow) effect(f *actFixture, w who, before, after state) string {
	to := r.to
	if to == "" {
		to = before.c.Status
	}
	switch {
	case after.c.Status != to:
		return fmt.Sprintf("status %s, want %s", after.c.Status, to)
	case after.events != before.events+1:
		return fmt.Sprintf("%d timeline entries, want %d", after.events, before.events+1)
	case after.c.Version != before.c.Version+1:
		return fmt.Sprintf("version %d, want %d", after.c.Version, before.c.Version+1)
	}
	if r.check != nil {
		return r.check(f, w, &before.c, &after.c)
	}
	return ""
}

// diffState names the fields that differ, for a readable failure.
func diffState(a, b state) string {
	var out []string
	if a.events != b.events {
		out = append(out, fmt.Sprintf("timeline %d → %d", a.events, b.events))
	}
	va, vb := reflect.ValueOf(a.c), reflect.ValueOf(b.c)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s %v → %v", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface()))
		}
	}
	return strings.Join(out, ", ")
}

// TestBulkDispatchEffect: the bulk dispatch page answers 303 whatever
// happens, so its row checks the cases: each caller dispatches exactly the
// accepted cases they may dispatch, and the redirect counts them.
func TestBulkDispatchEffect(t *testing.T) {
	f := newActFixture(t)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r := actRow{wf: "whistle", action: casework.ActDispatch, prep: []casework.Action{casework.ActAccept}, to: casework.Dispatched, roles: whistleStaff}
	for _, tg := range []target{in, out, other} {
		for _, w := range callers {
			c := f.prepare("whistle", tg, r.prep)
			before := f.state(c.ID)
			want := r.want(w, tg, &before.c)
			vals := url.Values{"ids": {strconv.FormatInt(c.ID, 10)}, "target": {"d:" + deptOf(tg)}}
			resp, err := client.Do(f.request(w, "POST", "/cases/dispatch", strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"))
			if err != nil {
				t.Fatal(err)
			}
			readSome(resp)
			after := f.state(c.ID)
			where := fmt.Sprintf("POST /cases/dispatch as %s on the case %s", w, tg)
			loc := resp.Header.Get("Location")
			switch {
			case w == anon:
				if got := classify(resp); got != unauth {
					t.Errorf("%s: got %s (%d), want %s", where, got, resp.StatusCode, unauth)
				}
			case resp.StatusCode != http.StatusSeeOther:
				t.Errorf("%s: %d, want 303", where, resp.StatusCode)
			case want == ok && !strings.Contains(loc, "dispatched=1"):
				t.Errorf("%s: redirected to %q, want dispatched=1", where, loc)
			case want != ok && !strings.Contains(loc, "dispatched=0"):
				t.Errorf("%s: redirected to %q, want dispatched=0", where, loc)
			}
			if want == ok {
				if msg := r.effect(f, w, before, after); msg != "" {
					t.Errorf("%s: %s", where, msg)
				}
				if after.c.DepartmentCode != deptOf(tg) {
					t.Errorf("%s: dispatched to %q, want %s", where, after.c.DepartmentCode, deptOf(tg))
				}
			} else if !reflect.DeepEqual(before, after) {
				t.Errorf("%s: refused, but the case changed: %s", where, diffState(before, after))
			}
		}
	}
}

// jsonBody is a small helper for the scope tests: the decoded JSON answer.
func jsonBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	b := readSome(resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", resp.Request.Method, resp.Request.URL.RequestURI(), resp.StatusCode, firstLine(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", resp.Request.URL.RequestURI(), err)
	}
}
