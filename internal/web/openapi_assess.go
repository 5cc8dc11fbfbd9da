package web

import "whistle/internal/account"

// assessOperations documents 考核 and the 经验库 (api_assess.go).
func assessOperations() []apiOp {
	auth := apiAuth{Session: true}
	unit := query("unit", "string", "Unit code: a street or community code, or a department code.", "单位编码：街道、社区编码或部门编码。")
	period := query("period", "string", "Period code: 2026, 2026-Q3 or 2026-11.", "考核周期编码：2026、2026-Q3 或 2026-11。")
	return []apiOp{
		{Method: "GET", Path: "/api/v1/assessment/periods", Tag: "assessment", Summary: "Assessment periods, newest first (staff)", SummaryZH: "考核周期列表，最新在前（工作人员）",
			Auth: auth, Result: "AssessPeriods"},
		{Method: "POST", Path: "/api/v1/assessment/periods", Tag: "assessment", Summary: "Open an assessment period (assessors)", SummaryZH: "新建考核周期（考核人员）",
			Auth: auth, Body: "AssessNewPeriod", Status: 201, Result: "AssessPeriod", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/assessment/periods/{period}/{step}", Tag: "assessment",
			Summary:   "compute the indicator items' scores, freeze the period (snapshot; then only appeals change scores) or publish it (with the benchmark figures)",
			SummaryZH: "计算指标项得分（compute）、冻结周期（freeze，快照，之后只有申诉能改分）或发布（publish，同时发布对标数据）", Auth: auth,
			Params: []apiParam{pathParam("period", "Period code.", "周期编码。"), pathParam("step", "compute, freeze or publish.", "compute、freeze 或 publish。")},
			Result: "AssessPeriod", Errors: []int{409}},
		{Method: "GET", Path: "/api/v1/assessment/items", Tag: "assessment", Summary: "The catalogue of scored items", SummaryZH: "考核项目录", Auth: auth,
			Params: []apiParam{query("type", "string", "street, community or department.", "street、community 或 department。")}, Result: "AssessItems"},
		{Method: "POST", Path: "/api/v1/assessment/items", Tag: "assessment", Summary: "Add a scored item (assessors)", SummaryZH: "新增考核项（考核人员）", Auth: auth,
			Body: "AssessNewItem", Status: 201, Result: "AssessItem", Errors: []int{409, 422}},
		{Method: "GET", Path: "/api/v1/assessment/scores", Tag: "assessment",
			Summary:   "A unit's scores in a period with their history, appeals, two-way ratings, rates, exclusions (无理诉求) and anti-gaming signals (the unit's staff and assessors)",
			SummaryZH: "单位本期得分及变更记录、申诉、双向评价、三率、剔除的无理诉求与防刷指标信号（本单位及考核人员）", Auth: auth,
			Params: []apiParam{unit, period}, Result: "AssessReport", Errors: []int{404}},
		{Method: "POST", Path: "/api/v1/assessment/scores", Tag: "assessment", Summary: "Score a manual item with evidence in an open period (assessors)",
			SummaryZH: "在未冻结的周期内为手工项打分并附依据（考核人员）", Auth: auth, Body: "AssessManualScore", Result: "AssessCard", Errors: []int{404, 409, 422}},
		{Method: "GET", Path: "/api/v1/assessment/league", Tag: "assessment", Summary: "League table of a unit type; before publication only the caller's own units",
			SummaryZH: "同类单位排名；发布前只含本人所属单位", Auth: auth,
			Params: []apiParam{query("type", "string", "street, community or department.", "street、community 或 department。"), period}, Result: "AssessLeague", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/assessment/board", Tag: "assessment",
			Summary:   "The big screen's 对标 panel: the units under a region node (a district's streets, a street's communities, a community itself) in the latest published period, with composite rank, rank range, trend, gap to the leader (标兵), the chaser's (追兵) distance and the assessment total; period null while none is published",
			SummaryZH: "大屏对标面板：最近一个已发布周期中该区域下的单位（区的街道、街道的社区、社区本身）及综合排名、名次区间、趋势、与标兵的差距、追兵的距离和考核得分；尚无发布周期时 period 为 null",
			Auth:      docPerm(account.PermStatsRead), Params: []apiParam{query("region", "string", "Region node code, in the caller's scope.", "区域编码，须在本人数据范围内。")},
			Result: "AssessBoard", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/assessment/appeals", Tag: "assessment", Summary: "Appeal an item's score with evidence (the unit's staff, after the freeze)",
			SummaryZH: "对某项得分提出申诉并附证据（本单位，冻结后）", Auth: auth, Body: "AssessNewAppeal", Status: 201, Result: "AssessAppeal", Errors: []int{404, 409, 422}},
		{Method: "POST", Path: "/api/v1/assessment/appeals/{id}/decision", Tag: "assessment", Summary: "Decide an appeal; upheld, the score changes and the history records it (assessors)",
			SummaryZH: "裁定申诉；支持则改分并记入变更记录（考核人员）", Auth: auth, Params: []apiParam{pathParam("id", "Appeal id.", "申诉 ID。")}, Body: "AssessDecision",
			Result: "AssessAppeal", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/assessment/ratings", Tag: "assessment",
			Summary:   "Two-way rating (街乡吹哨、部门报到): street staff rate the department a case was dispatched to, the department rates the street",
			SummaryZH: "双向评价：街道评价接单部门，部门评价街道的吹哨", Auth: auth, Body: "AssessNewRating", Status: 201, Result: "AssessRating", Errors: []int{404, 409, 422}},
		{Method: "POST", Path: "/api/v1/assessment/unreasonable", Tag: "assessment", Summary: "Mark a case unreasonable (无理诉求) with a reason (assessors)",
			SummaryZH: "标记无理诉求并说明理由（考核人员）", Auth: auth, Body: "AssessMarkIn", Status: 201, Result: "AssessMark", Errors: []int{404, 409, 422}},
		{Method: "POST", Path: "/api/v1/assessment/unreasonable/{case}/confirm", Tag: "assessment",
			Summary: "Confirm a mark: a second reviewer, not the marker; the case then leaves its units' rates", SummaryZH: "复核确认标记（须为标记人以外的第二位审核人），之后该案件不计入单位的各项比率",
			Auth: auth, Params: []apiParam{pathParam("case", "Case id.", "案件 ID。")}, Result: "AssessMark", Errors: []int{409}},
		{Method: "GET", Path: "/api/v1/assessment/learn", Tag: "assessment",
			Summary:   "For each weak point, the peers that improved most with their practices, and the study-tour plan (考察方案)",
			SummaryZH: "每个短板进步最大的同类单位及其经验做法，以及考察方案", Auth: auth, Params: []apiParam{unit, period}, Result: "AssessLearn", Errors: []int{404}},
		{Method: "GET", Path: "/api/v1/practices", Tag: "assessment", Summary: "Practice notes of the experience library (经验库)", SummaryZH: "经验库的经验做法", Auth: auth,
			Params: []apiParam{query("indicator", "string", "Indicator key.", "指标编码。"), query("unit", "string", "Unit code.", "单位编码。"),
				query("tag", "string", "Tag.", "标签。"), query("limit", "integer", "At most 200 (default 50).", "最多 200（默认 50）。")}, Result: "Practices", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/practices", Tag: "assessment", Summary: "Add a practice note of one's own unit (or any, for assessors)",
			SummaryZH: "新增本单位的经验做法（考核人员可为任一单位）", Auth: auth, Body: "NewPractice", Status: 201, Result: "Practice", Errors: []int{404, 422}},
	}
}

