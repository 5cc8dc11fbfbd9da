package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/benefit"
)

// The benefit applications' part of the authorization matrix (issue 18):
// an application lives where its subject (the registry person of each
// target) lives and belongs to the policy's department: the in target's
// to CG, the demo department handler's, the others to none. Staff of the
// region and that department see it; residents, party members and other
// departments get 404.

// matrixEngine answers every subject eligible for any policy, 100 yuan,
// paid by CG when the subject is the in target's person.
type matrixEngine struct{ cg int64 }

func (e matrixEngine) Evaluate(_ context.Context, _ account.Scope, s benefit.Subject, _ time.Time) ([]benefit.Match, error) {
	x := 100.0
	dept := ""
	if s.ID == e.cg {
		dept = "CG"
	}
	return []benefit.Match{{Policy: "matrix", Version: 1, Title: benefit.Text{ZH: "矩阵补贴", EN: "Matrix allowance"}, Result: benefit.Eligible,
		Amount: &x, Department: dept, Conditions: []benefit.Condition{{ID: "c", Result: "pass"}}}}, nil
}

// benefitFixture is an application per target, made by the system.
type benefitFixture struct {
	app map[target]int64
}

// plantBenefits gives the benefit service the matrix's engine and makes
// each target's application.
func (f *authzFixture) plantBenefits() {
	f.w.benefits.UsePolicies(matrixEngine{cg: f.reg.person[in]})
	f.ben = &benefitFixture{app: map[target]int64{}}
	for _, tg := range regTargets {
		f.ben.app[tg] = f.newApplication(tg)
	}
}

// newApplication makes a fresh application for the target's person, in
// a period of its own.
func (f *authzFixture) newApplication(tg target) int64 {
	a, err := f.w.benefits.Apply(context.Background(), benefit.System(), benefit.NewApplication{Policy: "matrix", Period: f.period(),
		Subject: benefit.Subject{Kind: benefit.Person, ID: f.reg.person[tg]}})
	if err != nil {
		f.t.Fatalf("application %s: %v", tg, err)
	}
	return a.ID
}

// period is a period no application has yet (a year of its own).
func (f *authzFixture) period() string { return strconv.Itoa(1000 + int(f.seq.Add(1))) }

// Who sees a target's application.
var (
	seeAppIn     = []who{grid, community, street, dept, leader, admin}
	benefitActs  = []who{community, street, dept, admin} // accept
	budgetSetter = []who{dept, admin}
)

func benefitSees() map[target][]who { return map[target][]who{in: seeAppIn, out: seeRegOut, other: {}} }

// benefitMatrix is the benefit routes' expectations, merged into matrix.
func benefitMatrix() map[string]spec {
	list := func(path string) spec {
		return spec{req: func(f *authzFixture, w who, t target) *http.Request { return f.request(w, "GET", path, nil, "") }}
	}
	return map[string]spec{
		// Applying for someone: staff whose region holds the person.
		"POST /api/v1/applications": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/applications", map[string]any{"policy": "matrix", "period": f.period(),
				"subject": map[string]any{"kind": "person", "id": f.reg.person[t]}})
		}},
		"GET /api/v1/applications": list("/api/v1/applications"),
		"GET /api/v1/applications/{id}": {targets: regTargets, sees: benefitSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/applications/"+strconv.FormatInt(f.ben.app[t], 10), nil, "")
		}},
		"POST /api/v1/applications/{id}/actions/{action}": {targets: regTargets, sees: benefitSees(), acts: benefitActs,
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/applications/"+strconv.FormatInt(f.newApplication(t), 10)+"/actions/accept", map[string]any{"version": 1})
			}},
		"GET /api/v1/payouts": list("/api/v1/payouts"),
		"PUT /api/v1/benefit-budgets/{policy}": {allow: budgetSetter, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "PUT", "/api/v1/benefit-budgets/matrix-"+string(w), map[string]any{"ceiling": 1000})
		}},
	}
}

// TestBenefitAuthorizationEffect: the benefit writes as every caller on
// each target. Besides the status, an allowed call changed the data (an
// application made, one accepted, a budget set) and a refused one did
// not; the lists show each caller the applications they see only.
func TestBenefitAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	rows := matrix()
	count := func(q string, args ...any) int {
		var n int
		if err := f.w.app.db.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tg := range regTargets {
		for _, w := range callers {
			// POST /api/v1/applications: one more application of the person.
			sp := rows["POST /api/v1/applications"]
			before := count(`SELECT COUNT(*) FROM benefit_applications WHERE subject_id = $1`, f.reg.person[tg])
			resp, err := client.Do(sp.req(f, w, tg))
			if err != nil {
				t.Fatal(err)
			}
			readSome(resp)
			after := count(`SELECT COUNT(*) FROM benefit_applications WHERE subject_id = $1`, f.reg.person[tg])
			if want := sp.want(w, tg) == ok; (after == before+1) != want {
				t.Errorf("apply as %s on %s: %d → %d applications, want changed %v", w, tg, before, after, want)
			}
			// Accept: the fresh application's status.
			id := f.newApplication(tg)
			resp, err = client.Do(f.jsonRequest(w, "POST", fmt.Sprintf("/api/v1/applications/%d/actions/accept", id), map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			readSome(resp)
			accepted := count(`SELECT COUNT(*) FROM benefit_applications WHERE id = $1 AND status = 'accepted'`, id) == 1
			if want := rows["POST /api/v1/applications/{id}/actions/{action}"].want(w, tg) == ok; accepted != want {
				t.Errorf("accept as %s on %s: accepted %v, want %v", w, tg, accepted, want)
			}
		}
	}
	for _, w := range callers {
		resp, err := client.Do(rows["PUT /api/v1/benefit-budgets/{policy}"].req(f, w, none))
		if err != nil {
			t.Fatal(err)
		}
		readSome(resp)
		set := count(`SELECT COUNT(*) FROM benefit_budgets WHERE policy = $1`, "matrix-"+string(w)) == 1
		if want := rows["PUT /api/v1/benefit-budgets/{policy}"].want(w, none) == ok; set != want {
			t.Errorf("budget as %s: set %v, want %v", w, set, want)
		}
	}
}
