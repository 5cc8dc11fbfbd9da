package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/casework"
	"whistle/internal/db"
)

// assessFixture is what the 考核 rows act on: a unit per target (万顺社区,
// another street, a community of the other district), an open period with
// manual items of both region types and a frozen one to appeal in.
type assessFixture struct {
	unit               map[target]string
	open, frozen       string
	community, streetI int64
}

const (
	assessOpen   = "2020-01"
	assessFrozen = "2020-02"
)

// assessUser is a demo account as the service's caller.
func (f *authzFixture) assessUser(name string) *account.User {
	u, err := f.w.app.accounts.UserByName(context.Background(), account.SystemScope(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *authzFixture) plantAssess() {
	ctx := context.Background()
	adm := f.assessUser("demo-admin")
	a := &assessFixture{unit: map[target]string{in: f.node[in], out: f.node[out], other: "330399001001"}, open: assessOpen, frozen: assessFrozen}
	for code, days := range map[string][2]string{assessOpen: {"2020-01-01", "2020-01-31"}, assessFrozen: {"2020-02-01", "2020-02-29"}} {
		if _, err := f.w.assess.CreatePeriod(ctx, adm, assess.NewPeriod{Code: code, Name: code, StartsOn: days[0], EndsOn: days[1]}); err != nil {
			f.t.Fatal(err)
		}
	}
	for typ, id := range map[string]*int64{assess.Community: &a.community, assess.Street: &a.streetI} {
		it, err := f.w.assess.AddItem(ctx, adm, assess.NewItem{UnitType: typ, Code: "matrix-" + typ, Name: "矩阵项", Kind: assess.KindManual, Points: 10})
		if err != nil {
			f.t.Fatal(err)
		}
		*id = it.ID
	}
	if _, err := f.w.assess.Freeze(ctx, adm, assessFrozen); err != nil {
		f.t.Fatal(err)
	}
	f.assess = a
}

// itemOf is the manual item of the target's unit type.
func (a *assessFixture) itemOf(t target) int64 {
	if t == out {
		return a.streetI
	}
	return a.community
}

// newCase submits a case in the target's grid as the system.
func (f *authzFixture) newCase(t target) int64 {
	c, _, err := f.w.cases.Submit(context.Background(), casework.Caller{System: true}, f.submissionInput(f.gridOf[t]))
	if err != nil {
		f.t.Fatal(err)
	}
	return c.ID
}

// The callers of the 考核 rows.
var (
	staffAll  = []who{grid, community, street, dept, party, leader, admin}
	assessors = []who{leader, admin}
)

// assessMatrix is 考核's expectations, merged into matrix: assessors
// (leaders, admins) decide within their district; a unit's own community
// or street staff see its detail and appeal; units elsewhere are 404.
func assessMatrix() map[string]spec {
	get := func(path string) func(f *authzFixture, w who, t target) *http.Request {
		return func(f *authzFixture, w who, t target) *http.Request { return f.request(w, "GET", path, nil, "") }
	}
	unitGet := func(path string) spec {
		return spec{targets: []target{in, out, other}, sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", path+"?unit="+f.assess.unit[t]+"&period="+assessOpen, nil, "")
			}}
	}
	unitPage := func(prefix, suffix string) spec {
		return spec{targets: []target{in, out, other}, sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", prefix+f.assess.unit[t]+suffix+"?period="+assessOpen, nil, "")
			}}
	}
	return map[string]spec{
		"GET /api/v1/assessment/periods": {allow: staffAll, req: get("/api/v1/assessment/periods")},
		"POST /api/v1/assessment/periods": {allow: assessors, req: func(f *authzFixture, w who, t target) *http.Request {
			y := strconv.FormatInt(2100+f.seq.Add(1), 10)
			return f.jsonRequest(w, "POST", "/api/v1/assessment/periods", map[string]any{"code": y, "name": y, "starts_on": y + "-01-01", "ends_on": y + "-12-31"})
		}},
		"POST /api/v1/assessment/periods/{period}/{step}": {allow: assessors, req: func(f *authzFixture, w who, t target) *http.Request {
			y := strconv.FormatInt(2100+f.seq.Add(1), 10)
			if _, err := f.w.assess.CreatePeriod(context.Background(), f.assessUser("demo-admin"), assess.NewPeriod{Code: y, Name: y, StartsOn: y + "-01-01", EndsOn: y + "-12-31"}); err != nil {
				f.t.Fatal(err)
			}
			return f.request(w, "POST", "/api/v1/assessment/periods/"+y+"/freeze", nil, "")
		}},
		"GET /api/v1/assessment/items": {allow: staffAll, req: get("/api/v1/assessment/items?type=community")},
		"POST /api/v1/assessment/items": {allow: assessors, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/assessment/items", map[string]any{"unit_type": "street", "code": f.unique("item"), "name": "矩阵",
				"kind": "indicator", "indicator": assess.IndRating, "target": 4.5, "points": 5})
		}},
		"GET /api/v1/assessment/scores": unitGet("/api/v1/assessment/scores"),
		"GET /api/v1/assessment/learn":  unitGet("/api/v1/assessment/learn"),
		"POST /api/v1/assessment/scores": {allow: assessors, targets: []target{in, out, other}, sees: map[target][]who{in: assessors, out: assessors, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/assessment/scores", map[string]any{"period": assessOpen, "unit": f.assess.unit[t],
					"item_id": f.assess.itemOf(t), "score": 7, "evidence": "矩阵检查 " + string(w)})
			}},
		// The big screen's 对标 panel: a node in the caller's scope, as the
		// screen's other panels.
		"GET /api/v1/assessment/board": {allow: statsRead, targets: []target{in, out, other}, sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", "/api/v1/assessment/board?region="+f.node[t], nil, "")
			}},
		"GET /api/v1/assessment/league": {allow: staffAll, req: get("/api/v1/assessment/league?type=community&period=" + assessOpen)},
		// Only the unit's own staff appeal; assessors decide.
		"POST /api/v1/assessment/appeals": {targets: []target{in, out, other}, sees: map[target][]who{in: {community, street}, out: {}, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/assessment/appeals", map[string]any{"period": assessFrozen, "unit": f.assess.unit[t],
					"item_id": f.assess.itemOf(t), "reason": "漏计", "evidence": "签到表"})
			}},
		"POST /api/v1/assessment/appeals/{id}/decision": {allow: assessors, req: func(f *authzFixture, w who, t target) *http.Request {
			ap, err := f.w.assess.FileAppeal(context.Background(), f.assessUser("demo-community"), assess.NewAppeal{Period: assessFrozen, Unit: f.assess.unit[in],
				ItemID: f.assess.community, Reason: "漏计", Evidence: "签到表"})
			if err != nil {
				f.t.Fatal(err)
			}
			return f.jsonRequest(w, "POST", fmt.Sprintf("/api/v1/assessment/appeals/%d/decision", ap.ID), map[string]any{"upheld": true, "score": 8, "note": "属实"})
		}},
		// The street rates the department its case went to (万顺社区's case,
		// dispatched to CG); nobody else rates in that direction.
		"POST /api/v1/assessment/ratings": {targets: []target{in}, sees: map[target][]who{in: loggedIn}, acts: []who{street},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/assessment/ratings", map[string]any{"period": assessOpen, "case_id": f.cases[in],
					"direction": assess.StreetRatesDept, "score": 4})
			}},
		"POST /api/v1/assessment/unreasonable": {allow: assessors, targets: []target{in, out, other}, sees: map[target][]who{in: assessors, out: assessors, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/assessment/unreasonable", map[string]any{"case_id": f.newCase(t), "reason": "超出政策范围"})
			}},
		// The second reviewer confirms: a mark made by the other assessor.
		"POST /api/v1/assessment/unreasonable/{case}/confirm": {allow: assessors, req: func(f *authzFixture, w who, t target) *http.Request {
			marker := "demo-admin"
			if w == admin {
				marker = "demo-leader"
			}
			id := f.newCase(in)
			if _, err := f.w.assess.MarkUnreasonable(context.Background(), f.assessUser(marker), id, "超出政策范围"); err != nil {
				f.t.Fatal(err)
			}
			return f.request(w, "POST", fmt.Sprintf("/api/v1/assessment/unreasonable/%d/confirm", id), nil, "")
		}},
		// The pages: the console for staff (a page residents cannot have,
		// 404), a unit's pages as its API.
		"GET /assessment":                            {targets: []target{in}, sees: map[target][]who{in: staffAll}, req: get("/assessment")},
		"GET /assessment/units/{unit}":               unitPage("/assessment/units/", ""),
		"GET /benchmarking/units/{unit}":             unitPage("/benchmarking/units/", ""),
		"GET /benchmarking/units/{unit}/report":      unitPage("/benchmarking/units/", "/report"),
		"GET /benchmarking/units/{unit}/report.xlsx": unitPage("/benchmarking/units/", "/report.xlsx"),
		"GET /benchmarking/league":                   {allow: staffAll, req: get("/benchmarking/league?type=community&period=" + assessOpen)},
		"GET /api/v1/practices":                      {allow: staffAll, req: get("/api/v1/practices?indicator=" + assess.IndRating)},
		"POST /api/v1/practices": {allow: staffAll, targets: []target{in, out, other}, sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/practices", map[string]any{"title": "楼道堆物清理", "body": "每周网格员巡查。", "unit": f.assess.unit[t],
					"indicators": []string{assess.IndRating}, "tags": []string{"环境"}})
			}},
	}
}

