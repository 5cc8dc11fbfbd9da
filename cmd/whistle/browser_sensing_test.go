package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistle/internal/simulate"
)

// TestBrowserSensing (issue 17's acceptance): an admin creates a rule on
// the rules page (a condition naming an unknown field is refused with
// the field named first), the simulator — over real MQTT, with the watch's
// own credentials — trips it with a fall, and the alarm appears on the
// big screen (panel and map layer) and, once the ladder's few seconds
// pass without acknowledgement, as a case in the grid worker's queue.
func TestBrowserSensing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := newBrowserSuite(t, 1366, 900, "--mqtt-port", strconv.Itoa(port), "--alarm-case-after", "3s", "--alarm-street-after", "1h")
	app := s.app
	admin := login(t, app, "demo-admin")

	// A resident of demo-grid's grid living alone, with a watch at the
	// grid's interior point; its credentials go in a devices file.
	var point struct{ Lat, Lng float64 }
	for _, g := range children(t, app, "330303001011") {
		if g.Code == demoGrid {
			point.Lat, point.Lng = g.P.Lat, g.P.Lng
		}
	}
	var person struct {
		ID int64 `json:"id"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/people", admin, map[string]any{"id_number": idNumber("33030319400101042"), "name": "独居老人",
		"status": "resident", "grid_code": demoGrid}, &person); code != 201 {
		t.Fatalf("register the resident: %d", code)
	}
	var watch struct {
		ID       int64  `json:"id"`
		District string `json:"district"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/devices", admin, map[string]any{"type": "smart_watch", "serial": "W-0001", "owner_kind": "person",
		"owner_id": person.ID, "lat": point.Lat, "lng": point.Lng}, &watch); code != 201 || watch.Password == "" {
		t.Fatalf("register the watch: %d %+v", code, watch)
	}
	file := filepath.Join(t.TempDir(), "devices.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := simulate.WriteDevices(f, []simulate.Device{{ID: watch.ID, Type: "smart_watch", District: watch.District, Username: watch.Username,
		Password: watch.Password, Scenario: simulate.Fall}}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// The admin adds the rule on the page: a typo first, named by the
	// message under the condition, then the rule.
	a := s.as(t, "demo-admin", 1366, 900)
	a.open("/admin/rules")
	a.do(chromedp.WaitVisible(chromedp.CSS("#r-name")), chromedp.SendKeys(chromedp.CSS("#r-name"), "跌倒告警"),
		chromedp.SetValue(chromedp.CSS("#r-kind"), "threshold"), chromedp.SetValue(chromedp.CSS("#r-type"), "smart_watch"),
		chromedp.SetValue(chromedp.CSS("#r-severity"), "critical"), chromedp.SendKeys(chromedp.CSS("#r-expr"), "fal"),
		chromedp.Click(chromedp.CSS("#rule-add button[type=submit]")))
	a.waitText(`[data-error-for="expr"]`, "fal 不是该类设备上报的字段")
	a.do(chromedp.SetValue(chromedp.CSS("#r-expr"), "fall"), chromedp.Click(chromedp.CSS("#rule-add button[type=submit]")))
	a.waitText("table.rules", "跌倒告警")
	a.shot("rules")
	axe := axeScript(t)
	if v := a.axe(axe); len(v) > 0 {
		t.Errorf("/admin/rules: %d serious or critical accessibility violations:\n  %s", len(v), strings.Join(v, "\n  "))
	}

	// The simulator publishes the watch's fall over MQTT.
	var out, errOut syncBuffer
	args := []string{"whistle", "simulate", "devices", "--devices", file, "--n", "1", "--rate", "2", "--onset", "0s", "--duration", "3s",
		"--mqtt-url", fmt.Sprintf("tcp://127.0.0.1:%d", port)}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut.String())
	}
	type alarm struct {
		ID       int64  `json:"id"`
		PersonID int64  `json:"person_id"`
		RuleName string `json:"rule_name"`
		CaseID   int64  `json:"case_id"`
	}
	find := func() *alarm {
		var list struct{ Alarms []alarm }
		do(t, "GET", app.URL+"/api/v1/alarms?status=active", admin, nil, &list)
		for _, x := range list.Alarms {
			if x.PersonID == person.ID {
				return &x
			}
		}
		return nil
	}
	var al *alarm
	for deadline := time.Now().Add(20 * time.Second); al == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no alarm of the fall; the simulator said:\n%s", out.String())
		}
		al = find()
	}
	if al.RuleName != "跌倒告警" {
		t.Errorf("the alarm's rule: %q", al.RuleName)
	}

	// The community's big screen shows it in the panel and on the map.
	leader := s.as(t, "demo-leader", 1920, 1080)
	leader.open("/screen/330303001011")
	leader.screenReady("330303001011")
	leader.waitText("#sc-alarms", "跌倒告警")
	leader.waitText("#sc-alarms", "紧急")
	if n := eval[int](leader, `document.querySelectorAll('#sc-alarms li[data-alarm="`+strconv.FormatInt(al.ID, 10)+`"]').length`); n != 1 {
		t.Errorf("the alarm is listed %d times on the screen", n)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if n := eval[int](leader, `Number(document.getElementById('sc-map').getAttribute('data-alarms'))`); n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the map's alarm layer shows nothing")
		}
	}
	if n := eval[int](leader, `(function(){var o=echarts.getInstanceByDom(document.getElementById('sc-map')).getOption();return o.series[2].data.length})()`); n < 1 {
		t.Errorf("the alarm layer's series has %d points", n)
	}
	// The layer switches off and on.
	leader.do(chromedp.Click(chromedp.CSS("#sc-alarm-layer")))
	if n := eval[int](leader, `(function(){var o=echarts.getInstanceByDom(document.getElementById('sc-map')).getOption();return o.series[2].data.length})()`); n != 0 {
		t.Errorf("with the layer off the map shows %d alarms", n)
	}
	leader.do(chromedp.Click(chromedp.CSS("#sc-alarm-layer")))
	leader.shot("screen-alarm")
	if v := leader.axe(axe); len(v) > 0 {
		t.Errorf("the screen with an alarm: %d serious or critical accessibility violations:\n  %s", len(v), strings.Join(v, "\n  "))
	}

	// Not acknowledged within 3 s, the alarm becomes a case, which the
	// grid worker finds in their queue; the screen links it.
	for deadline := time.Now().Add(30 * time.Second); al.CaseID == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ladder opened no case")
		}
		al = find()
	}
	var c struct {
		Number string `json:"number"`
	}
	if code := do(t, "GET", fmt.Sprintf("%s/api/v1/cases/%d", app.URL, al.CaseID), admin, nil, &c); code != 200 {
		t.Fatalf("the alarm's case: %d", code)
	}
	g := s.as(t, "demo-grid", 1366, 900)
	g.open("/cases?queue=pending")
	g.waitText("main", c.Number)
	g.shot("queue")
	// The case comes with a visit task (告警上门) in the grid worker's
	// visits, linked to the case.
	g.open("/visits/queue?due=today")
	g.waitText("#visit-queue", "告警上门")
	if href := eval[string](g, `(function(){var a=document.querySelector('#visit-queue a[href^="/cases/"]');return a?a.getAttribute('href'):''})()`); href != fmt.Sprintf("/cases/%d", al.CaseID) {
		t.Errorf("the follow-up visit links %q, want the alarm's case /cases/%d", href, al.CaseID)
	}
	g.shot("visit-followup")
	leader.waitText("#sc-alarms", "工单")
	if href := eval[string](leader, `(function(){var a=document.querySelector('#sc-alarms li[data-alarm="`+strconv.FormatInt(al.ID, 10)+`"] a');return a?a.getAttribute('href'):''})()`); href != fmt.Sprintf("/cases/%d", al.CaseID) {
		t.Errorf("the screen links the alarm to %q, want its case", href)
	}
	if !strings.Contains(out.String(), "1 connected, 0 refused") {
		t.Errorf("the simulator said:\n%s", out.String())
	}
}
