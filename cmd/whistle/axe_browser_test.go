package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeScript is axe-core from npm, copied by `make assets`; the app never
// serves it to a page, the test injects it.
func axeScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "web", "static", "vendor", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is missing (%v): run `make assets` first", err)
		}
		t.Skipf("axe-core is missing (%v): run `make assets` first", err)
	}
	return string(b)
}

// axeRun is the check: WCAG 2.1 A and AA rules, reporting the serious and
// critical violations with the elements they concern.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(function (r) {
	return r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; }).map(function (v) {
		return v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 4).map(function (n) { return n.target.join(' '); }).join(' | ');
	});
})`

// axe injects axe-core into the page on screen, once it has settled, and
// returns its serious and critical violations.
func (u *user) axe(src string) []string {
	u.t.Helper()
	time.Sleep(700 * time.Millisecond) // let scripts draw (maps, htmx swaps); not a timing assertion
	if _, err := chromedp.Run(u.ctx, chromedp.Evaluate[bool](src+";true")); err != nil {
		u.t.Fatalf("%s: inject axe-core: %v", u.name, err)
	}
	return eval[[]string](u, axeRun)
}

// accessibility runs axe-core on every resident page (home, report, public
// case, nearby, login, my) and the main staff pages (queue, case, inbox,
// admin users, screen), at phone and desktop sizes, and fails on any
// serious or critical violation, listing them.
func (s *browserSuite) accessibility(t *testing.T) {
	src := axeScript(t)
	resTok := login(t, s.app, "demo-resident")
	id, _ := s.submitInCommunity(t, resTok, "路灯不亮，晚上看不清路。")
	// The case must be public for its public page.
	if code := do(t, "POST", fmt.Sprintf("%s/api/v1/cases/%d/actions/accept", s.app.URL, id), login(t, s.app, "demo-community"), map[string]any{}, nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
	type pg struct{ who, path string }
	pages := []pg{
		{"", "/"}, {"", "/login"}, {"", "/report"}, {"", "/nearby"}, {"", fmt.Sprintf("/public/cases/%d", id)},
		{"demo-resident", "/"}, {"demo-resident", "/report"}, {"demo-resident", "/my"}, {"demo-resident", "/nearby"},
		{"demo-resident", fmt.Sprintf("/cases/%d", id)}, {"demo-resident", "/inbox"},
		{"demo-community", "/cases"}, {"demo-community", fmt.Sprintf("/cases/%d", id)}, {"demo-community", "/inbox"},
		{"demo-admin", "/admin/users"}, {"demo-leader", "/screen/330303"},
	}
	sizes := []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"desktop", 1366, 900}}
	users := map[string]*user{}
	for _, sz := range sizes {
		for _, p := range pages {
			key := sz.name + "/" + p.who
			u := users[key]
			if u == nil {
				if p.who == "" {
					u = s.visitor(t, sz.w, sz.h)
				} else {
					u = s.as(t, p.who, sz.w, sz.h)
				}
				users[key] = u
			}
			u.open(p.path)
			u.do(chromedp.WaitReady(chromedp.CSS("body")))
			if v := u.axe(src); len(v) > 0 {
				u.shot("axe")
				t.Errorf("%s %s as %q: %d serious or critical violations:\n  %s", sz.name, p.path, p.who, len(v), strings.Join(v, "\n  "))
			}
		}
	}
}

// visitor opens a browser context of width w without logging in.
func (s *browserSuite) visitor(t *testing.T, w, h int64) *user {
	t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	u := &user{s: s, t: t, name: "visitor", ctx: ctx}
	u.do(chromedp.EmulateViewport(w, h))
	return u
}
