package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

type caseResp struct {
	ID      int64  `json:"id"`
	Number  string `json:"number"`
	Status  string `json:"status"`
	Version int    `json:"version"`
	Region  struct {
		Grid      struct{ Code string } `json:"grid"`
		Community struct{ Code string } `json:"community"`
		Street    struct{ Code string } `json:"street"`
	} `json:"region"`
	Reporter *struct {
		Phone string `json:"phone"`
	} `json:"reporter"`
	Actions []struct {
		Action string `json:"action"`
	} `json:"actions"`
}

type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// interior returns a point inside a region, from the API.
func interior(t *testing.T, app *testApp, code string) (float64, float64) {
	t.Helper()
	var r struct {
		P struct{ Lat, Lng float64 } `json:"interior_point"`
	}
	if status := do(t, "GET", app.URL+"/api/v1/regions/"+code, "", nil, &r); status != 200 {
		t.Fatalf("region %s: %d", code, status)
	}
	return r.P.Lat, r.P.Lng
}

func jpegBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	img.Set(3, 3, color.RGBA{0, 128, 255, 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts one multipart photo and returns the status and body.
func upload(t *testing.T, url, token, filename string, data []byte, kind string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", kind)
	fw, _ := mw.CreateFormFile("photo", filename)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", url, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestCaseRoutes(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, d))
			resident := login(t, app, "demo-resident")
			community := login(t, app, "demo-community")
			street := login(t, app, "demo-street")
			admin := login(t, app, "demo-admin")
			lat, lng := interior(t, app, "330303001011001") // 万顺社区第1网格
			body := map[string]any{"category": "ZL0601", "description": "楼道灯坏了", "lat": lat, "lng": lng, "phone": "13712345678"}
			var c caseResp
			code := do(t, "POST", app.URL+"/api/v1/cases", resident, body, &c, "Idempotency-Key", "abc-1")
			if code != 201 || c.Number == "" || c.Status != "submitted" {
				t.Fatalf("submit: %d %+v", code, c)
			}
			if c.Region.Community.Code != "330303001011" || c.Region.Street.Code != "330303001" {
				t.Errorf("region %+v, want 万顺社区 in 永中街道", c.Region)
			}
			var again caseResp
			if code := do(t, "POST", app.URL+"/api/v1/cases", resident, body, &again, "Idempotency-Key", "abc-1"); code != 201 || again.ID != c.ID {
				t.Errorf("resend with the same key: %d, case %d, want %d", code, again.ID, c.ID)
			}
			// A case in another community (another street, even).
			lat2, lng2 := interior(t, app, "330303002")
			var other caseResp
			if code := do(t, "POST", app.URL+"/api/v1/cases", admin, map[string]any{"category": "ZL0601", "description": "x", "lat": lat2, "lng": lng2}, &other); code != 201 {
				t.Fatalf("second case: %d", code)
			}
			id := fmt.Sprint(other.ID)
			routes := []struct{ method, path string }{
				{"GET", "/api/v1/cases/" + id},
				{"GET", "/api/v1/cases/" + id + "/timeline"},
				{"POST", "/api/v1/cases/" + id + "/actions/accept"},
				{"GET", "/api/v1/cases/" + id + "/photos/1"},
			}
			for _, r := range routes {
				var e apiError
				if code := do(t, r.method, app.URL+r.path, community, map[string]any{}, &e); code != 404 {
					t.Errorf("community staff %s %s on another community's case: %d, want 404", r.method, r.path, code)
				}
			}
			if code, _ := upload(t, app.URL+"/api/v1/cases/"+id+"/photos", community, "a.jpg", jpegBytes(t), "before"); code != 404 {
				t.Errorf("photo upload to another community's case: %d, want 404", code)
			}
			// Listing stays in scope.
			var list struct {
				Cases []caseResp `json:"cases"`
			}
			do(t, "GET", app.URL+"/api/v1/cases", community, nil, &list)
			if len(list.Cases) != 1 || list.Cases[0].ID != c.ID {
				t.Errorf("community staff lists %d cases, want only their own community's", len(list.Cases))
			}
			do(t, "GET", app.URL+"/api/v1/cases?q=楼道", street, nil, &list)
			if len(list.Cases) != 1 {
				t.Errorf("street search for 楼道: %d cases, want 1", len(list.Cases))
			}
			// The reporter's phone is masked for staff.
			var seen caseResp
			do(t, "GET", app.URL+fmt.Sprintf("/api/v1/cases/%d", c.ID), community, nil, &seen)
			if seen.Reporter == nil || seen.Reporter.Phone != "137****5678" {
				t.Errorf("reporter phone for staff: %+v, want masked", seen.Reporter)
			}
			do(t, "GET", app.URL+fmt.Sprintf("/api/v1/cases/%d?unmask=1", c.ID), community, nil, &seen)
			if seen.Reporter == nil || seen.Reporter.Phone != "13712345678" {
				t.Errorf("unmasked phone for community staff: %+v", seen.Reporter)
			}
			var audit struct {
				Entries []struct{ Action, Target string } `json:"entries"`
			}
			do(t, "GET", app.URL+"/api/v1/audit?action=personal.unmask", admin, nil, &audit)
			if len(audit.Entries) != 1 || audit.Entries[0].Target != "case:"+c.Number {
				t.Errorf("unmask audit entries: %+v", audit.Entries)
			}
			// Photos: content, not extension, decides; size is limited.
			if code, b := upload(t, app.URL+fmt.Sprintf("/api/v1/cases/%d/photos", c.ID), resident, "photo.jpg", []byte("just text, renamed .jpg"), "before"); code != 422 || !strings.Contains(string(b), "photo") {
				t.Errorf("text renamed .jpg: %d %s", code, b)
			}
			big := append(jpegBytes(t), bytes.Repeat([]byte{0}, 30<<20)...)
			if code, b := upload(t, app.URL+fmt.Sprintf("/api/v1/cases/%d/photos", c.ID), resident, "big.jpg", big, "before"); code != 413 || !strings.Contains(string(b), "photo") {
				t.Errorf("30 MB photo: %d %.200s", code, b)
			}
			if code, b := upload(t, app.URL+fmt.Sprintf("/api/v1/cases/%d/photos", c.ID), resident, "ok.jpg", jpegBytes(t), "before"); code != 201 {
				t.Errorf("a real JPEG: %d %s", code, b)
			}
			// Bad submissions: 4xx with field messages, nothing written.
			bad := []struct {
				name  string
				body  map[string]any
				code  int
				field string
			}{
				{"missing category", map[string]any{"description": "x", "lat": lat, "lng": lng}, 422, "category"},
				{"unknown category", map[string]any{"category": "NOPE", "description": "x", "lat": lat, "lng": lng}, 422, "category"},
				{"latitude 999", map[string]any{"category": "ZL0601", "description": "x", "lat": 999, "lng": lng}, 422, "lat"},
				{"outside the district", map[string]any{"category": "ZL0601", "description": "x", "lat": 39.9, "lng": 116.4}, 422, "lat"},
				{"description of 100 KB", map[string]any{"category": "ZL0601", "description": strings.Repeat("a", 100<<10), "lat": lat, "lng": lng}, 422, "description"},
				{"latitude as text", map[string]any{"category": "ZL0601", "description": "x", "lat": "north", "lng": lng}, 422, "lat"},
			}
			for _, b := range bad {
				var e apiError
				if code := do(t, "POST", app.URL+"/api/v1/cases", resident, b.body, &e); code != b.code || e.Error.Fields[b.field] == "" {
					t.Errorf("%s: %d %+v, want %d with a message for %s", b.name, code, e.Error, b.code, b.field)
				}
			}
			var e apiError
			if code := do(t, "POST", app.URL+fmt.Sprintf("/api/v1/cases/%d/actions/fly", c.ID), community, map[string]any{}, &e); code != 422 || e.Error.Fields["action"] == "" {
				t.Errorf("unknown action: %d %+v", code, e.Error)
			}
			if code := do(t, "POST", app.URL+fmt.Sprintf("/api/v1/cases/%d/actions/rate", c.ID), community, map[string]any{"stars": 5}, &e); code != 409 || e.Error.Code != "illegal_transition" {
				t.Errorf("rating a submitted case: %d %+v", code, e.Error)
			}
			do(t, "GET", app.URL+"/api/v1/cases", admin, nil, &list)
			if len(list.Cases) != 2 {
				t.Errorf("%d cases after bad input, want 2", len(list.Cases))
			}
			// The resident sees the actions a reporter may take; staff see theirs.
			do(t, "GET", app.URL+fmt.Sprintf("/api/v1/cases/%d", c.ID), community, nil, &seen)
			acts := map[string]bool{}
			for _, a := range seen.Actions {
				acts[a.Action] = true
			}
			if !acts["accept"] || !acts["reject"] || acts["rate"] {
				t.Errorf("community staff's actions: %v", acts)
			}
		})
	}
}

