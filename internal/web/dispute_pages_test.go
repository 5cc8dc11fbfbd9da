package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestDisputeBadInputZhEn: each bad field of a new dispute, a new hazard
// and an action is a 422 naming that field, in Chinese and in English.
func TestDisputeBadInputZhEn(t *testing.T) {
	w := newDecoderWorld(t)
	good := `{"region":"` + fuzzGrid + `","type":"neighbour","title":"漏水","parties":[{"role":"applicant","name":"张三"}]}`
	code, raw := w.do(t, "POST", "/api/v1/disputes", "grid", "application/json", []byte(good))
	var d struct{ ID int64 }
	if code != http.StatusCreated || json.Unmarshal(raw, &d) != nil {
		t.Fatalf("create: %d %s", code, raw)
	}
	act := "/api/v1/disputes/" + strconv.FormatInt(d.ID, 10) + "/actions/"
	for _, c := range []struct {
		name, path, body, field, zh, en string
	}{
		{"type", "/api/v1/disputes", strings.Replace(good, "neighbour", "war", 1), "type", "纠纷类型无效", "Unknown dispute type"},
		{"region", "/api/v1/disputes", strings.Replace(good, fuzzGrid, "330303001002001", 1), "region", "不在您的管辖范围内", "outside your area"},
		{"grid level", "/api/v1/disputes", strings.Replace(good, fuzzGrid, "330303001001", 1), "region", "不是网格", "is not a grid"},
		{"title", "/api/v1/disputes", strings.Replace(good, "漏水", " ", 1), "title", "必填", "required"},
		{"party phone", "/api/v1/disputes", strings.Replace(good, `"name":"张三"`, `"name":"张三","phone":"123"`, 1), "parties.0.phone", "手机", "mobile"},
		{"party id", "/api/v1/disputes", strings.Replace(good, `"name":"张三"`, `"name":"张三","id_number":"110105194912310021"`, 1), "parties.0.id_number", "校验", "check"},
		{"hazard type", "/api/v1/hazards", `{"region":"` + fuzzGrid + `","type":"ghost","title":"x"}`, "type", "隐患类型无效", "Unknown hazard type"},
		{"hazard sources", "/api/v1/hazards", `{"region":"` + fuzzGrid + `","type":"fire","title":"x","visit_id":1,"patrol_id":2}`, "patrol_id", "只能关联其一", "not both"},
		{"referral", act + "refer", `{"referral":"duel"}`, "referral", "诉讼或仲裁", "litigation or arbitration"},
		{"action", act + "dance", `{}`, "action", "没有操作", "has no action"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, en := range []bool{false, true} {
				who := "grid"
				if c.name == "grid level" {
					who = "staff" // community staff: the community is in scope, but not a grid
				}
				code, raw := w.do(t, "POST", c.path, who, "application/json", []byte(c.body), lang(en)...)
				var e errorBody
				if code != http.StatusUnprocessableEntity || json.Unmarshal(raw, &e) != nil {
					t.Fatalf("en=%v: %d %s, want 422", en, code, raw)
				}
				want := c.zh
				if en {
					want = c.en
				}
				if got := e.Error.Fields[c.field]; !strings.Contains(strings.ToLower(got), strings.ToLower(want)) {
					t.Errorf("en=%v: field %s says %q, want it to contain %q (%s)", en, c.field, got, want, raw)
				}
			}
		})
	}
}

// TestDisputePages walks a dispute through its pages on a phone's forms:
// the list, the detail page's action forms (a refused form shows its
// field error in place), the printable agreement; a resident gets 404.
func TestDisputePages(t *testing.T) {
	w := newDecoderWorld(t)
	good := `{"region":"` + fuzzGrid + `","type":"neighbour","title":"楼上漏水","parties":[{"role":"applicant","name":"张三","phone":"13800001111"},{"role":"respondent","name":"李四"}]}`
	code, raw := w.do(t, "POST", "/api/v1/disputes", "grid", "application/json", []byte(good))
	var d struct{ ID int64 }
	if code != http.StatusCreated || json.Unmarshal(raw, &d) != nil {
		t.Fatalf("create: %d %s", code, raw)
	}
	page := "/disputes/" + strconv.FormatInt(d.ID, 10)
	if code, body := w.get(t, "/disputes", "grid"); code != http.StatusOK || !strings.Contains(string(body), `href="`+page+`"`) {
		t.Fatalf("list: %d, want a link to %s", code, page)
	}
	code, body := w.get(t, page, "grid")
	if code != http.StatusOK || !strings.Contains(string(body), `action="`+page+`/actions/accept"`) || strings.Contains(string(body), "13800001111") {
		t.Fatalf("page: %d, want the accept form and the phone masked: %.500s", code, body)
	}
	post := func(action string, v url.Values) (int, string) {
		t.Helper()
		code, hdr, body := w.form(t, page+"/actions/"+action, "grid", v.Encode())
		if code == http.StatusSeeOther && hdr.Get("Location") != page {
			t.Fatalf("%s redirected to %q", action, hdr.Get("Location"))
		}
		return code, string(body)
	}
	if code, _ := post("accept", url.Values{"version": {"1"}}); code != http.StatusSeeOther {
		t.Fatalf("accept: %d", code)
	}
	code, b := post("session", url.Values{"participants": {"张三、李四"}, "held_at": {"昨天"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(b, `role="alert"`) || !strings.Contains(b, `name="participants" type="text" value="张三、李四"`) {
		t.Fatalf("session without notes and a bad time: %d, want 422 with the field errors and the input kept: %.800s", code, b)
	}
	if code, _ := post("session", url.Values{"participants": {"张三、李四"}, "notes": {"双方同意各担一半。"}}); code != http.StatusSeeOther {
		t.Fatalf("session: %d", code)
	}
	if code, _ := post("agree", url.Values{"agreement": {"一、李四承担维修费用的一半。"}}); code != http.StatusSeeOther {
		t.Fatalf("agree: %d", code)
	}
	code, body = w.get(t, page+"/agreement", "grid")
	if code != http.StatusOK || !strings.Contains(string(body), "一、李四承担维修费用的一半。") || !strings.Contains(string(body), "人民调解协议书") {
		t.Fatalf("agreement: %d %.500s", code, body)
	}
	if code, _ := w.get(t, page, "res"); code != http.StatusNotFound {
		t.Errorf("resident on the page: %d, want 404", code)
	}
	if code, _ := post("dance", url.Values{}); code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown action: %d, want 422", code)
	}
}

// TestDisputeNav: the staff who work disputes and hazards (grid worker,
// community and street staff, leader, admin) find both pages in the
// section bar; a resident and a department handler do not.
func TestDisputeNav(t *testing.T) {
	w := newDecoderWorld(t)
	for _, c := range []struct {
		who  string
		want bool
	}{
		{"grid", true}, {"staff", true}, {"street", true}, {"leader", true}, {"admin", true},
		{"res", false}, {"cg-handler", false},
	} {
		t.Run(c.who, func(t *testing.T) {
			for _, en := range []bool{false, true} {
				code, body := w.get(t, "/inbox", c.who, lang(en)...)
				s := string(body)
				start := strings.Index(s, `<nav class="sections"`)
				if code != http.StatusOK || start < 0 {
					t.Fatalf("en=%v: %d, no section bar", en, code)
				}
				nav := s[start : start+strings.Index(s[start:], "</nav>")]
				for _, href := range []string{`href="/disputes"`, `href="/hazards"`} {
					if got := strings.Contains(nav, href); got != c.want {
						t.Errorf("en=%v: the section bar has %s: %v, want %v", en, href, got, c.want)
					}
				}
			}
		})
	}
}
