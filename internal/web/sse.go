package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/bus"
	"whistle/internal/errs"
	"whistle/internal/sensing"
)

// sseEvent is the part of a bus message the stream needs to filter by scope.
type sseEvent struct {
	CaseID     int64  `json:"case_id"`
	RegionPath string `json:"region_path"`
	Department int64  `json:"department_id"`
	Reporter   int64  `json:"reporter_id"`
}

// inScope applies the same rule as account.Scope.Apply, to one event.
func inScope(sc account.Scope, e sseEvent) bool {
	if sc.Denies() {
		return false
	}
	if sc == account.SystemScope() {
		return true
	}
	return (sc.RegionPath != "" && strings.HasPrefix(e.RegionPath, sc.RegionPath)) ||
		(sc.DepartmentID != 0 && sc.DepartmentID == e.Department) ||
		(sc.UserID != 0 && sc.UserID == e.Reporter)
}

// eventsAPI streams case events in the caller's scope (Server-Sent
// Events).
type eventsAPI struct {
	*view
	Bus bus.Bus
}

// sseMessage is one event for the stream.
type sseMessage struct {
	event string
	data  []byte
}

// apiEvents streams committed case events and device-alarm steps within
// the caller's data scope as Server-Sent Events. Nothing is polled: the
// bus pushes.
func (s *eventsAPI) apiEvents(w http.ResponseWriter, r *http.Request) error {
	if s.Bus == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	rc := http.NewResponseController(w)
	scope := scopeOf(r)
	ch := make(chan sseMessage, 64)
	// The bus subjects forwarded and the SSE event name of each: the case
	// events, and the device alarms' steps (issue 17), which carry their
	// region path for the scope.
	streams := []struct{ subject, event string }{{"case.>", "case"}, {sensing.KindAlarm + ".>", "alarm"}}
	for _, st := range streams {
		unsub, err := s.Bus.Subscribe(st.subject, func(subject string, data []byte) {
			var e sseEvent
			if json.Unmarshal(data, &e) != nil || !inScope(scope, e) {
				return
			}
			// Strip fields the caller does not need (reporter ids).
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				delete(m, "reporter_id")
				m["subject"] = subject
				data, _ = json.Marshal(m)
			}
			select {
			case ch <- sseMessage{event: st.event, data: data}:
			default: // a slow client loses events rather than blocking the bus
			}
		})
		if err != nil {
			return err
		}
		defer unsub()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": connected\n\n")
	_ = rc.Flush()
	keepalive := time.NewTicker(25 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return nil
			}
		case m := <-ch:
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.event, m.data); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
