package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// openEvents opens the caller's Server-Sent Events stream and returns its
// lines; the stream closes with the test.
func openEvents(t *testing.T, app *testApp, token string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest("GET", app.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

// TestAlarmEventsStream: a device alarm's steps reach the big screen's
// stream as "alarm" events for the callers whose scope covers the alarm,
// and nobody else's: 万顺社区's staff see the alarm of a watch in their
// grid raised, not the one in another street raised by the same batch.
func TestAlarmEventsStream(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	admin := login(t, app, "demo-admin")
	community := login(t, app, "demo-community")
	var key struct {
		Key string `json:"key"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/apikeys", admin, map[string]any{"name": "gateway"}, &key); code != 201 || key.Key == "" {
		t.Fatalf("an API key: %d %+v", code, key)
	}
	if code := do(t, "POST", app.URL+"/api/v1/rules", admin, map[string]any{"name": "心率过高", "kind": "threshold", "device_type": "smart_watch",
		"expr": "heart_rate > 150.0", "key_by": "person", "alarm_type": "heart_rate", "severity": "critical"}, nil); code != 201 {
		t.Fatalf("the rule: %d", code)
	}
	other := children(t, app, children(t, app, "330303002")[0].Code)[0]
	here := other
	for _, g := range children(t, app, "330303001011") {
		if g.Code == demoGrid {
			here = g
		}
	}
	watch := func(n int, grid string, lat, lng float64) int64 {
		var person, dev struct {
			ID int64 `json:"id"`
		}
		if code := do(t, "POST", app.URL+"/api/v1/people", admin, map[string]any{"id_number": idNumber(fmt.Sprintf("33030319400101%03d", n)),
			"name": "独居老人", "status": "resident", "grid_code": grid}, &person); code != 201 {
			t.Fatalf("a resident of %s: %d", grid, code)
		}
		if code := do(t, "POST", app.URL+"/api/v1/devices", admin, map[string]any{"type": "smart_watch", "serial": fmt.Sprintf("W-%04d", n),
			"owner_kind": "person", "owner_id": person.ID, "lat": lat, "lng": lng}, &dev); code != 201 {
			t.Fatalf("a watch in %s: %d", grid, code)
		}
		return dev.ID
	}
	if here.Code != demoGrid {
		t.Fatalf("no grid %s under 330303001011", demoGrid)
	}
	inside, outside := watch(1, demoGrid, here.P.Lat, here.P.Lng), watch(2, other.Code, other.P.Lat, other.P.Lng)
	lines := openEvents(t, app, community)

	body := fmt.Sprintf(`[{"device":%d,"values":{"heart_rate":170}},{"device":%d,"values":{"heart_rate":171}}]`, outside, inside)
	req, _ := http.NewRequest("POST", app.URL+"/api/v1/telemetry", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("telemetry: %d", resp.StatusCode)
	}

	// Both alarms are raised in one transaction; the stream shows the one
	// in scope, and nothing of the other until a second has passed.
	event, raised := "", map[string]bool{}
	deadline := time.After(10 * time.Second)
	var quiet <-chan time.Time
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream closed")
			}
			if e, ok := strings.CutPrefix(l, "event: "); ok {
				event = e
				continue
			}
			d, ok := strings.CutPrefix(l, "data: ")
			if !ok || event != "alarm" {
				continue
			}
			var ev struct {
				Action     string `json:"action"`
				RegionPath string `json:"region_path"`
				Data       struct {
					Device int64 `json:"device"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(d), &ev); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(ev.RegionPath, "/330303001011/") {
				t.Fatalf("万顺社区's staff got an alarm event at %s: %s", ev.RegionPath, d)
			}
			if ev.Action == "raise" {
				raised[fmt.Sprint(ev.Data.Device)] = true
				if quiet == nil {
					quiet = time.After(time.Second)
				}
			}
		case <-quiet:
			if !raised[fmt.Sprint(inside)] || raised[fmt.Sprint(outside)] {
				t.Fatalf("raised alarms seen for devices %v, want %d only", raised, inside)
			}
			// The other alarm was raised too: the stream left it out.
			var all struct {
				Alarms []struct {
					DeviceID int64 `json:"device_id"`
				} `json:"alarms"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/alarms?status=active", admin, nil, &all); code != 200 || len(all.Alarms) != 2 {
				t.Fatalf("active alarms: %d, %d of them, want 2", code, len(all.Alarms))
			}
			return
		case <-deadline:
			t.Fatalf("no alarm event within 10 s (raised: %v)", raised)
		}
	}
}
