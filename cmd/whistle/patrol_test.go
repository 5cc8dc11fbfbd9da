package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
)

// Who sees a patrol: in demo-grid's own grid (万顺社区), the worker and the
// staff above it; in another street, the district; in another district,
// nobody. Residents, department handlers, party members and other grid
// workers never see a track.
var (
	seePatrolIn  = []who{grid, community, street, leader, admin}
	seePatrolOut = []who{leader, admin}
)

func patrolTargets() map[target][]who {
	return map[target][]who{in: seePatrolIn, out: seePatrolOut, other: {}}
}

// patrolWorker is the grid worker who walks the target's patrol: demo-grid
// in the demo grid, the matrix's grid workers elsewhere.
func (f *authzFixture) patrolWorker(t target) *account.User {
	f.t.Helper()
	name := "demo-grid"
	if t != in {
		name = "matrix-" + string(t)
	}
	u, err := f.w.app.accounts.UserByName(context.Background(), account.SystemScope(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// patrol starts a fresh patrol of the target's worker (stopping the one
// before), so that every call of the matrix finds it running.
func (f *authzFixture) patrol(t target) string {
	f.t.Helper()
	p, err := f.w.patrols.Start(context.Background(), audit.System("authz test"), f.patrolWorker(t), "")
	if err != nil {
		f.t.Fatalf("start the %s patrol: %v", t, err)
	}
	return strconv.FormatInt(p.ID, 10)
}

// patrolPoints is a batch of one fix in the target's grid, now.
func (f *authzFixture) patrolPoints(t target) any {
	g := map[target]string{in: demoGrid, out: f.patrolWorker(out).Region.Code, other: otherGrid}[t]
	p := f.interior[g]
	return map[string]any{"points": []map[string]any{{"lat": p.Lat(), "lng": p.Lon(), "accuracy": 8, "at": time.Now().UTC().Format(time.RFC3339Nano)}}}
}

// TestPatrolAuthorizationEffect: the patrol writes as every caller on a
// patrol in scope, in another street and in another district. Besides the
// status, an allowed call changed the patrol (a point stored, the patrol
// stopped) and a refused one left it as it was.
func TestPatrolAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rows := matrix()
	state := func(id string) string {
		n, _ := strconv.ParseInt(id, 10, 64)
		var points int
		var stopped bool
		if err := f.w.app.db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM patrol_points WHERE patrol_id = $1), stopped_at IS NOT NULL FROM patrols WHERE id = $1`, n).
			Scan(&points, &stopped); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("points=%d stopped=%v", points, stopped)
	}
	for _, c := range []struct {
		route, suffix, effect string
	}{
		{"POST /api/v1/patrols/{id}/points", "/points", "points=1 stopped=false"},
		{"POST /api/v1/patrols/{id}/stop", "/stop", "points=0 stopped=true"},
	} {
		sp := rows[c.route]
		for _, tg := range []target{in, out, other} {
			for _, w := range callers {
				id := f.patrol(tg)
				var req *http.Request
				if c.suffix == "/points" {
					req = f.jsonRequest(w, "POST", "/api/v1/patrols/"+id+c.suffix, f.patrolPoints(tg))
				} else {
					req = f.request(w, "POST", "/api/v1/patrols/"+id+c.suffix, nil, "")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := readSome(resp)
				want := sp.want(w, tg)
				where := fmt.Sprintf("%s as %s on the %s patrol", c.route, w, tg)
				if got := classify(resp); got != want {
					t.Errorf("%s: got %s (%d %s), want %s", where, got, resp.StatusCode, firstLine(body), want)
				}
				got := state(id)
				switch {
				case want == ok && got != c.effect:
					t.Errorf("%s: allowed, but the patrol is %s, want %s", where, got, c.effect)
				case want != ok && got != "points=0 stopped=false":
					t.Errorf("%s: refused, but the patrol changed: %s", where, got)
				}
			}
		}
	}
	// A case the grid worker reports during a patrol links to it.
	id := f.patrol(in)
	resp, err := client.Do(f.jsonRequest(grid, "POST", "/api/v1/cases", f.submission(demoGrid)))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(readSome(resp), &created); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("report during the patrol: %d %v", resp.StatusCode, err)
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	p, err := f.w.patrols.Get(ctx, f.patrolWorker(in), n)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cases) != 1 || p.Cases[0] != created.ID {
		t.Errorf("the patrol's cases: got %v, want [%d]", p.Cases, created.ID)
	}
	// A patrol_id that is not the caller's running patrol is a field error.
	body := f.submission(demoGrid)
	body["patrol_id"] = 999999
	resp, err = client.Do(f.jsonRequest(grid, "POST", "/api/v1/cases", body))
	if err != nil {
		t.Fatal(err)
	}
	if raw := readSome(resp); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("report with a foreign patrol_id: got %d %s, want 422", resp.StatusCode, raw)
	}
}
