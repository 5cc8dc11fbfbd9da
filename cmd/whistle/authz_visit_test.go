package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/visit"
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
	f.plantRecordedVisits()
}

// plantRecordedVisits has each target grid's worker record a visit with a
// photo (the community_correction group's task of the registry person).
func (f *authzFixture) plantRecordedVisits() {
	ctx := context.Background()
	f.visitDone, f.visitPhotoName = map[target]int64{}, map[target]string{}
	for _, tg := range regTargets {
		gw, err := f.w.app.accounts.UserByName(ctx, account.SystemScope(), "matrix-"+string(tg))
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.w.visits.Join(ctx, account.SystemScope(), audit.System("authz test"), "community_correction", f.reg.person[tg], ""); err != nil {
			f.t.Fatalf("join %s: %v", tg, err)
		}
		var id int64
		if err := f.w.app.db.QueryRow(ctx, `SELECT id FROM visit_tasks WHERE person_id = $1 AND group_code = 'community_correction' AND status = 'open'`,
			f.reg.person[tg]).Scan(&id); err != nil {
			f.t.Fatalf("visit task %s: %v", tg, err)
		}
		key, err := f.w.visits.AddPhoto(ctx, gw, id, bytes.NewReader(jpegBytes(f.t)))
		if err != nil {
			f.t.Fatalf("visit photo %s: %v", tg, err)
		}
		p := f.interior[f.reg.grid[tg]]
		lat, lng := p.Lat(), p.Lon()
		if _, err := f.w.visits.Record(ctx, gw, audit.System("authz test"), "", id, visit.RecordInput{Lat: &lat, Lng: &lng, Photos: []string{key}}); err != nil {
			f.t.Fatalf("record %s: %v", tg, err)
		}
		f.visitDone[tg], f.visitPhotoName[tg] = id, visit.PhotoName(key)
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
		// The staff visit queue: the staff whose scope covers the grid.
		"GET /visits/queue": inOnly("/visits/queue"),
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
		// A recorded visit's photo: whoever sees the visit.
		"GET /api/v1/visits/{id}/photos/{name}": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/visits/"+strconv.FormatInt(f.visitDone[t], 10)+"/photos/"+f.visitPhotoName[t], nil, "")
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

// TestVisitAuthorizationEffect: the visits' writes as every caller on a
// person (and their task) in scope, in another street and in another
// district. Besides the status, an allowed call changed the data (the
// task done, the person in or out of the group) and a refused one left it
// as it was.
func TestVisitAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	rows := matrix()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := f.w.app.db.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	member := func(tg target, group string) bool {
		var n int
		if err := f.w.app.db.QueryRow(ctx, `SELECT COUNT(*) FROM reg_group_members WHERE person_id = $1 AND group_code = $2`, f.reg.person[tg], group).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	taskStatus := func(tg target) string {
		var s string
		if err := f.w.app.db.QueryRow(ctx, `SELECT status FROM visit_tasks WHERE id = $1`, f.visitTask[tg]).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct {
		route   string
		prepare func(tg target)
		state   func(tg target) string
		before  string
		after   string
	}{
		{"POST /api/v1/visits/{id}/record", func(tg target) {
			exec(`UPDATE visit_tasks SET status = 'open' WHERE id = $1`, f.visitTask[tg])
		}, taskStatus, "open", "done"},
		{"POST /api/v1/people/{id}/groups", func(tg target) {
			exec(`DELETE FROM reg_group_members WHERE person_id = $1 AND group_code = 'disabled'`, f.reg.person[tg])
		}, func(tg target) string { return fmt.Sprint(member(tg, "disabled")) }, "false", "true"},
		{"DELETE /api/v1/people/{id}/groups/{group}", func(target) {}, func(tg target) string { return fmt.Sprint(member(tg, "veteran")) }, "true", "false"},
	} {
		sp := rows[c.route]
		for _, tg := range regTargets {
			for _, w := range callers {
				c.prepare(tg)
				req := sp.req(f, w, tg)
				if got := c.state(tg); got != c.before {
					t.Fatalf("%s on %s: before the call got %s, want %s", c.route, tg, got, c.before)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := readSome(resp)
				want := sp.want(w, tg)
				where := fmt.Sprintf("%s as %s on %s", c.route, w, tg)
				if got := classify(resp); got != want {
					t.Errorf("%s: got %s (%d %s), want %s", where, got, resp.StatusCode, firstLine(body), want)
				}
				got := c.state(tg)
				switch {
				case want == ok && got != c.after:
					t.Errorf("%s: allowed, but the state is %s, want %s", where, got, c.after)
				case want != ok && got != c.before:
					t.Errorf("%s: refused, but the state changed to %s", where, got)
				}
			}
		}
	}
}
