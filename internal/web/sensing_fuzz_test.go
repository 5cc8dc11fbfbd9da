package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/device"
	"whistle/internal/idcode"
	"whistle/internal/notify"
	"whistle/internal/registry"
	"whistle/internal/sensing"
	"whistle/internal/worldtest"
)

// sensingWorld is OneStreet with its users, a resident of grid A1 and one
// of grid A2 (community B), a threshold rule on smart watches and the
// sensing service, served over HTTP.
type sensingWorld struct {
	fw   *fuzzWorld
	d    *db.DB
	svc  *sensing.Service
	wt   *worldtest.World
	rule *sensing.Rule
	// person is the resident of grid A1; other the one of community B.
	person, other int64
}

const (
	sensingGridA1 = "330303001001001"
	sensingGridB1 = "330303001002001"
)

func newSensingWorld(tb testing.TB) *sensingWorld {
	tb.Helper()
	ctx := context.Background()
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	users := worldtest.OneStreetUsers()
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"),
		Users: users, Logger: logger})
	svc, err := sensing.NewService(ctx, sensing.Deps{DB: d, Workflows: wt.Cases.WorkflowStore(), Cases: wt.Cases, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	s := &sensingWorld{d: d, svc: svc, wt: wt}
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions})
	for i, grid := range []string{sensingGridA1, sensingGridB1} {
		first := "330303" + "19400101" + strconv.Itoa(120+2*i)
		p, err := reg.AddPerson(ctx, account.SystemScope(), audit.Actor{Name: "test"}, registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)),
			Name: "张阿婆", Sex: "F", BirthDate: "1940-01-01", Status: "resident", GridCode: grid})
		if err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			s.person = p.ID
		} else {
			s.other = p.ID
		}
	}
	adm := sensing.Caller{User: wt.Users["admin"]}
	hr := "heart_rate > 150"
	if s.rule, err = svc.CreateRule(ctx, adm, sensing.RuleInput{Name: strPtr("心率过高"), Kind: strPtr("threshold"), DeviceType: strPtr("smart_watch"), Expr: &hr}); err != nil {
		tb.Fatal(err)
	}
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
		Cases: wt.Cases, Categories: wt.Categories, Sensing: svc, Logger: logger})
	s.fw = &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	for _, u := range users {
		tok, _, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		s.fw.tokens[u.Name], s.fw.csrf[u.Name] = tok, sess.CSRF
	}
	return s
}

func strPtr(v string) *string { return &v }

// alarm feeds a heart rate of 170 from watch dev of person (in grid) and
// returns the person's active alarm: a new one, or the open one counted
// again.
func (s *sensingWorld) alarm(tb testing.TB, dev, person int64, grid string) *sensing.Alarm {
	tb.Helper()
	ctx := context.Background()
	path := "/330303/330303001/" + grid[:12] + "/" + grid + "/"
	src := &sensing.Source{Device: dev, Type: "smart_watch", District: "330303", PersonID: person, GridCode: grid, RegionPath: path, Lat: 27.005, Lng: 120.005}
	if err := s.d.InTx(ctx, func(tx *db.Tx) error {
		return s.svc.Evaluate(ctx, tx, []sensing.Reading{{Source: src, TS: time.Now(), Values: map[string]float64{"heart_rate": 170}}})
	}); err != nil {
		tb.Fatal(err)
	}
	as, err := s.svc.Alarms(ctx, sensing.System(), sensing.AlarmFilter{Status: "active"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range as {
		if a.PersonID == person {
			return a
		}
	}
	tb.Fatalf("no active alarm of person %d", person)
	return nil
}

func (s *sensingWorld) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fuzzSensingCreate posts arbitrary JSON to a creating route as user: the
// answer is 201 or a translated 4xx, a refusal wrote no row of table and
// a 201 exactly one, which check inspects.
func fuzzSensingCreate(f *testing.F, path func(s *sensingWorld) string, user, table string, seeds []string, check func(t *testing.T, s *sensingWorld, raw []byte)) {
	for _, v := range append(seeds, `{}`, `null`, `[`, `{"x":1}`, `"s"`, `{"name":7}`) {
		f.Add([]byte(v), false)
	}
	s := newSensingWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		before := s.count(t, `SELECT COUNT(*) FROM `+table)
		code, raw := s.fw.do(t, "POST", path(s), user, "application/json", body, lang(en)...)
		created := apiAnswer(t, path(s), code, raw, http.StatusCreated)
		after := s.count(t, `SELECT COUNT(*) FROM `+table)
		switch {
		case created && after != before+1:
			t.Fatalf("201 but %s went %d -> %d", table, before, after)
		case !created && after != before:
			t.Fatalf("refused (%d) but %s went %d -> %d", code, table, before, after)
		}
		if created {
			check(t, s, raw)
		}
	})
}

