package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// pageBody GETs path with the client and returns the status and body.
func pageBody(t *testing.T, c *http.Client, url string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAnonymousReportPage: a visitor without a session gets the report
// form (no photo uploader, which needs an account, and a receipt block
// instead of the staff case page); a resident with a session gets the
// uploader and no receipt. A visitor's report with a phone number is
// filed and the number is masked in the staff view.
func TestAnonymousReportPage(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	c := browser(t)
	code, body := pageBody(t, c, app.URL+"/report")
	if code != 200 {
		t.Fatalf("GET /report without a session: got %d, want 200", code)
	}
	for _, want := range []string{`id="report-form"`, `data-receipt`, `name="phone"`, "/login?next=/report"} {
		if !strings.Contains(body, want) {
			t.Errorf("visitor's form lacks %q", want)
		}
	}
	if strings.Contains(body, "data-queue") {
		t.Error("visitor's form has the photo uploader, whose upload needs an account")
	}
	code, body = pageBody(t, c, app.URL+"/report", "Authorization", "Bearer "+login(t, app, "demo-resident"))
	if code != 200 || !strings.Contains(body, "data-queue") || strings.Contains(body, "data-receipt") {
		t.Errorf("resident's form: got %d, uploader %v, receipt %v; want 200, an uploader and no receipt",
			code, strings.Contains(body, "data-queue"), strings.Contains(body, "data-receipt"))
	}

	lat, lng := interior(t, app, demoGrid)
	var created struct {
		ID         int64  `json:"id"`
		Number     string `json:"number"`
		Visibility string `json:"visibility"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/cases", "", map[string]any{"category": "ZL0601", "description": "楼道灯坏了（游客）",
		"lat": lat, "lng": lng, "phone": "13912340001", "anonymous": true}, &created); code != 201 || created.Number == "" {
		t.Fatalf("anonymous report: got %d %+v, want 201 with a number", code, created)
	}
	var staff struct {
		Reporter struct {
			Phone string `json:"phone"`
		} `json:"reporter"`
	}
	admin := login(t, app, "demo-admin")
	if code := do(t, "GET", app.URL+"/api/v1/cases/"+strconv.FormatInt(created.ID, 10), admin, nil, &staff); code != 200 || staff.Reporter.Phone != "139****0001" {
		t.Errorf("staff view of the phone: got %d %q, want 200 139****0001", code, staff.Reporter.Phone)
	}
}
