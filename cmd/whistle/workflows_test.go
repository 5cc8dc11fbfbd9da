package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWorkflowUpload drives the workflow API through run(): an admin's
// invalid upload is 422 with the validator's messages, a dry run shows
// the diff and changes nothing, the upload (v2: only admins accept)
// applies to cases submitted after it, a case submitted before keeps v1,
// and the audit log holds the diff.
func TestWorkflowUpload(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, d))
			resident := login(t, app, "demo-resident")
			community := login(t, app, "demo-community")
			street := login(t, app, "demo-street")
			admin := login(t, app, "demo-admin")
			submit := lampCases(t, app, resident)

			var got struct {
				Versions []struct {
					Version int  `json:"version"`
					Active  bool `json:"active"`
				} `json:"versions"`
				Definition map[string]any `json:"definition"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/workflows/whistle", "", nil, &got); code != 200 || len(got.Versions) != 1 || got.Definition["version"] != 2.0 {
				t.Fatalf("GET /api/v1/workflows/whistle: %d %+v, want the shipped version 2 only", code, got.Versions)
			}
			before := submit()

			// v2: the accept step (the first action) for admins only.
			v2 := got.Definition
			actions := v2["actions"].([]any)
			actions[0].(map[string]any)["roles"] = []string{"admin"}
			broken := map[string]any{}
			for k, v := range v2 {
				broken[k] = v
			}
			broken["states"] = append(slices.Clone(v2["states"].([]any)), map[string]any{"name": "archived", "label": map[string]string{"zh": "归档", "en": "archived"}, "terminal": true})

			var e apiError
			if code := do(t, "POST", app.URL+"/api/v1/workflows", street, v2, &e); code != 403 {
				t.Errorf("street staff uploads: %d, want 403", code)
			}
			if code := do(t, "POST", app.URL+"/api/v1/workflows", admin, broken, &e, "Accept-Language", "en"); code != 422 ||
				!slices.Contains(mapValues(e.Error.Fields), `State "archived" is unreachable from "submitted".`) {
				t.Errorf("invalid upload: %d %+v, want 422 naming the unreachable state", code, e.Error.Fields)
			}
			e = apiError{}
			if code := do(t, "POST", app.URL+"/api/v1/workflows", admin, broken, &e); code != 422 ||
				!slices.Contains(mapValues(e.Error.Fields), `终止状态 "archived" 不是本模块认可的结束状态。`) {
				t.Errorf("invalid upload in Chinese: %d %+v", code, e.Error.Fields)
			}

			wantDiff := `action "accept" from [submitted]: roles [community_staff street_staff admin] → [admin]`
			var up struct {
				Version int      `json:"version"`
				Applied bool     `json:"applied"`
				Diff    []string `json:"diff"`
			}
			if code := do(t, "POST", app.URL+"/api/v1/workflows?dry_run=1", admin, v2, &up); code != 200 || up.Applied || up.Version != 3 || !slices.Equal(up.Diff, []string{wantDiff}) {
				t.Fatalf("dry run: %d %+v, want 200, version 3 not applied, diff %q", code, up, wantDiff)
			}
			var again struct {
				Versions []any `json:"versions"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/workflows/whistle", "", nil, &again); code != 200 || len(again.Versions) != 1 {
				t.Fatalf("after the dry run: %d, %d versions, want 1", code, len(again.Versions))
			}
			if code := do(t, "POST", app.URL+"/api/v1/workflows", admin, v2, &up); code != 201 || !up.Applied || up.Version != 3 {
				t.Fatalf("upload: %d %+v, want 201 version 3 applied", code, up)
			}
			after := submit()

			accept := func(token string, c caseResp) int {
				return do(t, "POST", app.URL+"/api/v1/cases/"+fmt.Sprint(c.ID)+"/actions/accept", token, map[string]any{}, nil)
			}
			for _, c := range []struct {
				c    caseResp
				want float64
			}{{before, 2}, {after, 3}} {
				var got map[string]any
				if code := do(t, "GET", app.URL+"/api/v1/cases/"+fmt.Sprint(c.c.ID), admin, nil, &got); code != 200 || got["workflow_version"] != c.want {
					t.Errorf("case %d: %d, workflow_version %v, want %v", c.c.ID, code, got["workflow_version"], c.want)
				}
			}
			if code := accept(community, after); code != 403 {
				t.Errorf("community staff accepts a case submitted under v2: %d, want 403", code)
			}
			if code := accept(community, before); code != 200 {
				t.Errorf("community staff accepts a case submitted under v1: %d, want 200", code)
			}
			if code := accept(admin, after); code != 200 {
				t.Errorf("admin accepts a case submitted under v2: %d, want 200", code)
			}

			var list map[string]struct {
				Version int `json:"version"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/workflows", "", nil, &list); code != 200 || list["whistle"].Version != 3 || list["urban"].Version != 2 {
				t.Errorf("GET /api/v1/workflows: %d %+v, want whistle v3 and urban v2", code, list)
			}
			var audit struct {
				Entries []struct {
					Action, Target, Summary string
				} `json:"entries"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/audit?action=workflow.upload", admin, nil, &audit); code != 200 || len(audit.Entries) != 1 ||
				audit.Entries[0].Target != "workflow:whistle@3" || !strings.Contains(audit.Entries[0].Summary, wantDiff) {
				t.Errorf("audit: %d %+v, want one workflow.upload of workflow:whistle@3 with the diff", code, audit.Entries)
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