// FuzzSensingRuleJSON: a stored rule has a name, a known kind and device
// type, and a condition exactly when its kind takes one, which compiles
// (the engine can evaluate it); the rule lists show it.
func FuzzSensingRuleJSON(f *testing.F) {
	fuzzSensingCreate(f, func(*sensingWorld) string { return "/api/v1/rules" }, "admin", "sensing_rules", []string{
		`{"name":"心率","kind":"threshold","device_type":"smart_watch","expr":"heart_rate > 150"}`,
		`{"name":"跌倒","kind":"repeat","device_type":"smart_watch","expr":"fall","count":3}`,
		`{"name":"失联","kind":"absence","device_type":"water_meter","seconds":43200,"key_by":"person"}`,
		`{"name":"少用水","kind":"low_use","device_type":"water_meter","field":"water_m3","limit":0.01,"seconds":43200}`,
		`{"name":"x","kind":"threshold","device_type":"smart_watch","expr":"pulse > 1"}`,
		`{"name":"x","kind":"threshold","device_type":"smart_watch","expr":"heart_rate > \"x\""}`,
		`{"name":"x","kind":"duration","device_type":"parking_sensor","expr":"state == \"occupied\"","seconds":480,"quiet_from":22,"quiet_to":6}`,
		`{"name":"x","kind":"baseline","device_type":"electricity_meter","field":"kwh","limit":1e400}`},
		func(t *testing.T, s *sensingWorld, raw []byte) {
			var r sensing.Rule
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			needExpr := r.Kind == sensing.KindThreshold || r.Kind == sensing.KindDuration || r.Kind == sensing.KindRepeat
			if strings.TrimSpace(r.Name) == "" || r.Version != 1 || needExpr != (r.Expr != "") || r.AlarmType == "" || r.Severity == "" {
				t.Fatalf("stored rule %+v", r)
			}
			if ps, err := device.LoadProfiles(); err != nil || ps[r.DeviceType] == nil {
				t.Fatalf("stored rule of the device type %q (%v)", r.DeviceType, err)
			}
			if r.QuietFrom < -1 || r.QuietFrom > 23 || r.QuietTo < -1 || r.QuietTo > 23 || (r.QuietFrom < 0) != (r.QuietTo < 0) {
				t.Fatalf("stored quiet hours %d–%d", r.QuietFrom, r.QuietTo)
			}
			// The engine reads every stored rule back (a condition that
			// did not compile would fail here).
			if err := s.svc.Reload(context.Background()); err != nil {
				t.Fatalf("reload with %+v: %v", r, err)
			}
		})
}

// FuzzSensingAwayJSON: community A's staff enter an away period; a stored
// one is of the resident of A1 (B's is out of scope) and ends after it
// starts.
func FuzzSensingAwayJSON(f *testing.F) {
	fuzzSensingCreate(f, func(*sensingWorld) string { return "/api/v1/away" }, "staff-a", "sensing_away", []string{
		`{"person_id":1,"from":"2026-11-23T08:00:00+08:00","to":"2026-11-30T08:00:00+08:00","note":"住院"}`,
		`{"person_id":2,"from":"2026-11-23T08:00:00+08:00","to":"2026-11-30T08:00:00+08:00"}`,
		`{"person_id":1,"from":"2026-11-30T08:00:00+08:00","to":"2026-11-23T08:00:00+08:00"}`,
		`{"person_id":1,"from":"yesterday","to":""}`},
		func(t *testing.T, s *sensingWorld, raw []byte) {
			var a sensing.Away
			if err := json.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			if a.PersonID != s.person || !a.To.After(a.From) {
				t.Fatalf("stored away period %+v", a)
			}
		})
}

