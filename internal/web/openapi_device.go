package web

// deviceOperations documents the sensing devices' routes (api_device.go).
func deviceOperations() []apiOp {
	auth := apiAuth{Session: true}
	dev := pathParam("id", "Device id (numeric).", "设备 ID（数字）。")
	return []apiOp{
		{Method: "GET", Path: "/api/v1/devices", Tag: "devices", Summary: "Devices in the caller's scope, by id", SummaryZH: "数据范围内的设备，按 ID 排序", Auth: auth,
			Params: []apiParam{query("type", "string", "Device type, e.g. water_meter.", "设备类型，如 water_meter。"), query("status", "string", "online, offline or retired.", "online、offline 或 retired。"),
				query("grid", "string", "Grid code.", "网格编码。"), query("after", "integer", "Only ids above this (paging).", "只列 ID 大于此值的设备（分页）。"),
				query("limit", "integer", "At most 1000 (default 200).", "最多 1000（默认 200）。")}, Result: "DeviceList", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/devices", Tag: "devices", Summary: "Register a device; the answer holds its MQTT user name and password, shown this once",
			SummaryZH: "登记设备；应答含其 MQTT 用户名和密码，仅此一次显示", Auth: auth, Body: "NewDevice", Status: 201, Result: "DeviceCredentials", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/devices/{id}", Tag: "devices", Summary: "A device in scope, with its malformed-message counters per reason",
			SummaryZH: "数据范围内的设备及其按原因统计的异常报文数", Auth: auth, Params: []apiParam{dev}, Result: "DeviceDetail"},
		{Method: "POST", Path: "/api/v1/devices/{id}/actions/{action}", Tag: "devices", Summary: "rotate (a new password, shown once) or revoke (no more connections; live ones are closed)",
			SummaryZH: "rotate（更换密码，仅显示一次）或 revoke（吊销：不再允许连接，断开现有连接）", Auth: auth,
			Params: []apiParam{dev, {Name: "action", In: "path", Required: true, Enum: []string{"rotate", "revoke"}, Desc: "The action.", DescZH: "操作。"}},
			Result: "DeviceCredentials", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/telemetry", Tag: "devices", Summary: "A gateway's batch of readings (API key in X-API-Key or Authorization: Bearer; devices of the key's region only); 201 all committed, 207 with per-item refusals (the others committed)",
			SummaryZH: "网关批量上报读数（API 密钥置于 X-API-Key 或 Authorization: Bearer；仅限密钥区域内的设备）；201 全部入库，207 附逐条拒收原因（其余已入库）",
			Auth:      apiAuth{APIKey: true}, Params: []apiParam{{Name: "X-API-Key", In: "header", Desc: "The gateway's API key.", DescZH: "网关的 API 密钥。"}},
			Body: "TelemetryBatch", Status: 201, Result: "TelemetryResult", Errors: []int{401, 413, 422}},
	}
}

// deviceSchemas are the devices' JSON shapes.
func deviceSchemas() map[string]any {
	dev := map[string]any{"id": "integer", "district": "string", "type": "string", "model": "string", "serial": "string", "owner_kind": "string", "owner_id": "integer",
		"person_id": "integer", "house_id": "integer", "grid_code": "string", "lat": "number", "lng": "number", "installed_on": "string", "status": "string",
		"last_seen": "string", "battery": "number", "username": "string", "revoked": "boolean", "created_at": "string"}
	withPw := map[string]any{"password": "string"}
	for k, v := range dev {
		withPw[k] = v
	}
	return map[string]any{
		"Device":            obj(dev, "id", "type", "serial", "owner_kind", "owner_id", "grid_code", "status", "username"),
		"DeviceList":        obj(map[string]any{"devices": arrayOf("#Device")}, "devices"),
		"DeviceDetail":      obj(map[string]any{"device": "#Device", "malformed": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "integer"}}}, "device", "malformed"),
		"DeviceCredentials": obj(withPw, "id", "username"),
		"NewDevice": obj(map[string]any{"type": "string", "model": "string", "serial": "string", "owner_kind": "string", "owner_id": "integer", "lat": "number",
			"lng": "number", "installed_on": "string"}, "type", "serial", "owner_kind", "owner_id"),
		"TelemetryBatch": arrayOf(obj(map[string]any{"device": "integer", "ts": "string", "values": map[string]any{"type": "object"}}, "device", "values")),
		"TelemetryResult": obj(map[string]any{"accepted": "integer", "duplicates": "integer",
			"refused": arrayOf(obj(map[string]any{"index": "integer", "device": "integer", "reason": "string"}, "index", "reason"))}, "accepted"),
	}
}
