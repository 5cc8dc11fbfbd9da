package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"whistle/internal/account"
	"whistle/internal/device"
)

// plantDevices registers a water meter for each target's registry person.
func (f *authzFixture) plantDevices() {
	f.devices = map[target]int64{}
	for _, tg := range regTargets {
		c, err := f.w.devices.Create(context.Background(), account.SystemScope(), device.NewDevice{Type: "water_meter", Serial: f.unique("wm"),
			OwnerKind: device.OwnerPerson, OwnerID: f.reg.person[tg]})
		if err != nil {
			f.t.Fatalf("device %s: %v", tg, err)
		}
		f.devices[tg] = c.ID
	}
}

// deviceMatrix is the devices' expectations, merged into matrix: the
// registry's scope decides who sees a device or may register one for a
// person; gateways post telemetry with an API key, whoever calls.
func deviceMatrix() map[string]spec {
	dev := func(f *authzFixture, t target) string {
		return "/api/v1/devices/" + strconv.FormatInt(f.devices[t], 10)
	}
	return map[string]spec{
		"GET /api/v1/devices": {targets: []target{in}, sees: map[target][]who{in: seeRegIn}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/devices", nil, "")
		}},
		"POST /api/v1/devices": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/devices", map[string]any{"type": "smart_watch", "serial": f.unique("sw"), "owner_kind": "person",
				"owner_id": f.reg.person[t]})
		}},
		"GET /api/v1/devices/{id}": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", dev(f, t), nil, "")
		}},
		"POST /api/v1/devices/{id}/actions/{action}": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", dev(f, t)+"/actions/rotate", nil, "")
		}},
		"POST /api/v1/telemetry": {public: true, req: func(f *authzFixture, w who, t target) *http.Request {
			body := fmt.Sprintf(`[{"device":%d,"values":{"water_m3":0.01}}]`, f.devices[in])
			req := f.request(w, "POST", "/api/v1/telemetry", bytes.NewReader([]byte(body)), "application/json")
			req.Header.Set("X-API-Key", f.apiKey)
			return req
		}},
	}
}