// FuzzSensingContactJSON: a stored family contact is of the resident in
// scope, has a name, and the answer masks the phone.
func FuzzSensingContactJSON(f *testing.F) {
	fuzzSensingCreate(f, func(s *sensingWorld) string { return "/api/v1/people/" + strconv.FormatInt(s.person, 10) + "/contacts" }, "grid-a", "sensing_contacts",
		[]string{`{"name":"李女儿","phone":"13912345678","relation":"女儿"}`, `{"name":"","phone":"12"}`, `{"name":"x","phone":"+86 139 1234 5678"}`},
		func(t *testing.T, s *sensingWorld, raw []byte) {
			var c sensing.Contact
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			digits := 0
			for _, r := range c.Phone {
				if r >= '0' && r <= '9' {
					digits++
				}
			}
			if c.PersonID != s.person || strings.TrimSpace(c.Name) == "" || !strings.Contains(c.Phone, "*") || digits > 7 {
				t.Fatalf("stored contact %+v (the phone must be masked)", c)
			}
		})
}

// FuzzSensingAlarmAction: an action on the active alarm of A1's resident
// as the grid worker is 200 or a translated 4xx; a cleared alarm always
// has one of the closing reasons, an acknowledged one none, and a refusal
// changes nothing.
func FuzzSensingAlarmAction(f *testing.F) {
	for _, seed := range []struct{ action, body string }{{"clear", `{"reason":"false_alarm"}`}, {"clear", `{"reason":"away","note":"住院"}`},
		{"clear", `{}`}, {"clear", `{"reason":"bored"}`}, {"acknowledge", `{"note":"已电话联系"}`}, {"acknowledge", `{"version":99}`},
		{"open_case", `{}`}, {"escalate_street", `{}`}, {"x", `{"reason":7}`}, {"clear", `{"reason":"real","version":-1}`}} {
		f.Add(seed.action, []byte(seed.body), false)
	}
	s := newSensingWorld(f)
	f.Fuzz(func(t *testing.T, action string, body []byte, en bool) {
		if strings.ContainsAny(action, "/?#%") || action == "" || action == "." || action == ".." {
			t.Skip("not a path segment")
		}
		a := s.alarm(t, 1, s.person, sensingGridA1)
		path := "/api/v1/alarms/" + strconv.FormatInt(a.ID, 10) + "/actions/" + action
		code, raw := s.fw.do(t, "POST", path, "grid-a", "application/json", body, lang(en)...)
		done := apiAnswer(t, path, code, raw, http.StatusOK)
		after, err := s.svc.Alarm(context.Background(), sensing.System(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !done && (after.Status != a.Status || after.Version != a.Version):
			t.Fatalf("refused (%d) but the alarm went %s v%d -> %s v%d", code, a.Status, a.Version, after.Status, after.Version)
		case after.Status == "cleared" && !slices.Contains([]string{sensing.ReasonReal, sensing.ReasonFalseAlarm, sensing.ReasonAway}, after.Reason):
			t.Fatalf("cleared with the reason %q", after.Reason)
		case after.Status != "cleared" && after.Reason != "":
			t.Fatalf("%s with the reason %q", after.Status, after.Reason)
		case done && action != "clear" && action != "acknowledge":
			t.Fatalf("the grid worker took %q", action)
		}
		if after.Status == "acknowledged" {
			// Let the next input find an active alarm.
			if _, err := s.svc.Act(context.Background(), sensing.Caller{User: s.wt.Users["admin"]}, a.ID, "clear", sensing.AlarmInput{Reason: sensing.ReasonReal}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
