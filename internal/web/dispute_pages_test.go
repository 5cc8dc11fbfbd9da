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

// TestDisputeCreateForms: the list pages' create forms register a dispute
// (with its parties) and a hazard; a refused form answers 422 with each
// error next to its field, in Chinese and in English, the values kept and
// nothing written; a resident gets no form and a 404.
func TestDisputeCreateForms(t *testing.T) {
	w := newDecoderWorld(t)
	total := func(kind string) int {
		t.Helper()
		code, raw := w.get(t, "/api/v1/"+kind, "admin")
		var l struct{ Total int }
		if code != http.StatusOK || json.Unmarshal(raw, &l) != nil {
			t.Fatalf("list %s: %d %s", kind, code, raw)
		}
		return l.Total
	}
	// fieldError is the field-error paragraph that follows the input id.
	fieldError := func(body, id string) string {
		i := strings.Index(body, `id="`+id+`"`)
		if i < 0 {
			return ""
		}
		rest := body[i:]
		end := strings.Index(rest, "</div>")
		j := strings.Index(rest[:end], `<p class="field-error" role="alert">`)
		if j < 0 {
			return ""
		}
		msg := rest[j+len(`<p class="field-error" role="alert">`):]
		return msg[:strings.Index(msg, "</p>")]
	}
	dispute := url.Values{"type": {"neighbour"}, "title": {"楼上漏水"}, "region": {fuzzGrid}, "description": {"卫生间漏水到楼下。"},
		"parties.0.role": {"applicant"}, "parties.0.name": {"张三"}, "parties.0.phone": {"13800001111"},
		"parties.2.role": {"respondent"}, "parties.2.name": {"李四"}}
	hazard := url.Values{"type": {"fire"}, "title": {"消防通道堵塞"}, "region": {fuzzGrid}, "place": {"3幢楼道"}}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{}
		for a, b := range v {
			out[a] = b
		}
		if val == "" {
			delete(out, k)
		} else {
			out.Set(k, val)
		}
		return out
	}
	for _, c := range []struct {
		name, kind string
		form       url.Values
		id, zh, en string
	}{
		{"dispute type", "disputes", with(dispute, "type", "war"), "new-type", "纠纷类型无效", "unknown dispute type"},
		{"dispute title", "disputes", with(dispute, "title", ""), "new-title", "必填", "required"},
		{"dispute grid", "disputes", with(dispute, "region", "330303001001"), "new-region", "不是网格", "is not a grid"},
		{"no party", "disputes", with(with(dispute, "parties.0.name", ""), "parties.2.name", ""), "new-parties-0-name", "必填", "required"},
		// The third row is the service's second party: its error shows on the third row.
		{"party phone", "disputes", with(dispute, "parties.2.phone", "123"), "new-parties-2-phone", "手机", "mobile"},
		{"party id", "disputes", with(dispute, "parties.0.id_number", "110105194912310021"), "new-parties-0-id_number", "校验", "check"},
		{"hazard type", "hazards", with(hazard, "type", "ghost"), "new-type", "隐患类型无效", "unknown hazard type"},
		{"hazard org", "hazards", with(hazard, "org_id", "abc"), "new-org_id", "数", "number"},
		{"hazard past deadline", "hazards", with(hazard, "deadline", "2001-01-01T10:00"), "new-deadline", "晚于现在", "later than now"},
		{"hazard bad deadline", "hazards", with(hazard, "deadline", "下周"), "new-deadline", "日期", "date"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := total(c.kind)
			for _, en := range []bool{false, true} {
				code, _, raw := w.form(t, "/"+c.kind, "staff", c.form.Encode(), lang(en)...)
				body := string(raw)
				want := c.zh
				if en {
					want = c.en
				}
				if code != http.StatusUnprocessableEntity {
					t.Fatalf("en=%v: %d, want 422: %.600s", en, code, body)
				}
				if got := fieldError(body, c.id); !strings.Contains(strings.ToLower(got), strings.ToLower(want)) {
					t.Errorf("en=%v: the error next to %s is %q, want it to contain %q", en, c.id, got, want)
				}
				if !strings.Contains(body, `value="`+c.form.Get("title")+`"`) {
					t.Errorf("en=%v: the title %q is not kept in the form", en, c.form.Get("title"))
				}
			}
			if got := total(c.kind); got != before {
				t.Errorf("%d %s after a refused form, want %d: something was written", got, c.kind, before)
			}
		})
	}
	for _, c := range []struct {
		kind string
		form url.Values
		want []string
	}{
		{"disputes", dispute, []string{"楼上漏水", "张三", "李四", "卫生间漏水到楼下。"}},
		{"hazards", hazard, []string{"消防通道堵塞", "3幢楼道"}},
	} {
		t.Run("create "+c.kind, func(t *testing.T) {
			before := total(c.kind)
			code, hdr, _ := w.form(t, "/"+c.kind, "staff", c.form.Encode())
			loc := hdr.Get("Location")
			if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/"+c.kind+"/") {
				t.Fatalf("%d to %q, want 303 to the new item", code, loc)
			}
			if got := total(c.kind); got != before+1 {
				t.Errorf("%d %s, want %d", got, c.kind, before+1)
			}
			code, body := w.get(t, loc, "staff")
			for _, s := range c.want {
				if code != http.StatusOK || !strings.Contains(string(body), s) {
					t.Errorf("the new item's page (%d) does not show %q", code, s)
				}
			}
		})
	}
	if _, body := w.get(t, "/disputes", "res"); strings.Contains(string(body), `action="/disputes"`) {
		t.Error("a resident's dispute list has the create form")
	}
	if code, _, _ := w.form(t, "/disputes", "res", dispute.Encode()); code != http.StatusNotFound {
		t.Errorf("a resident's form: %d, want 404", code)
	}
	if _, body := w.get(t, "/disputes", "grid"); !strings.Contains(string(body), `name="region" type="text" value="`+fuzzGrid+`"`) {
		t.Error("a grid worker's form does not start in their grid")
	}
}
