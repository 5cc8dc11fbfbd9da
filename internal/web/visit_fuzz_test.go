package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// visitFuzz is a grid worker with one visit task of a person whose house
// stands at (27.005, 120.005), served over HTTP.
type visitFuzz struct {
	fw     *fuzzWorld
	d      *db.DB
	task   int64
	person int64
}

func newVisitFuzz(f *testing.F) *visitFuzz {
	v := newVisitWorld(f, []worldtest.User{{Name: "grid", Region: "330303001001001", Role: account.GridWorker}},
		[]visitHouse{{grid: "330303001001001", lat: 27.005, lng: 120.005}})
	return &visitFuzz{fw: v.fw, d: v.d, task: v.tasks[0], person: v.people[0]}
}

// FuzzVisitRecordJSON posts arbitrary JSON to POST
// /api/v1/visits/{id}/record on an open task. Besides the answer's
// invariants (apiAnswer), a refused visit left the task open, and a
// recorded one has a valid position within 200 m of the house or a
// reason, and is flagged far exactly when it lies farther.
func FuzzVisitRecordJSON(f *testing.F) {
	for _, s := range []string{
		`{"lat":27.005,"lng":120.005,"notes":"好"}`, `{"lat":27.02,"lng":120.005}`, `{"lat":27.02,"lng":120.005,"reason":"不在家"}`,
		`{"lat":91,"lng":120}`, `{"lat":27.005}`, `{"lat":"27","lng":120}`, `{"lat":27.005,"lng":120.005,"photos":["../etc"]}`,
		`{"lat":27.005,"lng":120.005,"at":"2001-01-01T00:00:00Z"}`, `{"lat":27.005,"lng":120.005,"problem":{"category":"","description":""}}`,
		`{}`, `null`, `[`, `{"x":1}`,
	} {
		f.Add([]byte(s), false)
	}
	v := newVisitFuzz(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		if err := v.d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE visit_tasks SET status = 'open', far = 0, case_id = NULL WHERE id = $1`, v.task)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		code, raw := v.fw.do(t, "POST", "/api/v1/visits/"+strconv.FormatInt(v.task, 10)+"/record", "grid", "application/json", body, lang(en)...)
		accepted := apiAnswer(t, "record", code, raw, http.StatusOK)
		var status string
		var far int
		var dist *float64
		if err := v.d.QueryRow(ctx, `SELECT status, far, distance_m FROM visit_tasks WHERE id = $1`, v.task).Scan(&status, &far, &dist); err != nil {
			t.Fatal(err)
		}
		if !accepted {
			if status != visit.StatusOpen {
				t.Fatalf("refused (%d %s) but the task is %s", code, raw, status)
			}
			return
		}
		var in struct {
			Lat, Lng *float64
			Reason   string
		}
		// Read like decodeJSON: the first value (it lets a stray closing
		// bracket after it pass).
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil || in.Lat == nil || in.Lng == nil || *in.Lat < -90 || *in.Lat > 90 {
			t.Fatalf("accepted a body without a valid position: %s", body)
		}
		if status != visit.StatusDone || dist == nil || (far == 1) != (*dist > 200) || far == 1 && in.Reason == "" {
			t.Fatalf("accepted %s: status %s, far %d, distance %v", body, status, far, fmt.Sprint(dist))
		}
	})
}

// FuzzVisitJoinJSON posts arbitrary JSON to POST /api/v1/people/{id}/groups:
// a refused body leaves the person's groups as they were; an accepted one
// names a group they are then in.
func FuzzVisitJoinJSON(f *testing.F) {
	for _, s := range []string{`{"group":"disabled","note":"x"}`, `{"group":"nope"}`, `{"group":""}`, `{"group":1}`, `{}`, `null`, `[`} {
		f.Add([]byte(s), false)
	}
	v := newVisitFuzz(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		if err := v.d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM reg_group_members WHERE person_id = $1 AND group_code <> 'elderly_alone'`, v.person)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		code, raw := v.fw.do(t, "POST", "/api/v1/people/"+strconv.FormatInt(v.person, 10)+"/groups", "grid", "application/json", body, lang(en)...)
		accepted := apiAnswer(t, "join", code, raw, http.StatusCreated)
		var n int
		if err := v.d.QueryRow(ctx, `SELECT COUNT(*) FROM reg_group_members WHERE person_id = $1`, v.person).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if !accepted {
			if n != 1 {
				t.Fatalf("refused (%d %s) but the person is in %d groups", code, raw, n)
			}
			return
		}
		var in struct{ Group string }
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
			t.Fatalf("accepted a body that does not decode: %s", body)
		}
		var got int
		if err := v.d.QueryRow(ctx, `SELECT COUNT(*) FROM reg_group_members WHERE person_id = $1 AND group_code = $2`, v.person, in.Group).Scan(&got); err != nil || got != 1 {
			t.Fatalf("accepted %s but the person is not in the group (%d, %v)", body, got, err)
		}
	})
}
