package web

// visitOperations documents the visits' routes (api_visit.go).
func visitOperations() []apiOp {
	auth := apiAuth{Session: true}
	person := pathParam("id", "Person id (numeric).", "人员 ID（数字）。")
	return []apiOp{
		{Method: "GET", Path: "/api/v1/visits", Tag: "visits", Summary: "Open visit tasks in the caller's scope, due today or overdue; with lat and lng in walking order (a route from there: nearest-neighbour chain improved by 2-opt, walking distance estimated as Manhattan on the local plane; walk_m is the distance walked to each stop, distance_m the straight line)",
			SummaryZH: "数据范围内待走访（today）或逾期（overdue）的任务；给出 lat、lng 时按步行路线排序（近邻链经 2-opt 优化，步行距离按本地平面上的东西向加南北向距离估算；walk_m 为到该站的累计步行距离，distance_m 为直线距离）", Auth: auth,
			Params: []apiParam{query("due", "string", "today or overdue.", "today 或 overdue。"), query("lat", "number", "Latitude (WGS-84) of the caller.", "当前位置纬度（WGS-84）。"),
				query("lng", "number", "Longitude (WGS-84) of the caller.", "当前位置经度（WGS-84）。"), query("grid", "string", "Grid code.", "网格编码。"),
				query("limit", "integer", "At most 500 (default 200).", "最多 500（默认 200）。")}, Result: "VisitList", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/visits/count", Tag: "visits", Summary: "Open visit tasks in the caller's scope: due and overdue", SummaryZH: "数据范围内待走访与逾期任务数",
			Auth: auth, Params: []apiParam{query("region", "string", "A region node in scope (the big screen's node on view).", "数据范围内的区域节点（大屏当前节点）。")},
			Result: "VisitCounts", Errors: []int{404}},
		{Method: "POST", Path: "/api/v1/visits/{id}/record", Tag: "visits", Summary: "Record a visit (grid workers): position within --visit-max-distance of the house or a reason; a problem opens a linked case",
			SummaryZH: "记录走访（网格员）：位置须在住户 --visit-max-distance 米内，否则须填写原因；发现问题时一并上报案件并关联", Auth: auth,
			Params: []apiParam{pathParam("id", "Visit task id (numeric).", "走访任务 ID（数字）。")}, Body: "VisitRecord", Result: "Visit", Errors: []int{403, 404, 409, 422}},
		{Method: "POST", Path: "/api/v1/visits/{id}/photos", Tag: "visits", Summary: "Upload a photo (multipart field photo, JPEG or PNG) for a visit; its key goes in the record's photos",
			SummaryZH: "上传走访照片（multipart 字段 photo，JPEG 或 PNG）；返回的 key 填入记录的 photos", Auth: auth,
			Params: []apiParam{pathParam("id", "Visit task id (numeric).", "走访任务 ID（数字）。")}, Body: "PhotoUpload", Status: 201, Result: "VisitPhoto", Errors: []int{403, 404, 409, 413, 422}},
		{Method: "GET", Path: "/api/v1/visits/{id}/photos/{name}", Tag: "visits", Summary: "A photo of a recorded visit (one its record names), for the staff whose scope covers it; EXIF removed at upload",
			SummaryZH: "已记录走访的照片（记录中列出的照片），供管辖范围内的人员查看；上传时已去除 EXIF", Auth: auth,
			Params: []apiParam{pathParam("id", "Visit task id (numeric).", "走访任务 ID（数字）。"), pathParam("name", "The photo's name: the last segment of its key.", "照片名：其 key 的最后一段。")},
			Media:  mediaImage, Errors: []int{404}},
		{Method: "POST", Path: "/api/v1/people/{id}/groups", Tag: "visits", Summary: "Put a person in a group (plans their visit task of this period)", SummaryZH: "将人员加入人群类别（生成本期走访任务）",
			Auth: auth, Params: []apiParam{person}, Body: "GroupJoin", Status: 201, Result: "GroupMembership", Errors: []int{404, 422}},
		{Method: "DELETE", Path: "/api/v1/people/{id}/groups/{group}", Tag: "visits", Summary: "Take a person out of a group (cancels their open visit tasks of it)", SummaryZH: "将人员移出人群类别（取消其未完成的走访任务）",
			Auth: auth, Params: []apiParam{person, pathParam("group", "Group code.", "人群类别代码。")}, Status: 204, Errors: []int{404}},
	}
}

// visitSchemas are the visits' JSON shapes.
func visitSchemas() map[string]any {
	visit := map[string]any{"id": "integer", "person_id": "integer", "person_name": "string", "group": "string", "grid": "string", "period_start": "string",
		"due_on": "string", "due_at": "string", "status": "string", "overdue": "boolean", "address": "string", "house_lat": "number", "house_lng": "number",
		"distance_m": "number", "stop": "integer", "walk_m": "number", "visited_at": "string", "far": "boolean", "reason": "string", "notes": "string", "photos": arrayOf("string"), "case_id": "integer",
		"origin": "string", "origin_case_id": "integer", "brief": "string"}
	return map[string]any{
		"Visit":       obj(visit, "id", "person_id", "group", "due_on", "status", "overdue"),
		"VisitList":   obj(map[string]any{"visits": arrayOf("#Visit"), "distance": "string", "order": "string", "walk": "string"}, "visits", "distance", "order"),
		"VisitCounts": obj(map[string]any{"due": "integer", "overdue": "integer"}, "due", "overdue"),
		"VisitRecord": obj(map[string]any{"at": "string", "lat": "number", "lng": "number", "notes": "string", "reason": "string", "photos": arrayOf("string"),
			"problem": obj(map[string]any{"category": "string", "description": "string"}, "category", "description")}, "lat", "lng"),
		"VisitPhoto":      obj(map[string]any{"key": "string"}, "key"),
		"GroupJoin":       obj(map[string]any{"group": "string", "note": "string"}, "group"),
		"GroupMembership": obj(map[string]any{"person_id": "integer", "group": "string"}, "person_id", "group"),
	}
}
