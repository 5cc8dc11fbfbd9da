package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/sensing"
)

// TestSensingRuleErrors: a rule whose condition names an unknown field,
// applies an operator to the wrong types, is not a bool or does not parse
// is 422 with a message on expr, in Chinese and in English, that quotes
// the condition and gives the reason (the unknown name with the fields
// the device has, the operator and the types, the result's type, the
// character).
func TestSensingRuleErrors(t *testing.T) {
	s := newSensingWorld(t)
	cases := []struct {
		expr   string
		zh, en []string
	}{
		{"pulse > 150", []string{"pulse > 150", "pulse", "不是该类设备上报的字段", "heart_rate"}, []string{"pulse > 150", "pulse", "does not report", "heart_rate"}},
		{`heart_rate > "high"`, []string{`heart_rate > \"high\"`, ">", "double, string", "类型不匹配"}, []string{"applies >", "double, string", "types do not match"}},
		{"heart_rate + 1.0", []string{"heart_rate + 1.0", "double", "不是真或假"}, []string{"gives a double", "not true or false"}},
		{"heart_rate >", []string{"heart_rate >", "第 13 个字符", "语法错误"}, []string{"syntax error at character 13"}},
	}
	for _, tc := range cases {
		for _, l := range []struct {
			lang string
			want []string
		}{{"zh-CN", tc.zh}, {"en", tc.en}} {
			body, _ := json.Marshal(map[string]any{"name": "x", "kind": "threshold", "device_type": "smart_watch", "expr": tc.expr})
			code, raw := s.fw.do(t, "POST", "/api/v1/rules", "admin", "application/json", body, "Accept-Language", l.lang)
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("%s (%s): got %d %s, want 422", tc.expr, l.lang, code, raw)
			}
			var e errorBody
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			msg := e.Error.Fields["expr"]
			js, _ := json.Marshal(msg)
			for _, w := range l.want {
				if !strings.Contains(msg, w) && !strings.Contains(string(js), w) {
					t.Errorf("%s (%s): the message on expr %q does not say %q", tc.expr, l.lang, msg, w)
				}
			}
		}
	}
	// The issue's own example compiles: numbers compare across int and
	// double.
	code, raw := s.fw.do(t, "POST", "/api/v1/rules", "admin", "application/json",
		[]byte(`{"name":"心率","kind":"threshold","device_type":"smart_watch","expr":"heart_rate > 150 || heart_rate < 40"}`))
	if code != http.StatusCreated {
		t.Fatalf("heart_rate > 150: got %d %s", code, raw)
	}
	// Rules are the admins'.
	for _, u := range []string{"leader", "staff-a", "grid-a", "resident"} {
		if code, _ := s.fw.do(t, "GET", "/api/v1/rules", u, "", nil); code != http.StatusForbidden {
			t.Errorf("GET /api/v1/rules as %s: got %d, want 403", u, code)
		}
	}
}