// TestAssessAuthorizationEffect: every 考核 write, called as every caller,
// changed the data when it was allowed and left it alone when refused.
func TestAssessAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	rows := matrix()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := f.w.app.db.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	reset := func() {
		if err := f.w.app.db.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM assess_scores WHERE evidence LIKE '矩阵检查%'`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		route string
		state func() int
	}{
		{"POST /api/v1/assessment/periods", func() int { return count(`SELECT COUNT(*) FROM assess_periods`) }},
		{"POST /api/v1/assessment/periods/{period}/{step}", func() int { return count(`SELECT COUNT(*) FROM assess_periods WHERE status = 'frozen'`) }},
		{"POST /api/v1/assessment/items", func() int { return count(`SELECT COUNT(*) FROM assess_items`) }},
		{"POST /api/v1/assessment/scores", func() int { return count(`SELECT COUNT(*) FROM assess_scores WHERE evidence LIKE '矩阵检查%'`) }},
		{"POST /api/v1/assessment/appeals", func() int { return count(`SELECT COUNT(*) FROM assess_appeals`) }},
		{"POST /api/v1/assessment/appeals/{id}/decision", func() int { return count(`SELECT COUNT(*) FROM assess_appeals WHERE status = 'upheld'`) }},
		{"POST /api/v1/assessment/ratings", func() int { return count(`SELECT COUNT(*) FROM assess_ratings`) }},
		{"POST /api/v1/assessment/unreasonable", func() int { return count(`SELECT COUNT(*) FROM assess_unreasonable`) }},
		{"POST /api/v1/assessment/unreasonable/{case}/confirm", func() int {
			return count(`SELECT COUNT(*) FROM assess_unreasonable WHERE confirmed_by IS NOT NULL`)
		}},
		{"POST /api/v1/practices", func() int { return count(`SELECT COUNT(*) FROM assess_practices`) }},
	} {
		sp := rows[c.route]
		targets := sp.targets
		if targets == nil {
			targets = []target{none}
		}
		for _, tg := range targets {
			for _, w := range callers {
				reset()
				req := sp.req(f, w, tg) // may plant what the call acts on
				before := c.state()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := readSome(resp)
				want := sp.want(w, tg)
				where := fmt.Sprintf("%s as %s on %q", c.route, w, tg)
				if got := classify(resp); got != want {
					t.Errorf("%s: got %s (%d %s), want %s", where, got, resp.StatusCode, firstLine(body), want)
				}
				after := c.state()
				switch {
				case want == ok && after != before+1:
					t.Errorf("%s: allowed, but the rows went %d -> %d, want one more", where, before, after)
				case want != ok && after != before:
					t.Errorf("%s: refused, but the rows went %d -> %d", where, before, after)
				}
			}
		}
	}
}
