package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/workflow"
)

// lampCases returns a function that submits a 红哨 case (a broken
// stairway lamp) in a grid of the demo district as the resident token.
func lampCases(t *testing.T, app *testApp, resident string) func() caseResp {
	lat, lng := interior(t, app, "330303001011001")
	return func() caseResp {
		t.Helper()
		var c caseResp
		if code := do(t, "POST", app.URL+"/api/v1/cases", resident, map[string]any{"category": "ZL0601", "description": "楼道灯坏了", "lat": lat, "lng": lng}, &c); code != 201 {
			t.Fatalf("submit: %d", code)
		}
		return c
	}
}

// workflowForm is the edit form of /admin/workflows as the page fills it
// for d: labels, roles and required fields, and each stage's limit,
// warning and assessment.
func workflowForm(d *workflow.Definition) url.Values {
	f := url.Values{"source": {"form"}}
	for _, s := range d.States {
		f.Set("state."+s.Name+".zh", s.Label.Zh)
		f.Set("state."+s.Name+".en", s.Label.En)
	}
	for i, a := range d.Actions {
		f.Set("action."+strconv.Itoa(i)+".roles", strings.Join(a.Roles, " "))
		f.Set("action."+strconv.Itoa(i)+".requires", strings.Join(a.Requires, " "))
	}
	for _, s := range d.Stages {
		k := "stage." + s.Name
		f.Set(k+".zh", s.Label.Zh)
		f.Set(k+".en", s.Label.En)
		if s.Limit != nil {
			f.Set(k+".amount", strconv.Itoa(s.Limit.Amount))
			f.Set(k+".unit", s.Limit.Unit)
		}
		if s.WarnPercent > 0 {
			f.Set(k+".warn", strconv.Itoa(s.WarnPercent))
		}
		if s.Assessed {
			f.Set(k+".assessed", "1")
		}
		if s.UseCategory {
			f.Set(k+".use_category", "1")
		}
	}
	return f
}

// TestAdminWorkflowPage: an administrator signed in with a session opens
// /admin/workflows, changes the accept stage's time limit in the form,
// previews the diff (nothing stored), is refused without the CSRF token,
// activates it; a new case then gets the new limit while an older case
// keeps its own, and the audit log holds the diff.
func TestAdminWorkflowPage(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, dialect))
			resident := login(t, app, "demo-resident")
			admin := login(t, app, "demo-admin")
			submit := lampCases(t, app, resident)
			acceptLimit := func(c caseResp) string {
				t.Helper()
				var s struct {
					Stages []struct{ Stage, Limit string } `json:"stages"`
				}
				if code := do(t, "GET", app.URL+"/api/v1/cases/"+fmt.Sprint(c.ID)+"/sla", admin, nil, &s); code != 200 || len(s.Stages) == 0 || s.Stages[0].Stage != "accept" {
					t.Fatalf("case %d sla: %d %+v", c.ID, code, s)
				}
				return s.Stages[0].Limit
			}
			before := submit()

			c := browser(t)
			send := func(method, path string, form url.Values) (int, string, http.Header) {
				t.Helper()
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req, _ := http.NewRequest(method, app.URL+path, body)
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), resp.Header
			}
			_, page, _ := send("GET", "/login?next=/", nil)
			m := csrfRE.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no CSRF token on the login form")
			}
			if code, _, _ := send("POST", "/login", url.Values{"username": {"demo-admin"}, "password": {"whistle-demo"}, "csrf_token": {m[1]}, "next": {"/"}}); code != 303 {
				t.Fatalf("login: %d", code)
			}
			code, page, _ := send("GET", "/admin/workflows?name=whistle", nil)
			if code != 200 || !strings.Contains(page, `name="stage.accept.amount" type="number" min="1" class="short" value="2"`) || !strings.Contains(page, "工作小时") {
				t.Fatalf("GET /admin/workflows: %d, want the accept stage's 2 working hours in the form", code)
			}
			csrf := csrfRE.FindStringSubmatch(page)[1]
			// The time-limit rules' stages are the definitions' stages.
			if code, page, _ := send("GET", "/admin/sla", nil); code != 200 || !strings.Contains(page, `<option value="register">`) || !strings.Contains(page, `<option value="claim">`) {
				t.Errorf("GET /admin/sla: %d, want the stages of both workflows as options", code)
			}

			var def struct {
				Definition *workflow.Definition `json:"definition"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/workflows/whistle", "", nil, &def); code != 200 {
				t.Fatalf("definition: %d", code)
			}
			active := def.Definition.Version
			form := workflowForm(def.Definition)
			form.Set("stage.accept.amount", "6")
			form.Set("csrf_token", csrf)

			form.Set("do", "preview")
			wantDiff := `stage &#34;accept&#34;: limit 2 working_hours → 6 working_hours`
			if code, page, _ := send("POST", "/admin/workflows/whistle", form); code != 200 || !strings.Contains(page, wantDiff) || !strings.Contains(page, fmt.Sprintf("v%d", active+1)) {
				t.Fatalf("preview: %d, want the diff %q", code, wantDiff)
			}
			if got := acceptLimit(submit()); got != "2h" {
				t.Errorf("after the preview a new case gets %s, want 2h (nothing stored)", got)
			}

			bad := url.Values{}
			for k, v := range form {
				bad[k] = v
			}
			bad.Set("stage.accept.amount", "-1")
			if code, page, _ := send("POST", "/admin/workflows/whistle", bad); code != 422 || !strings.Contains(page, `环节 &#34;accept&#34; 的时限 -1 不在 1 到日历上限之间。`) {
				t.Errorf("a negative limit: %d, want 422 with the validator's message", code)
			}
			form.Set("do", "activate")
			noCSRF := url.Values{}
			for k, v := range form {
				noCSRF[k] = v
			}
			noCSRF.Del("csrf_token")
			if code, _, _ := send("POST", "/admin/workflows/whistle", noCSRF); code != 403 {
				t.Errorf("activate without CSRF: %d, want 403", code)
			}
			code, _, h := send("POST", "/admin/workflows/whistle", form)
			if want := fmt.Sprintf("/admin/workflows?name=whistle&done=%d", active+1); code != 303 || h.Get("Location") != want {
				t.Fatalf("activate: %d to %q, want 303 to %q", code, h.Get("Location"), want)
			}

			after := submit()
			if got, want := acceptLimit(before), "2h"; got != want {
				t.Errorf("the older case's accept limit: %s, want %s (its own version)", got, want)
			}
			if got, want := acceptLimit(after), "6h"; got != want {
				t.Errorf("the new case's accept limit: %s, want %s", got, want)
			}
			var audit struct {
				Entries []struct{ Target, Summary string } `json:"entries"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/audit?action=workflow.upload", admin, nil, &audit); code != 200 || len(audit.Entries) != 1 ||
				!strings.Contains(audit.Entries[0].Summary, `stage "accept": limit 2 working_hours → 6 working_hours`) {
				b, _ := json.Marshal(audit)
				t.Errorf("audit: %d %s, want one workflow.upload with the diff", code, b)
			}
		})
	}
}