func TestEventsStream(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	community := login(t, app, "demo-community")
	admin := login(t, app, "demo-admin")
	lines := openEvents(t, app, community)
	// A case elsewhere must not reach 万顺社区's staff; one inside must.
	lat2, lng2 := interior(t, app, "330303002")
	var outside, inside caseResp
	do(t, "POST", app.URL+"/api/v1/cases", admin, map[string]any{"category": "ZL0601", "description": "elsewhere", "lat": lat2, "lng": lng2}, &outside)
	lat, lng := interior(t, app, "330303001011001")
	do(t, "POST", app.URL+"/api/v1/cases", admin, map[string]any{"category": "ZL0601", "description": "here", "lat": lat, "lng": lng}, &inside)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream closed")
			}
			if !strings.HasPrefix(l, "data: ") {
				continue
			}
			var ev struct {
				CaseID   int64  `json:"case_id"`
				Action   string `json:"action"`
				Reporter *int64 `json:"reporter_id"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.CaseID == outside.ID {
				t.Fatalf("an event outside the caller's scope was streamed: %s", l)
			}
			if ev.Reporter != nil {
				t.Errorf("the stream leaks reporter ids: %s", l)
			}
			if ev.CaseID == inside.ID && ev.Action == "submit" {
				return
			}
		case <-deadline:
			t.Fatal("no event for the new case within 5 s")
		}
	}
}
