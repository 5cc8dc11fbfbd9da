package web

import (
	"net/http"
	"net/url"

	"whistle/internal/errs"
	"whistle/internal/visit"
)

// visitQueueTab is one tab of the staff visit queue: overdue or due.
type visitQueueTab struct {
	Key    string
	Count  int
	Active bool
	Href   string
}

// visitQueuePage is the staff queue of visits in scope.
type visitQueuePage struct {
	Tabs  []visitQueueTab
	Due   string
	Tasks []visit.Task
	// More says the list stopped at its limit: the count is the total.
	More bool
}

// visitQueueLimit is how many tasks the queue page lists.
const visitQueueLimit = 200

// visitTabs are the staff queue's visit tabs with their counts, for the
// visit queue page and the case queue page.
func visitTabs(c visit.Counts, active string) []visitQueueTab {
	tab := func(key string, n int) visitQueueTab {
		return visitQueueTab{Key: key, Count: n, Active: key == active, Href: "/visits/queue?" + url.Values{"due": {key}}.Encode()}
	}
	return []visitQueueTab{tab(visit.DueOverdue, c.Overdue), tab(visit.DueToday, c.Due)}
}

// pageVisitQueue is the staff queue of visits (走访): the overdue and the
// due tasks in the caller's scope (a grid worker's grid, a community
// worker's community …), earliest due first, read-only: the grid worker
// records them on the phone page. Outside the staff, or without a scope,
// it does not exist (404).
func (h *visitHandlers) pageVisitQueue(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	u := userOf(r)
	if !u.IsStaff() || visit.ScopeOf(u).Denies() {
		return errs.E(errs.NotFound, "error.not_found")
	}
	due := r.URL.Query().Get("due")
	if due == "" {
		due = visit.DueOverdue
	}
	if due != visit.DueOverdue && due != visit.DueToday {
		return errs.E(errs.Invalid, "error.invalid").Field("due", "visit.err.due")
	}
	c, err := st.Count(r.Context(), u, "")
	if err != nil {
		return err
	}
	ts, err := st.List(r.Context(), u, visit.Filter{Due: due, Limit: visitQueueLimit})
	if err != nil {
		return err
	}
	d := &visitQueuePage{Tabs: visitTabs(c, due), Due: due, Tasks: ts, More: len(ts) == visitQueueLimit}
	return h.render(w, r, http.StatusOK, "visit_queue.html", h.newPage(r, "visit.queue.title", d))
}
