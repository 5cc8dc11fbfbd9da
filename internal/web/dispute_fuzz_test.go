package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The disputes' and hazards' decoders: a new dispute, a new hazard and an
// action's input, posted as a grid worker of grid A1 (330303001001001).
// Besides apiAnswer's invariants, what was created reads back, lies in the
// caller's grid and has what validation demands, and an action answered
// 200 moved the item's version on by one.

const fuzzGrid = "330303001001001"

// FuzzDisputeJSON posts arbitrary JSON to POST /api/v1/disputes.
func FuzzDisputeJSON(f *testing.F) {
	party := `{"role":"applicant","name":"张三","id_number":"11010519491231002X","phone":"13800001111"}`
	for i, s := range []string{
		`{"region":"` + fuzzGrid + `","type":"neighbour","title":"漏水","parties":[` + party + `]}`,
		`{"region":"` + fuzzGrid + `","type":"family","title":"赡养","description":"x","parties":[{"role":"respondent","name":"李四"}]}`,
		`{"region":"330303001002001","type":"neighbour","title":"t","parties":[` + party + `]}`, `{"region":"330303","type":"neighbour","title":"t","parties":[]}`,
		`{"region":"` + fuzzGrid + `","type":"war","title":"","parties":[{"role":"judge","name":"","id_number":"1234","phone":"12"}]}`,
		`{"region":"` + fuzzGrid + `","type":"neighbour","title":" ","parties":[` + party + `]}`, `{"region":1}`, `{"parties":{}}`, `{}`, `null`, `[]`, `{`, ``, `{"region":"` + fuzzGrid + `","x":1}`,
	} {
		f.Add([]byte(s), i%2 == 0)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/disputes", "grid", "application/json", body, lang(en)...)
		if !apiAnswer(t, "new dispute", code, raw, http.StatusCreated) {
			return
		}
		var in struct {
			Title   string
			Parties []struct{ Name string }
		}
		_ = json.Unmarshal(body, &in)
		var out struct {
			ID      int64  `json:"id"`
			Region  string `json:"region"`
			Title   string `json:"title"`
			Status  string `json:"status"`
			Parties []struct {
				Name string `json:"name"`
			} `json:"parties"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			t.Fatalf("201 without a dispute: %s", raw)
		}
		title := strings.TrimSpace(in.Title)
		if out.Region != fuzzGrid || out.Title != title || title == "" || utf8.RuneCountInString(title) > 100 || out.Status != "registered" ||
			len(out.Parties) == 0 || len(out.Parties) != len(in.Parties) || slices.ContainsFunc(out.Parties, func(p struct {
			Name string `json:"name"`
		}) bool {
			return strings.TrimSpace(p.Name) == ""
		}) {
			t.Fatalf("created from %s: %s", body, raw)
		}
		code, back := w.get(t, "/api/v1/disputes/"+strconv.FormatInt(out.ID, 10), "grid")
		var got struct{ Title string }
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.Title != out.Title {
			t.Fatalf("dispute %d reads back as %d %s", out.ID, code, back)
		}
	})
}

// FuzzHazardJSON posts arbitrary JSON to POST /api/v1/hazards.
func FuzzHazardJSON(f *testing.F) {
	for i, s := range []string{
		`{"region":"` + fuzzGrid + `","type":"fire","title":"通道堵塞","place":"1 号楼","patrol_id":3}`,
		`{"region":"` + fuzzGrid + `","type":"gas","title":"x","visit_id":2,"patrol_id":3}`, `{"region":"` + fuzzGrid + `","type":"gas","title":"x","org_id":-1}`,
		`{"region":"330303001002001","type":"fire","title":"t"}`, `{"region":"` + fuzzGrid + `","type":"ghost","title":""}`,
		`{"visit_id":"1"}`, `{}`, `null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s), i%2 == 0)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/hazards", "grid", "application/json", body, lang(en)...)
		if !apiAnswer(t, "new hazard", code, raw, http.StatusCreated) {
			return
		}
		var in struct{ Title string }
		_ = json.Unmarshal(body, &in)
		var out struct {
			ID       int64  `json:"id"`
			Region   string `json:"region"`
			Title    string `json:"title"`
			Source   string `json:"source"`
			VisitID  int64  `json:"visit_id"`
			PatrolID int64  `json:"patrol_id"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			t.Fatalf("201 without a hazard: %s", raw)
		}
		if out.Region != fuzzGrid || out.Title != strings.TrimSpace(in.Title) || out.Title == "" || out.VisitID < 0 || out.PatrolID < 0 ||
			(out.VisitID > 0 && out.PatrolID > 0) || !slices.Contains([]string{"visit", "patrol", "direct"}, out.Source) {
			t.Fatalf("created from %s: %s", body, raw)
		}
		code, back := w.get(t, "/api/v1/hazards/"+strconv.FormatInt(out.ID, 10), "grid")
		var got struct{ Title string }
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.Title != out.Title {
			t.Fatalf("hazard %d reads back as %d %s", out.ID, code, back)
		}
	})
}

// FuzzItemActionJSON posts arbitrary JSON to a fresh dispute's or
// hazard's action: a 200 moved its version on by exactly one step.
func FuzzItemActionJSON(f *testing.F) {
	for i, s := range []struct{ action, body string }{
		{"accept", `{}`}, {"accept", `{"version":1}`}, {"accept", `{"version":7}`}, {"decline", `{"note":"不属于调解范围"}`},
		{"session", `{"participants":"a","notes":"b"}`}, {"order", `{"deadline":"2099-01-01T00:00:00Z"}`}, {"order", `{"deadline":"2000-01-01T00:00:00Z"}`},
		{"void", `{"note":"误报"}`}, {"recheck", `{"passed":true}`}, {"escalate", `{}`}, {"dance", `{}`}, {"accept", `{"held_at":"x"}`},
		{"accept", `{"passed":"yes"}`}, {"accept", `[]`}, {"accept", `{`}, {"order", `{"deadline":null,"note":"` + strings.Repeat("长", 1001) + `"}`},
	} {
		f.Add(s.action, []byte(s.body), i%3 == 0, i%2 == 0)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, action string, body []byte, hazard, en bool) {
		if strings.ContainsFunc(action, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("/?#%\\", r) }) || action == "" ||
			action == "." || action == ".." {
			t.Skip()
		}
		kind, create := "disputes", `{"region":"`+fuzzGrid+`","type":"neighbour","title":"t","parties":[{"role":"applicant","name":"张三"}]}`
		if hazard {
			kind, create = "hazards", `{"region":"`+fuzzGrid+`","type":"fire","title":"t"}`
		}
		code, raw := w.do(t, "POST", "/api/v1/"+kind, "grid", "application/json", []byte(create))
		var item struct{ ID int64 }
		if code != http.StatusCreated || json.Unmarshal(raw, &item) != nil {
			t.Fatalf("create: %d %s", code, raw)
		}
		path := "/api/v1/" + kind + "/" + strconv.FormatInt(item.ID, 10)
		code, raw = w.do(t, "POST", path+"/actions/"+action, "grid", "application/json", body, lang(en)...)
		if !apiAnswer(t, action, code, raw, http.StatusOK) {
			code, back := w.get(t, path, "grid")
			var got struct{ Version int }
			if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.Version != 1 {
				t.Fatalf("a refused %s changed the item: %d %s", action, code, back)
			}
			return
		}
		var got struct {
			Version  int
			Timeline []struct{ Action string }
		}
		code, back := w.get(t, path, "grid")
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.Version != 2 || len(got.Timeline) != 2 || got.Timeline[1].Action != action {
			t.Fatalf("%s answered 200 but the item reads %d %s", action, code, back)
		}
	})
}
