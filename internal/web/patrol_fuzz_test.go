package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/patrol"
	"whistle/internal/worldtest"
)

// FuzzPatrolPointsJSON posts arbitrary JSON to POST
// /api/v1/patrols/{id}/points on a fresh patrol of the grid worker; the
// text NOW in a body becomes the current time. Besides the answer's
// invariants (apiAnswer), a refused batch stored nothing, and an accepted
// one stored exactly its distinct fix times, every one a valid position.
func FuzzPatrolPointsJSON(f *testing.F) {
	for _, s := range []string{
		`{"points":[{"lat":27.005,"lng":120.005,"accuracy":8,"at":"NOW"}]}`,
		`{"points":[{"lat":27.005,"lng":120.005,"at":"NOW"},{"lat":27.005,"lng":120.005,"at":"NOW"}]}`,
		`{"points":[{"lat":91,"lng":120.005,"accuracy":8,"at":"NOW"}]}`, `{"points":[{"lat":27,"lng":-181,"at":"NOW"}]}`,
		`{"points":[{"lat":27,"lng":120,"accuracy":-1,"at":"NOW"}]}`, `{"points":[{"lat":27,"lng":120,"at":"yesterday"}]}`,
		`{"points":[{"lat":27,"lng":120,"at":"2001-01-01T00:00:00Z"}]}`, `{"points":[{"lat":"27","lng":120,"at":"NOW"}]}`,
		`{"points":[]}`, `{"points":null}`, `{"pts":[]}`, `{}`, `null`, `[`, `{"points":[{}]}`,
	} {
		f.Add([]byte(s), false)
	}
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(f, db.SQLite, clock.Real{})
	wt := worldtest.New(f, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"),
		Users: []worldtest.User{{Name: "grid", Region: "330303001001001", Role: account.GridWorker}}, Logger: logger})
	ps := patrol.NewStore(d, wt.Regions, patrol.Config{})
	_, ts := serve(f, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
		Cases: wt.Cases, Categories: wt.Categories, Patrols: ps, Logger: logger})
	w := &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	ctx := context.Background()
	tok, u, _, err := wt.Accounts.Login(ctx, "grid", worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
	if err != nil {
		f.Fatal(err)
	}
	w.tokens["grid"] = tok
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		p, err := ps.Start(ctx, audit.System("fuzz"), u, "")
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.ReplaceAll(body, []byte("NOW"), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
		code, raw := w.do(t, "POST", "/api/v1/patrols/"+strconv.FormatInt(p.ID, 10)+"/points", "grid", "application/json", body, lang(en)...)
		accepted := apiAnswer(t, "points", code, raw, http.StatusOK)
		var stored int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM patrol_points WHERE patrol_id = $1`, p.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !accepted {
			if stored != 0 {
				t.Fatalf("refused (%d %s) but stored %d points", code, raw, stored)
			}
			return
		}
		var in struct {
			Points []struct {
				Lat, Lng *float64
				At       string
			}
		}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("accepted a body that does not decode: %s", body)
		}
		times := map[int64]bool{}
		for _, pt := range in.Points {
			at, err := time.Parse(time.RFC3339Nano, pt.At)
			if err != nil || pt.Lat == nil || pt.Lng == nil || *pt.Lat < -90 || *pt.Lat > 90 || *pt.Lng < -180 || *pt.Lng > 180 {
				t.Fatalf("accepted a bad fix %+v in %s", pt, body)
			}
			times[at.UnixMilli()] = true
		}
		if stored != len(times) {
			t.Fatalf("accepted %s: stored %d points, want %d", body, stored, len(times))
		}
	})
}