// assessSchemas are the JSON shapes of 考核.
func assessSchemas() map[string]any {
	period := map[string]any{"code": "string", "name": "string", "starts_on": "string", "ends_on": "string", "status": "string", "frozen_at": "string", "published_at": "string"}
	item := map[string]any{"id": "integer", "unit_type": "string", "code": "string", "name": "string", "kind": "string", "indicator": "string", "direction": "string",
		"target": "number", "points": "number", "rule": "string"}
	unit := obj(map[string]any{"type": "string", "code": "string", "name": "string"}, "type", "code")
	score := obj(map[string]any{"item": "#AssessItem", "value": "number", "score": "number", "frozen_score": "number", "evidence": "string", "source": "string"}, "item", "score")
	appeal := map[string]any{"id": "integer", "period": "string", "unit": "string", "item_id": "integer", "reason": "string", "evidence": "string", "status": "string",
		"filed_by": "integer", "filed_at": "string", "decided_by": "integer", "decided_at": "string", "decision_note": "string", "old_score": "number", "new_score": "number"}
	mark := map[string]any{"case_id": "integer", "case_number": "string", "street": "string", "department": "string", "reason": "string", "marked_by": "integer",
		"marked_at": "string", "confirmed_by": "integer", "confirmed_at": "string"}
	rating := map[string]any{"id": "integer", "period": "string", "case_id": "integer", "direction": "string", "street": "string", "department": "string", "score": "integer",
		"comment": "string", "rated_at": "string", "rated_by": "integer", "excluded": "boolean"}
	practice := map[string]any{"id": "integer", "title": "string", "body": "string", "tags": arrayOf("string"), "unit": "string", "indicators": arrayOf("string"),
		"period": "string", "attachments": arrayOf("string"), "created_by": "integer", "created_at": "string"}
	card := obj(map[string]any{"period": "#AssessPeriod", "unit": unit, "scores": arrayOf(score), "total": "number", "max": "number"}, "period", "unit", "scores", "total", "max")
	return map[string]any{
		"AssessPeriod":      obj(period, "code", "name", "status"),
		"AssessPeriods":     obj(map[string]any{"periods": arrayOf("#AssessPeriod")}, "periods"),
		"AssessNewPeriod":   obj(map[string]any{"code": "string", "name": "string", "starts_on": "string", "ends_on": "string"}, "code", "name", "starts_on", "ends_on"),
		"AssessItem":        obj(item, "id", "unit_type", "code", "name", "kind", "points"),
		"AssessItems":       obj(map[string]any{"items": arrayOf("#AssessItem")}, "items"),
		"AssessNewItem":     obj(item, "unit_type", "code", "name", "kind", "points"),
		"AssessCard":        card,
		"AssessManualScore": obj(map[string]any{"period": "string", "unit": "string", "item_id": "integer", "score": "number", "evidence": "string"}, "period", "unit", "item_id", "score", "evidence"),
		"AssessLeague": obj(map[string]any{"standings": arrayOf(obj(map[string]any{"rank": "integer", "unit": unit, "total": "number", "max": "number"},
			"rank", "unit", "total"))}, "standings"),
		"AssessBoard": obj(map[string]any{"period": "#AssessPeriod", "type": "string", "rows": arrayOf(obj(map[string]any{"unit": unit, "rank": "integer",
			"rank_range": arrayOf("integer"), "peers": "integer", "value": "number", "trend": "string", "leader": "string", "gap_to_leader": "number",
			"chaser": "string", "chaser_distance": "number", "chaser_trend": "string", "total": "number", "max": "number"}, "unit", "rank", "rank_range"))}, "period", "rows"),
		"AssessAppeal":    obj(appeal, "id", "period", "unit", "item_id", "status"),
		"AssessNewAppeal": obj(map[string]any{"period": "string", "unit": "string", "item_id": "integer", "reason": "string", "evidence": "string"}, "period", "unit", "item_id", "reason", "evidence"),
		"AssessDecision":  obj(map[string]any{"upheld": "boolean", "score": "number", "note": "string"}, "upheld", "note"),
		"AssessMark":      obj(mark, "case_id", "reason", "marked_by"),
		"AssessMarkIn":    obj(map[string]any{"case_id": "integer", "reason": "string"}, "case_id", "reason"),
		"AssessRating":    obj(rating, "id", "case_id", "direction", "score"),
		"AssessNewRating": obj(map[string]any{"period": "string", "case_id": "integer", "direction": "string", "score": "integer", "comment": "string"}, "period", "case_id", "direction", "score"),
		"AssessReport": obj(map[string]any{"card": card, "history": arrayOf(obj(map[string]any{"item_id": "integer", "old_score": "number", "new_score": "number",
			"cause": "string", "appeal_id": "integer", "at": "string"}, "item_id", "new_score")), "appeals": arrayOf("#AssessAppeal"),
			"ratings": obj(map[string]any{"unit": unit, "period": "string", "count": "integer", "mean": "number", "excluded_cases": arrayOf("integer"), "ratings": arrayOf("#AssessRating")}),
			"rates": obj(map[string]any{"cases": "integer", "closed": "integer", "rated": "integer", "satisfied": "integer", "satisfaction": "number", "resolution": "number",
				"excluded_cases": arrayOf("integer")}),
			"exclusions": arrayOf("#AssessMark"),
			"signals":    arrayOf(obj(map[string]any{"kind": "string", "count": "integer", "flagged": "boolean", "cases": arrayOf("integer"), "before": "integer"}, "kind", "flagged"))},
			"card", "history", "appeals", "exclusions", "signals"),
		"Practice":    obj(practice, "id", "title", "body"),
		"Practices":   obj(map[string]any{"practices": arrayOf("#Practice")}, "practices"),
		"NewPractice": obj(map[string]any{"title": "string", "body": "string", "tags": arrayOf("string"), "unit": "string", "indicators": arrayOf("string"), "period": "string", "attachments": arrayOf("string")}, "title", "body"),
		"AssessLearn": obj(map[string]any{"lessons": arrayOf(obj(map[string]any{"weak_point": obj(map[string]any{"indicator": "string", "rank": "integer",
			"rank_range": arrayOf("integer"), "peers": "integer", "percentile": "number", "trend": "string"}), "peers": arrayOf(obj(map[string]any{
			"peer": obj(map[string]any{"unit": "string", "name": "string", "change": "number", "value": "number"}), "practices": arrayOf("#Practice")}))})),
			"plan": obj(map[string]any{"unit": unit, "period": "string", "visits": arrayOf(obj(map[string]any{"unit": "string", "name": "string", "indicator": "string",
				"questions": arrayOf("string")}))})}, "lessons", "plan"),
	}
}
