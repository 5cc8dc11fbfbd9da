package main

import (
	"context"
	"net/http"
	"strconv"

	"whistle/internal/account"
	"whistle/internal/audit"
)

// plantVisits puts each target's registry person in the elderly_alone
// group (a task to record) and the dibao group (a task to add photos to),
// which plans their visit tasks of this period.
func (f *authzFixture) plantVisits() {
	ctx := context.Background()
	f.visitTask, f.visitPhotoTask = map[target]int64{}, map[target]int64{}
	for _, tg := range regTargets {
		for group, m := range map[string]map[target]int64{"elderly_alone": f.visitTask, "dibao": f.visitPhotoTask} {
			if err := f.w.visits.Join(ctx, account.SystemScope(), audit.System("authz test"), group, f.reg.person[tg], ""); err != nil {
				f.t.Fatalf("join %s: %v", tg, err)
			}
			var id int64
			if err := f.w.app.db.QueryRow(ctx, `SELECT id FROM visit_tasks WHERE person_id = $1 AND group_code = $2 AND status = 'open'`,
				f.reg.person[tg], group).Scan(&id); err != nil {
				f.t.Fatalf("visit task %s: %v", tg, err)
			}
			m[tg] = id
		}
	}
}

// visitMatrix is the visits' expectations, merged into matrix: the
// registry's scope (regSees) decides who sees a task or a person; only
// grid workers record visits (others who see the task get 403).
func visitMatrix() map[string]spec {
	person := func(f *authzFixture, t target) string {
		return "/api/v1/people/" + strconv.FormatInt(f.reg.person[t], 10)
	}
	inOnly := func(path string) spec {
		return spec{targets: []target{in}, sees: map[target][]who{in: seeRegIn}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", path, nil, "")
		}}
	}
	return map[string]spec{
		"GET /api/v1/visits":       inOnly("/api/v1/visits?due=today"),
		"GET /api/v1/visits/count": inOnly("/api/v1/visits/count"),
		// The phone page exists for grid workers only.
		"GET /visits": {targets: []target{in}, sees: map[target][]who{in: {grid}}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/visits", nil, "")
		}},
		"POST /api/v1/visits/{id}/record": {targets: regTargets, sees: regSees(), acts: []who{grid},
			req: func(f *authzFixture, w who, t target) *http.Request {
				p := f.interior[f.reg.grid[t]]
				return f.jsonRequest(w, "POST", "/api/v1/visits/"+strconv.FormatInt(f.visitTask[t], 10)+"/record",
					map[string]any{"lat": p.Lat(), "lng": p.Lon(), "notes": "矩阵走访"})
			}},
		"POST /api/v1/visits/{id}/photos": {targets: regTargets, sees: regSees(), acts: []who{grid},
			req: func(f *authzFixture, w who, t target) *http.Request {
				body, ct := f.photoForm()
				return f.request(w, "POST", "/api/v1/visits/"+strconv.FormatInt(f.visitPhotoTask[t], 10)+"/photos", body, ct)
			}},
		"POST /api/v1/people/{id}/groups": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", person(f, t)+"/groups", map[string]any{"group": "disabled", "note": "矩阵"})
		}},
		"DELETE /api/v1/people/{id}/groups/{group}": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			// Every caller finds the person in the group.
			if err := f.w.visits.Join(context.Background(), account.SystemScope(), audit.System("authz test"), "veteran", f.reg.person[t], ""); err != nil {
				f.t.Fatalf("join: %v", err)
			}
			return f.request(w, "DELETE", person(f, t)+"/groups/veteran", nil, "")
		}},
	}
}
