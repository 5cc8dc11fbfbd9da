package web

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// TestSubmitterCannotTakeStaffDecisions is issue 13, item 7: the workflow
// follows the category whoever reports, and only staff may mark a case
// urgent. A resident or an anonymous caller who tries is refused with a
// field message in their language, and nothing is filed.
func TestSubmitterCannotTakeStaffDecisions(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "party", Region: "330303001001", Role: account.PartyMember})
		wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(),
			Users: users})
		_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Clock: clk})
		tokens := map[string]string{"": ""}
		for _, u := range []string{"resident", "party", "staff-a", "grid-a", "leader"} {
			tokens[u] = login(t, ts, u)
		}
		// ZL0601 (邻里求助) is a 红哨 (whistle) category; SJ0101 an urban one.
		const whistleCat = `"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005`
		type answer struct {
			ID       int64  `json:"id"`
			Workflow string `json:"workflow"`
			Urgent   bool   `json:"urgent"`
			Error    struct {
				Code   string            `json:"code"`
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		for _, c := range []struct {
			name, who, body string
			want            int
			field, en, zh   string // the refused field and its message
			urgent          bool
		}{
			{"anonymous picks another workflow", "", `{` + whistleCat + `,"workflow":"urban"}`, 422,
				"workflow", "The workflow follows the category (whistle); leave it out.", "流程由类别决定（whistle），请勿填写。", false},
			{"a resident picks another workflow", "resident", `{` + whistleCat + `,"workflow":"urban"}`, 422,
				"workflow", "The workflow follows the category (whistle); leave it out.", "流程由类别决定（whistle），请勿填写。", false},
			{"staff pick another workflow", "staff-a", `{` + whistleCat + `,"workflow":"urban"}`, 422,
				"workflow", "The workflow follows the category (whistle); leave it out.", "流程由类别决定（whistle），请勿填写。", false},
			{"anonymous marks a case urgent", "", `{` + whistleCat + `,"urgent":true}`, 422,
				"urgent", "Only staff decide whether a case is urgent; leave it out.", "是否紧急由工作人员决定，请勿填写。", false},
			{"a resident marks a case urgent", "resident", `{` + whistleCat + `,"urgent":true}`, 422,
				"urgent", "Only staff decide whether a case is urgent; leave it out.", "是否紧急由工作人员决定，请勿填写。", false},
			{"a party member marks a case urgent", "party", `{` + whistleCat + `,"urgent":true}`, 422,
				"urgent", "Only staff decide whether a case is urgent; leave it out.", "是否紧急由工作人员决定，请勿填写。", false},
			{"a resident repeats the category's workflow", "resident", `{` + whistleCat + `,"workflow":"whistle"}`, 201, "", "", "", false},
			{"a resident says it is not urgent", "resident", `{` + whistleCat + `,"urgent":false}`, 201, "", "", "", false},
			{"community staff mark a case urgent", "staff-a", `{` + whistleCat + `,"urgent":true}`, 201, "", "", "", true},
			{"a grid worker marks a case urgent", "grid-a", `{` + whistleCat + `,"urgent":true,"source":"grid_patrol"}`, 201, "", "", "", true},
			{"a leader marks a case urgent", "leader", `{` + whistleCat + `,"urgent":true}`, 201, "", "", "", true},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := countCases(t, wt)
				for _, lang := range []string{"en", "zh-CN"} {
					code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases?lang="+lang, tokens[c.who], c.body)
					var a answer
					if err := json.Unmarshal([]byte(body), &a); err != nil {
						t.Fatalf("%s: answer %q: %v", lang, body, err)
					}
					if code != c.want {
						t.Fatalf("%s: got %d %s, want %d", lang, code, body, c.want)
					}
					if c.want != http.StatusCreated {
						want := map[string]string{"en": c.en, "zh-CN": c.zh}[lang]
						if got := a.Error.Fields[c.field]; got != want || len(a.Error.Fields) != 1 {
							t.Errorf("%s: fields %v, want only %s: %q", lang, a.Error.Fields, c.field, want)
						}
						continue
					}
					if a.Workflow != "whistle" || a.Urgent != c.urgent {
						t.Errorf("%s: filed with workflow %q, urgent %v; want whistle, urgent %v", lang, a.Workflow, a.Urgent, c.urgent)
					}
				}
				filed := countCases(t, wt) - before
				if want := map[bool]int{true: 2, false: 0}[c.want == http.StatusCreated]; filed != want {
					t.Errorf("%d cases filed, want %d", filed, want)
				}
			})
		}
	})
}

func countCases(t *testing.T, wt *worldtest.World) int {
	t.Helper()
	cs, _, err := wt.Cases.List(t.Context(), casework.Caller{System: true}, casework.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}
