package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"whistle/internal/account"
	"whistle/internal/bus"
	"whistle/internal/clock"
	"whistle/internal/device"
	"whistle/internal/errs"
)

// deviceHandlers serve the device registry and the gateways' telemetry
// (issue 17): the registry is scoped like the base data (device.ScopeOf,
// 404 outside), credentials are shown once (create, rotate), a revoke
// also closes the device's live MQTT connections, and POST
// /api/v1/telemetry takes batches from gateways with an API key.
type deviceHandlers struct {
	*view
	Devices *device.Store
	Ingest  *device.Ingester
	Bus     bus.Bus
	Keys    *account.Store
	Clock   clock.Clock
}

func (h *deviceHandlers) store() (*device.Store, error) {
	if h.Devices == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Devices, nil
}

func (h *deviceHandlers) apiList(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	ds, err := st.Devices(r.Context(), device.ScopeOf(userOf(r)), device.Filter{Type: q.Get("type"), Status: q.Get("status"), Grid: q.Get("grid"),
		AfterID: int64(after), Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
	return nil
}

func (h *deviceHandlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	return createWith(w, r, h.store, func(st *device.Store, nd device.NewDevice) (*device.Created, error) {
		return st.Create(r.Context(), device.ScopeOf(userOf(r)), nd)
	})
}

func (h *deviceHandlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := device.ScopeOf(userOf(r))
	d, err := st.Device(r.Context(), sc, id)
	if err != nil {
		return err
	}
	mal, err := st.Malformed(r.Context(), sc, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"device": d, "malformed": mal})
	return nil
}

func (h *deviceHandlers) apiAction(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := device.ScopeOf(userOf(r))
	switch r.PathValue("action") {
	case "rotate":
		c, err := st.Rotate(r.Context(), sc, id)
		if err != nil {
			return err
		}
		if h.Bus != nil {
			bus.Disconnect(h.Bus, c.Username) // the old password's sessions end too
		}
		writeJSON(w, http.StatusOK, c)
	case "revoke":
		d, err := st.Revoke(r.Context(), sc, id)
		if err != nil {
			return err
		}
		if h.Bus != nil {
			bus.Disconnect(h.Bus, d.Username)
		}
		writeJSON(w, http.StatusOK, d)
	default:
		if _, err := st.Device(r.Context(), sc, id); err != nil {
			return err
		}
		return errs.E(errs.Invalid, "error.invalid").Field("action", "device.err.action")
	}
	return nil
}

// apiKey is the gateway's API key: X-API-Key or Authorization: Bearer.
func apiKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); k != "" {
		return k
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// apiTelemetry takes a gateway's batch. The gateway authenticates with an
// API key; it may report for the devices in the key's region subtree, the
// others are refused as unknown. 201 when every reading was committed, 207
// with the per-item refusals otherwise (the accepted ones are committed);
// any 2xx means committed.
func (h *deviceHandlers) apiTelemetry(w http.ResponseWriter, r *http.Request) error {
	if h.Ingest == nil || h.Keys == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	key := apiKey(r)
	if key == "" {
		return errs.E(errs.Unauthorized, "device.err.api_key")
	}
	k, err := h.Keys.CheckAPIKey(r.Context(), key)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.E(errs.TooLarge, "error.too_large")
		}
		return errs.E(errs.Invalid, "error.bad_json", err.Error())
	}
	items, idx, refused, err := device.DecodeItems(body)
	if err != nil {
		return err
	}
	sc := k.Scope()
	res, err := h.Ingest.IngestItems(r.Context(), items, h.Clock.Now().UTC(), func(d *device.Device) bool { return sc.Covers(d.RegionPath) })
	if err != nil {
		return err
	}
	for i := range res.Refused {
		res.Refused[i].Index = idx[res.Refused[i].Index]
	}
	res.Refused = append(refused, res.Refused...)
	status := http.StatusCreated
	if len(res.Refused) > 0 {
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, res)
	return nil
}
