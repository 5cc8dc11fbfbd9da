package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/demo"
	"whistle/internal/policy"
	"whistle/internal/region"
	"whistle/internal/registry"
)

// TestBrowserUnclaimed walks the 应享未享 page (issue 18) on the demo:
//   - the community worker opens 应享未享 from the section bar before any
//     eligibility run: the page says no run has been made, and the region
//     selector stands on her community;
//   - after a batch run (王奶奶, 86, local hukou, living alone, care level 2
//     and a phone on record, added in the demo grid) the list shows the
//     home-care subsidy with her masked name linking to her page, its grid
//     and since-date;
//   - 主动告知 queues her text: the report says 已排队 1 or more; a second
//     click queues none and says she was told before.
//
// The page does not overflow its window and axe-core finds nothing
// serious or critical. Screenshot docs/screenshots/benefit-unclaimed-1366.png
// (WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserUnclaimed(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	app := s.app
	ctx := context.Background()
	src := axeScript(t)

	c := s.as(t, "demo-community", 1366, 900)
	c.open("/")
	c.do(chromedp.Click(chromedp.CSS(`nav a[href="/benefits/unclaimed"]`)))
	c.waitText("#unclaimed-empty", "尚未进行资格测算")
	if got := eval[string](c, `document.getElementById('u-region').value`); got != demo.DemoCommunity {
		t.Errorf("the region selector stands on %q, want the worker's community %s", got, demo.DemoCommunity)
	}

	tok := login(t, app, "demo-grid")
	var p struct {
		ID int64 `json:"id"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/people", tok, map[string]any{"id_number": idNumber("33030319400101666"), "name": "王奶奶", "status": "resident",
		"grid_code": demo.DemoGrid, "phone": "13900001866"}, &p); code != http.StatusCreated {
		t.Fatalf("person: %d", code)
	}
	// Her verified facts, and the batch run, through a second connection
	// to the demo's database (the server runs no batch at start).
	d, err := db.Open(ctx, db.Config{DataDir: app.args[1]}, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	regions := region.NewStore(d)
	if err := regions.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	reg := registry.NewStore(registry.Deps{DB: d, Regions: regions})
	for k, v := range map[string]any{"hukou_local": true, "living_alone": true, "care_level": 2} {
		if err := reg.SetFact(ctx, account.SystemScope(), audit.System("browser test"), registry.FactPerson, p.ID,
			registry.FactInput{Key: k, Value: v, Verified: true, Source: "部门核对"}); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := policy.New(policy.Deps{DB: d, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}

	c.open("/benefits/unclaimed")
	group := `table[data-unclaimed-policy="home_care_subsidy"]`
	c.waitText(`h3[data-policy="home_care_subsidy"]`, "居家养老服务补贴")
	c.waitText(group, "王")
	if n := eval[int](c, `document.querySelectorAll('`+group+` a[href="/people/`+strconv.FormatInt(p.ID, 10)+`"]').length`); n != 1 {
		t.Errorf("her entry links to /people/%d %d times, want once", p.ID, n)
	}
	if got := c.text(group); strings.Contains(got, "王奶奶") {
		t.Errorf("the list shows her name unmasked: %q", got)
	}
	check := func(what string) {
		t.Helper()
		c.noOverflow(what)
		if v := c.axe(src); len(v) > 0 {
			c.shot("failure")
			t.Errorf("%s: axe-core: %s", what, strings.Join(v, "\n"))
		}
	}
	check("/benefits/unclaimed")

	// 主动告知, twice.
	c.do(chromedp.Click(chromedp.CSS("#unclaimed-notify")))
	c.waitText("#unclaimed-report", "已排队")
	if q := eval[int](c, `Number(document.getElementById('unclaimed-report').dataset.queued)`); q < 1 {
		t.Errorf("the first notice run queued %d, want at least her text (%q)", q, c.text("#unclaimed-report"))
	}
	c.docShot("notified", "benefit-unclaimed-1366.png")
	check("/benefits/unclaimed after 主动告知")
	eval[bool](c, `(function(){var b=document.getElementById('unclaimed-report');b.hidden=true;b.textContent='';return true})()`)
	c.do(chromedp.Click(chromedp.CSS("#unclaimed-notify")))
	c.waitText("#unclaimed-report", "此前已告知")
	if q, a := eval[int](c, `Number(document.getElementById('unclaimed-report').dataset.queued)`),
		eval[int](c, `Number(document.getElementById('unclaimed-report').dataset.already)`); q != 0 || a < 1 {
		t.Errorf("the second notice run: queued %d, told before %d; want 0 and at least 1 (%q)", q, a, c.text("#unclaimed-report"))
	}
}
