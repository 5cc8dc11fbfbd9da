package web

// sensingOperations documents the sensing routes (api_sensing.go).
func sensingOperations() []apiOp {
	auth := apiAuth{Session: true}
	rule := pathParam("id", "Rule id (numeric).", "规则 ID（数字）。")
	alarm := pathParam("id", "Alarm id (numeric).", "告警 ID（数字）。")
	return []apiOp{
		{Method: "GET", Path: "/api/v1/rules", Tag: "sensing", Summary: "Sensing rules, each with its false-alarm rate and its closed alarms per closing reason (administrators)",
			SummaryZH: "感知规则，各附误报率及按解除原因统计的已解除告警数（管理员）", Auth: auth, Result: "RuleList"},
		{Method: "POST", Path: "/api/v1/rules", Tag: "sensing", Summary: "Create a rule (administrators): a CEL condition over the device type's fields, type-checked at save; 422 names the reason",
			SummaryZH: "新建规则（管理员）：条件为针对设备类型字段的 CEL 表达式，保存时检查类型；不通过时 422 给出原因", Auth: auth, Body: "RuleInput", Status: 201, Result: "Rule", Errors: []int{422}},
		{Method: "PATCH", Path: "/api/v1/rules/{id}", Tag: "sensing", Summary: "Change or disable a rule (administrators; enabled false disables it)",
			SummaryZH: "修改或停用规则（管理员；enabled 为 false 即停用）", Auth: auth, Params: []apiParam{rule}, Body: "RuleInput", Result: "Rule", Errors: []int{409, 422}},
		{Method: "GET", Path: "/api/v1/alarms", Tag: "sensing", Summary: "Device alarms in the caller's scope, newest first",
			SummaryZH: "数据范围内的设备告警，新的在前", Auth: auth,
			Params: []apiParam{query("status", "string", "active, acknowledged or cleared.", "active、acknowledged 或 cleared。"),
				query("region", "string", "A region node's code: its subtree only (the big screen's node).", "区域编码：仅该区域及其下级（大屏所示区域）。"),
				query("limit", "integer", "At most 500 (default 200).", "最多 500（默认 200）。")},
			Result: "AlarmList", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/alarms/{id}", Tag: "sensing", Summary: "An alarm with its timeline (raise, family told, case, street, clearing)",
			SummaryZH: "告警及其时间线（产生、通知家属、转工单、上报街道、解除）", Auth: auth, Params: []apiParam{alarm}, Result: "AlarmDetail"},
		{Method: "POST", Path: "/api/v1/alarms/{id}/actions/{action}", Tag: "sensing", Summary: "acknowledge (stops the ladder) or clear with the required reason real, false_alarm or away (also spelt resident_away)",
			SummaryZH: "acknowledge（确认，停止逐级上报）或 clear（解除，须给出原因 real、false_alarm 或 away，亦作 resident_away）", Auth: auth,
			Params: []apiParam{alarm, pathParam("action", "acknowledge or clear.", "acknowledge 或 clear。")}, Body: "AlarmAction", Result: "Alarm", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/away", Tag: "sensing", Summary: "Record a period in which a person is away from home: their devices' alarms are suppressed (recorded, not raised)",
			SummaryZH: "登记人员外出（不在家）时段：其间设备告警只记录、不产生", Auth: auth, Body: "AwayInput", Status: 201, Result: "Away", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/people/{id}/contacts", Tag: "sensing", Summary: "Add a family contact of a person, told first when an alarm is raised (the answer masks the phone)",
			SummaryZH: "添加人员的家属联系人，告警时首先通知（应答中手机号打码）", Auth: auth,
			Params: []apiParam{pathParam("id", "Person id (numeric).", "人员 ID（数字）。")}, Body: "ContactInput", Status: 201, Result: "Contact", Errors: []int{422}},
	}
}

// sensingSchemas are the sensing JSON shapes.
func sensingSchemas() map[string]any {
	rule := map[string]any{"id": "integer", "name": "string", "kind": "string", "device_type": "string", "expr": "string", "field": "string", "limit": "number",
		"seconds": "integer", "count": "integer", "key_by": "string", "alarm_type": "string", "severity": "string", "quiet_from": "integer", "quiet_to": "integer",
		"enabled": "boolean", "version": "integer", "false_alarm_rate": "number", "closed": "integer", "closed_by_reason": obj(map[string]any{"real": "integer", "false_alarm": "integer", "resident_away": "integer"})}
	in := map[string]any{}
	for k, v := range rule {
		if k != "id" && k != "false_alarm_rate" && k != "closed" && k != "closed_by_reason" {
			in[k] = v
		}
	}
	alarm := map[string]any{"id": "integer", "rule_id": "integer", "type": "string", "severity": "string", "subject": "string", "device_id": "integer",
		"devices": arrayOf("integer"), "person_id": "integer", "house_id": "integer", "space_id": "integer", "district": "string", "grid": "string",
		"lat": "number", "lng": "number", "status": "string", "version": "integer", "count": "integer", "value": "number", "level": "integer",
		"case_id": "integer", "rule_name": "string", "grid_name": "string", "close_reason": "string", "first_at": "string", "last_at": "string", "closed_at": "string"}
	detail := map[string]any{"timeline": arrayOf("object")}
	for k, v := range alarm {
		detail[k] = v
	}
	return map[string]any{
		"Rule":         obj(rule, "id", "name", "kind", "device_type", "key_by", "alarm_type", "severity", "enabled", "version"),
		"RuleInput":    obj(in),
		"RuleList":     obj(map[string]any{"rules": arrayOf("#Rule")}, "rules"),
		"Alarm":        obj(alarm, "id", "type", "status", "count"),
		"AlarmDetail":  obj(detail, "id", "type", "status", "timeline"),
		"AlarmList":    obj(map[string]any{"alarms": arrayOf("#Alarm")}, "alarms"),
		"AlarmAction":  obj(map[string]any{"version": "integer", "note": "string", "reason": "string"}),
		"AwayInput":    obj(map[string]any{"person_id": "integer", "from": "string", "to": "string", "note": "string"}, "person_id", "from", "to"),
		"Away":         obj(map[string]any{"id": "integer", "person_id": "integer", "from": "string", "to": "string", "note": "string"}, "id", "person_id", "from", "to"),
		"ContactInput": obj(map[string]any{"name": "string", "phone": "string", "relation": "string"}, "name", "phone"),
		"Contact":      obj(map[string]any{"id": "integer", "person_id": "integer", "name": "string", "phone": "string", "relation": "string"}, "id", "person_id", "name", "phone"),
	}
}
