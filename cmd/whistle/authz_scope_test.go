package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
)

// TestScopedLists: the lists, the queue counts and the unit statistics
// show each caller exactly what their data scope holds. The authorization
// matrix checks every route's status; this checks what a list answers
// with a 200, which a scope filter dropped from its query would change
// (make mutate drops each in turn).
func TestScopedLists(t *testing.T) {
	f := newAuthzFixture(t)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(w who, path string, v any) {
		t.Helper()
		resp, err := client.Do(f.request(w, "GET", path, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		jsonBody(t, resp, v)
	}

	// Cases: each of the fixture's cases is listed to exactly the callers
	// who see it (the list is searched by the case's number).
	sees := caseTargets()
	for _, tg := range []target{in, out, other} {
		for _, w := range loggedIn {
			var list struct{ Cases []struct{ ID int64 } }
			get(w, "/api/v1/cases?q="+url.QueryEscape(f.caseNumber[tg]), &list)
			got := slices.ContainsFunc(list.Cases, func(c struct{ ID int64 }) bool { return c.ID == f.cases[tg] })
			if want := slices.Contains(sees[tg], w); got != want {
				t.Errorf("GET /api/v1/cases as %s lists the case %s: %v, want %v", w, tg, got, want)
			}
		}
	}

	// Disputes and hazards: each of the fixture's is listed to exactly the
	// callers who see it.
	for _, kind := range []string{"disputes", "hazards"} {
		ids := f.disputes
		if kind == "hazards" {
			ids = f.hazards
		}
		for _, w := range loggedIn {
			var list struct {
				Disputes, Hazards []struct{ ID int64 }
			}
			get(w, "/api/v1/"+kind+"?limit=200", &list)
			items := list.Disputes
			if kind == "hazards" {
				items = list.Hazards
			}
			for _, tg := range []target{in, out, other} {
				id, _ := strconv.ParseInt(ids[tg], 10, 64)
				got := slices.ContainsFunc(items, func(d struct{ ID int64 }) bool { return d.ID == id })
				if want := slices.Contains(disputeTargets()[tg], w); got != want {
					t.Errorf("GET /api/v1/%s as %s lists the one %s: %v, want %v", kind, w, tg, got, want)
				}
			}
		}
	}

	// Users: the fixture's users of 万顺社区, another street and another
	// district, to the callers who may read users.
	seeUser := map[target][]who{in: seeUserIn, out: seeUserOut, other: {}}
	for _, w := range userReaders {
		var list struct {
			Users []struct{ ID int64 }
		}
		get(w, "/api/v1/users?q=matrix-&limit=500", &list)
		for _, tg := range []target{in, out, other} {
			id, _ := strconv.ParseInt(f.userID[tg], 10, 64)
			got := slices.ContainsFunc(list.Users, func(u struct{ ID int64 }) bool { return u.ID == id })
			if want := slices.Contains(seeUser[tg], w); got != want {
				t.Errorf("GET /api/v1/users as %s lists the user %s: %v, want %v", w, tg, got, want)
			}
		}
	}

	// Queue counts, for the callers whose counts are taken over the cases
	// rather than the rollups (a department's handler): the dashboard's
	// "handling" tile counts what their case list holds, and not a case
	// being handled by another department elsewhere.
	ctx := context.Background()
	adm, err := f.w.app.accounts.UserByName(ctx, account.SystemScope(), "demo-admin")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := f.freshCase(out)
	id, _ := strconv.ParseInt(elsewhere, 10, 64)
	for _, step := range []struct {
		a  casework.Action
		in casework.Input
	}{{casework.ActAccept, casework.Input{}}, {casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "ZJ"}}}} {
		if _, err := f.w.cases.Act(ctx, casework.Caller{User: adm}, id, step.a, step.in); err != nil {
			t.Fatal(err)
		}
	}
	tile := regexp.MustCompile(`class="tile q-handling"[^>]*><span class="tile-n">(\d+)</span>`)
	for _, w := range []who{dept} {
		var list struct{ Cases []struct{ ID int64 } }
		get(w, "/api/v1/cases?status=dispatched,in_progress&limit=200", &list)
		resp, err := client.Do(f.request(w, "GET", "/", nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		page := readSome(resp)
		m := tile.FindSubmatch(page)
		if m == nil {
			t.Fatalf("GET / as %s: no count of all cases: %d %s", w, resp.StatusCode, firstLine(page))
		}
		if got, want := string(m[1]), strconv.Itoa(len(list.Cases)); got != want || want == "0" {
			t.Errorf("GET / as %s counts %s cases, but lists %s", w, got, want)
		}
	}

	// Unit statistics count only what the scope sees: another street's
	// node does not exist for the community's or the street's staff.
	var district struct {
		Region struct{ Cases int }
	}
	get(leader, "/api/v1/stats/units?region="+f.node[out], &district)
	if district.Region.Cases == 0 {
		t.Fatalf("the leader counts no case in the street %s", f.node[out])
	}
	for _, w := range []who{community, street} {
		resp, err := client.Do(f.request(w, "GET", "/api/v1/stats/units?region="+f.node[out], nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /api/v1/stats/units?region=%s as %s: status %d, want 404 (another street)", f.node[out], w, resp.StatusCode)
		}
	}
}
