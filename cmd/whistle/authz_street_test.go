package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"whistle/internal/assess"
	"whistle/internal/benchmark"
)

// TestStreetDataScope: 永中街道's staff compare their street with the
// other streets of the district. They see their own street's detail at
// any time, the other streets' figures once the period is published, and
// never an unpublished figure or another street's detail: in 对标 (the
// analysis, the composite and the weak points) and in 考核 (the league
// and the score card).
func TestStreetDataScope(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	own, peer := "330303001", f.node[out] // the street user's street, another street
	get := func(path string, out any) (int, string) {
		t.Helper()
		resp, err := client.Do(f.request(street, "GET", path, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		body := readSome(resp)
		if resp.StatusCode == http.StatusOK && out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, string(body)
	}
	const unpub, pub = "2031-01", "2031-02"
	st := f.w.benchmark
	if _, err := st.DeclareIndicator(ctx, benchmark.Indicator{Key: "street_scope", Name: benchmark.Text{ZH: "通办率"}, Unit: "percent",
		Direction: benchmark.HigherBetter}); err != nil {
		t.Fatal(err)
	}
	var vals []benchmark.Value
	for _, p := range []string{unpub, pub} {
		vals = append(vals, benchmark.Value{Indicator: "street_scope", Unit: own, Period: p, Value: 60},
			benchmark.Value{Indicator: "street_scope", Unit: peer, Period: p, Value: 70})
	}
	if err := st.PutValues(ctx, vals, false); err != nil {
		t.Fatal(err)
	}
	if err := st.PublishPeriod(ctx, pub); err != nil {
		t.Fatal(err)
	}
	type analysis struct {
		Peers       int              `json:"peers"`
		Value       *float64         `json:"value"`
		Leader      *benchmark.Point `json:"leader"`
		GapToLeader *float64         `json:"gap_to_leader"`
		Published   bool             `json:"published"`
	}
	for _, c := range []struct {
		name, unit, indicator, period string
		status, peers                 int
		leader                        string
		peerVisible                   bool
	}{
		{"own street, unpublished: alone", own, "street_scope", unpub, 200, 1, own, false},
		{"own composite, unpublished: alone", own, benchmark.Composite, unpub, 200, 1, "", false},
		{"own street, published: the peer leads", own, "street_scope", pub, 200, 2, peer, true},
		{"the peer, unpublished: not found", peer, "street_scope", unpub, 404, 0, "", false},
		{"the peer, published", peer, "street_scope", pub, 200, 2, peer, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a analysis
			code, body := get("/api/v1/benchmark?unit="+c.unit+"&indicator="+c.indicator+"&period="+c.period, &a)
			if code != c.status {
				t.Fatalf("status %d (%s), want %d", code, firstLine([]byte(body)), c.status)
			}
			if code != 200 {
				return
			}
			if got := strings.Contains(body, peer) || strings.Contains(body, ":70"); got != c.peerVisible {
				t.Errorf("the peer's code or value in the answer: %v, want %v: %s", got, c.peerVisible, body)
			}
			if a.Peers != c.peers || (c.leader != "" && (a.Leader == nil || a.Leader.Unit != c.leader)) {
				t.Errorf("peers %d leader %+v, want %d %s", a.Peers, a.Leader, c.peers, c.leader)
			}
		})
	}
	for _, c := range []struct {
		period string
		status int
	}{{unpub, 404}, {pub, 200}} {
		if code, body := get("/api/v1/benchmark/weak-points?unit="+peer+"&period="+c.period, nil); code != c.status {
			t.Errorf("the peer's weak points in %s: %d (%s), want %d", c.period, code, firstLine([]byte(body)), c.status)
		}
	}

	// 考核: a street item, the two streets scored, the period then frozen
	// and published.
	adm := f.assessUser("demo-admin")
	const period = "2031-03"
	if _, err := f.w.assess.CreatePeriod(ctx, adm, assess.NewPeriod{Code: period, Name: period, StartsOn: "2031-03-01", EndsOn: "2031-03-31"}); err != nil {
		t.Fatal(err)
	}
	it, err := f.w.assess.AddItem(ctx, adm, assess.NewItem{UnitType: assess.Street, Code: "street-scope", Name: "街道考核", Kind: assess.KindManual, Points: 10})
	if err != nil {
		t.Fatal(err)
	}
	for code, score := range map[string]float64{own: 6, peer: 9} {
		if err := f.w.assess.SetManual(ctx, adm, assess.ManualScore{Period: period, Unit: code, ItemID: it.ID, Score: score, Evidence: "检查"}); err != nil {
			t.Fatal(err)
		}
	}
	league := func() []string {
		t.Helper()
		var l struct {
			Standings []assess.Standing `json:"standings"`
		}
		if code, body := get("/api/v1/assessment/league?type=street&period="+period, &l); code != 200 {
			t.Fatalf("league: %d %s", code, firstLine([]byte(body)))
		}
		var out []string
		for _, s := range l.Standings {
			if s.Total != 0 {
				out = append(out, s.Unit.Code)
			}
		}
		return out
	}
	card := func(unit string) int {
		t.Helper()
		code, _ := get("/api/v1/assessment/scores?unit="+unit+"&period="+period, nil)
		return code
	}
	if got := league(); len(got) != 1 || got[0] != own {
		t.Errorf("the league before publication: %v, want only %s", got, own)
	}
	if got := card(own); got != 200 {
		t.Errorf("its own card before publication: %d, want 200", got)
	}
	if got := card(peer); got != 404 {
		t.Errorf("the peer's card before publication: %d, want 404", got)
	}
	if _, err := f.w.assess.Freeze(ctx, adm, period); err != nil {
		t.Fatal(err)
	}
	if got := league(); len(got) != 1 {
		t.Errorf("the league frozen, unpublished: %v, want only %s", got, own)
	}
	if _, err := f.w.assess.Publish(ctx, adm, period); err != nil {
		t.Fatal(err)
	}
	if got := league(); len(got) != 2 || got[0] != peer || got[1] != own {
		t.Errorf("the league published: %v, want %s then %s", got, peer, own)
	}
	if got := card(peer); got != 404 {
		t.Errorf("the peer's card once published: %d, want 404 (the league's total only)", got)
	}
}
