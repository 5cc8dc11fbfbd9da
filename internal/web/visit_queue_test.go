package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/worldtest"
)

// TestVisitQueuePages: overdue visits show in the staff queues. Grid A1
// has an overdue task and a due one, grid B1 an overdue one. The visit
// queue page and the case queue page's visit tabs count and list each
// caller's scope: the grid worker and the community worker of A see A's
// tasks only, the street worker both grids'; a resident and a department
// handler get 404 and no tabs.
func TestVisitQueuePages(t *testing.T) {
	users := []worldtest.User{
		{Name: "grid", Region: "330303001001001", Role: account.GridWorker}, {Name: "staff", Region: "330303001001", Role: account.CommunityStaff},
		{Name: "street", Region: "330303001", Role: account.StreetStaff}, {Name: "res", Region: "330303001001", Role: account.Resident},
		{Name: "cg-handler", Region: "330303", Role: account.DepartmentHandler, Department: "CG"},
	}
	v := newVisitWorld(t, users, []visitHouse{
		{grid: "330303001001001", lat: 27.005, lng: 120.005}, // A: overdue
		{grid: "330303001001001", lat: 27.006, lng: 120.006}, // A: due
		{grid: "330303001002001", lat: 27.005, lng: 120.015}, // B: overdue
	})
	v.exec(t, `UPDATE visit_tasks SET due_at = $1 WHERE id IN ($2, $3)`, "2000-01-01T00:00:00Z", v.tasks[0], v.tasks[2])
	count := regexp.MustCompile(`data-visit-queue="(\w+)">(\d+)<`)
	counts := func(body []byte) map[string]int {
		m := map[string]int{}
		for _, s := range count.FindAllStringSubmatch(string(body), -1) {
			m[s[1]], _ = strconv.Atoi(s[2])
		}
		return m
	}
	listed := func(body []byte) []string {
		var ids []string
		for _, s := range regexp.MustCompile(`data-visit-id="(\d+)"`).FindAllStringSubmatch(string(body), -1) {
			ids = append(ids, s[1])
		}
		return ids
	}
	id := func(i int) string { return strconv.FormatInt(v.tasks[i], 10) }
	for _, c := range []struct {
		who               string
		overdue, due      int
		listOver, listDue []string
	}{
		{"grid", 1, 1, []string{id(0)}, []string{id(1)}},
		{"staff", 1, 1, []string{id(0)}, []string{id(1)}},
		{"street", 2, 1, []string{id(0), id(2)}, []string{id(1)}},
	} {
		t.Run(c.who, func(t *testing.T) {
			code, body := v.fw.do(t, "GET", "/visits/queue", c.who, "", nil)
			if code != http.StatusOK {
				t.Fatalf("queue: %d %.300s", code, body)
			}
			if got := counts(body); got["overdue"] != c.overdue || got["today"] != c.due {
				t.Errorf("queue counts: got %v, want overdue %d and due %d", got, c.overdue, c.due)
			}
			if got := listed(body); strings.Join(got, ",") != strings.Join(c.listOver, ",") {
				t.Errorf("overdue list: got %v, want %v", got, c.listOver)
			}
			_, body = v.fw.do(t, "GET", "/visits/queue?due=today", c.who, "", nil)
			if got := listed(body); strings.Join(got, ",") != strings.Join(c.listDue, ",") {
				t.Errorf("due list: got %v, want %v", got, c.listDue)
			}
			code, body = v.fw.do(t, "GET", "/cases", c.who, "", nil)
			if code != http.StatusOK {
				t.Fatalf("cases: %d %.300s", code, body)
			}
			if got := counts(body); got["overdue"] != c.overdue || got["today"] != c.due {
				t.Errorf("case queue's visit tabs: got %v, want overdue %d and due %d", got, c.overdue, c.due)
			}
			if !strings.Contains(string(body), `href="/visits/queue?due=overdue"`) {
				t.Errorf("the case queue does not link the overdue visits")
			}
		})
	}
	for _, who := range []string{"res", "cg-handler"} {
		if code, body := v.fw.do(t, "GET", "/visits/queue", who, "", nil); code != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404 (%.200s)", who, code, body)
		}
	}
	if code, body := v.fw.do(t, "GET", "/cases", "cg-handler", "", nil); code != http.StatusOK || strings.Contains(string(body), "data-visit-queue") {
		t.Errorf("cg's case queue: %d, want 200 without visit tabs", code)
	}
	if code, _ := v.fw.do(t, "GET", "/visits/queue?due=soon", "staff", "", nil); code != http.StatusUnprocessableEntity && code != http.StatusBadRequest {
		t.Errorf("due=soon: got %d, want a 4xx", code)
	}
}