// TestSensingAlarmAPI: the grid worker lists the active alarms of their
// grid only; clearing needs a reason (422 on reason without one), takes
// away for resident_away; another community's alarm is 404; the rule's
// false-alarm rate follows the closing reasons.
func TestSensingAlarmAPI(t *testing.T) {
	s := newSensingWorld(t)
	mine := s.alarm(t, 1, s.person, sensingGridA1)
	theirs := s.alarm(t, 2, s.other, sensingGridB1)
	list := func(user, query string) []sensing.Alarm {
		t.Helper()
		code, raw := s.fw.do(t, "GET", "/api/v1/alarms"+query, user, "", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /api/v1/alarms%s as %s: %d %s", query, user, code, raw)
		}
		var out struct{ Alarms []sensing.Alarm }
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out.Alarms
	}
	if got := list("grid-a", "?status=active"); len(got) != 1 || got[0].ID != mine.ID {
		t.Errorf("the grid worker's active alarms: %+v, want only %d", got, mine.ID)
	}
	if got := list("admin", "?status=active"); len(got) != 2 {
		t.Errorf("the admin's active alarms: %d, want 2", len(got))
	}
	if got := list("resident", ""); len(got) != 0 {
		t.Errorf("a resident sees %d alarms", len(got))
	}
	// The big screen's node: community B's subtree only, with the rule's
	// and the grid's names; an unknown node is 422 on region.
	if got := list("admin", "?status=active&region=330303001002"); len(got) != 1 || got[0].ID != theirs.ID || got[0].RuleName != "心率过高" || got[0].GridName == "" {
		t.Errorf("community B's active alarms: %+v, want only %d with its names", got, theirs.ID)
	}
	if got := list("grid-a", "?status=active&region=330303001002"); len(got) != 0 {
		t.Errorf("the grid worker's alarms of community B: %+v, want none (their scope)", got)
	}
	if code, _ := s.fw.do(t, "GET", "/api/v1/alarms?region=999999", "admin", "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown region: got %d, want 422", code)
	}
	if code, _ := s.fw.do(t, "GET", "/api/v1/alarms?status=open", "admin", "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("status=open: got %d, want 422", code)
	}
	act := func(user string, id int64, action, body string) (int, errorBody, sensing.Alarm) {
		t.Helper()
		code, raw := s.fw.do(t, "POST", "/api/v1/alarms/"+strconv.FormatInt(id, 10)+"/actions/"+action, user, "application/json", []byte(body), "Accept-Language", "en")
		var e errorBody
		var a sensing.Alarm
		_ = json.Unmarshal(raw, &e)
		_ = json.Unmarshal(raw, &a)
		return code, e, a
	}
	if code, _, _ := act("grid-a", theirs.ID, "acknowledge", `{}`); code != http.StatusNotFound {
		t.Errorf("the grid worker acknowledges another community's alarm: %d, want 404", code)
	}
	if code, _ := s.fw.do(t, "GET", "/api/v1/alarms/"+strconv.FormatInt(theirs.ID, 10), "grid-a", "", nil); code != http.StatusNotFound {
		t.Errorf("the grid worker reads another community's alarm: %d, want 404", code)
	}
	if code, e, _ := act("grid-a", mine.ID, "clear", `{}`); code != http.StatusUnprocessableEntity || e.Error.Fields["reason"] == "" {
		t.Errorf("clear without a reason: %d %+v, want 422 on reason", code, e)
	}
	if code, e, _ := act("grid-a", mine.ID, "clear", `{"reason":"bored"}`); code != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Fields["reason"], "false_alarm") {
		t.Errorf("clear with an unknown reason: %d %+v, want 422 listing the reasons", code, e)
	}
	if code, _, a := act("grid-a", mine.ID, "clear", `{"reason":"away"}`); code != http.StatusOK || a.Status != "cleared" || a.Reason != sensing.ReasonAway {
		t.Errorf("clear as away: %d %+v", code, a)
	}
	if code, _, a := act("admin", theirs.ID, "clear", `{"reason":"false_alarm"}`); code != http.StatusOK || a.Reason != sensing.ReasonFalseAlarm {
		t.Errorf("clear as a false alarm: %d %+v", code, a)
	}
	code, raw := s.fw.do(t, "GET", "/api/v1/rules", "admin", "", nil)
	var rules struct{ Rules []sensing.Rule }
	if code != http.StatusOK || json.Unmarshal(raw, &rules) != nil || len(rules.Rules) != 1 {
		t.Fatalf("GET /api/v1/rules: %d %s", code, raw)
	}
	if r := rules.Rules[0]; r.Closed != 2 || r.FalseAlarmRate != 0.5 || r.ClosedBy[sensing.ReasonAway] != 1 || r.ClosedBy[sensing.ReasonFalseAlarm] != 1 {
		t.Errorf("the rule's closed %d and false-alarm rate %v, want 2 and 0.5", r.Closed, r.FalseAlarmRate)
	}
}

// TestSensingRulesPage: the admins' rules page lists the rules with their
// false-alarm rates and carries the forms that write through the API;
// anyone else gets 403.
func TestSensingRulesPage(t *testing.T) {
	s := newSensingWorld(t)
	a := s.alarm(t, 1, s.person, sensingGridA1)
	if _, err := s.svc.Act(context.Background(), sensing.Caller{User: s.wt.Users["admin"]}, a.ID, "clear", sensing.AlarmInput{Reason: sensing.ReasonFalseAlarm}); err != nil {
		t.Fatal(err)
	}
	code, raw := s.fw.do(t, "GET", "/admin/rules", "admin", "", nil, "Accept-Language", "zh-CN")
	page := string(raw)
	if code != http.StatusOK {
		t.Fatalf("GET /admin/rules: %d %s", code, page)
	}
	for _, want := range []string{"感知规则", "心率过高", "heart_rate &gt; 150", "100%", "已解除 1 条（属实 0，误报 1，不在家 0）",
		`data-action="/api/v1/rules"`, `data-method="PATCH" data-action="/api/v1/rules/` + strconv.FormatInt(s.rule.ID, 10) + `"`,
		`<option value="smart_watch">`, "smart_watch: battery, fall, heart_rate, steps", `data-error-for="expr"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the rules page does not show %q", want)
		}
	}
	for _, u := range []string{"leader", "staff-a", "resident"} {
		if code, _ := s.fw.do(t, "GET", "/admin/rules", u, "", nil); code != http.StatusForbidden {
			t.Errorf("GET /admin/rules as %s: %d, want 403", u, code)
		}
	}
}
