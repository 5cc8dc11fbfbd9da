package web

import "whistle/internal/account"

// benchmarkOperations documents 对标's routes (api_benchmark.go).
func benchmarkOperations() []apiOp {
	read := docPerm(account.PermStatsRead)
	unit := query("unit", "string", "Unit (region code).", "单位（区域编码）。")
	period := query("period", "string", "Period: 2026-11, 2026-Q3 or 2026.", "期间：2026-11、2026-Q3 或 2026。")
	group := query("group", "string", "Peers: level (default), similar, or a hand-picked group's id.", "对标组：level（同级，默认）、similar（相似单位）或自选组编号。")
	on := query("on", "string", "With group=similar: the context variables, indicator keys separated by commas (default population,area_km2,elderly_share; at most 8). "+
		"Each is z-scored over the units of the unit's level in its district, using each unit's latest value at or before the period; units lacking one are left out, and the unit itself lacking one is a 422.",
		"group=similar 时的背景变量：以逗号分隔的指标代码（默认 population,area_km2,elderly_share，最多 8 个）。各变量取各单位在该期间及以前的最新值，在全区同级单位中标准化（z 分数）；缺少任一变量的单位不参与，本单位缺少时返回 422。")
	k := query("k", "integer", "With group=similar: the group's size, the unit itself included, 1 to 50 (default 10); the nearest by Euclidean distance, ties by code.",
		"group=similar 时对标组的单位数（含本单位），1 到 50（默认 10）；按欧氏距离取最近者，距离相同按编码。")
	return []apiOp{
		{Method: "GET", Path: "/api/v1/indicators", Tag: "benchmark", Summary: "Indicators for benchmarking: key, name, unit, direction, source, definition version",
			SummaryZH: "对标指标：代码、名称、单位、方向、来源、口径版本", Auth: read, Result: "BenchmarkIndicatorList"},
		{Method: "POST", Path: "/api/v1/indicators", Tag: "benchmark", Summary: "Declare an imported indicator (a changed definition starts a new series)",
			SummaryZH: "声明导入指标（口径变更即开始新序列）", Auth: docPerm(account.PermIndicatorWrite), Body: "IndicatorDecl", Status: 201,
			Result: "BenchmarkIndicator", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/indicators/values", Tag: "benchmark",
			Summary:   "Import indicator values from a CSV file or an .xlsx workbook (columns indicator,unit_code,period,value, as whistle import indicators), with indicators not yet known declared in the form's second file (indicators): all or nothing. ?dry_run=1 checks only (200); bad rows: 422 with each row's error (row, column, reason and the localised line 'row N: column: reason'); at most 8 MiB",
			SummaryZH: "从 CSV 或 .xlsx 导入指标值（列 indicator、unit_code、period、value，与 whistle import indicators 相同），尚未声明的指标可在表单第二个文件 indicators 中声明：全部导入或全不导入。?dry_run=1 只校验（200）；有误的行返回 422 并逐行给出行号、列、原因及本地化的“第 N 行：列：原因”；最大 8 MiB",
			Auth:      docPerm(account.PermIndicatorWrite), Params: []apiParam{query("dry_run", "string", "1 checks only (200).", "为 1 时只校验（200）。")},
			Body: "IndicatorFile", Status: 201, Result: "IndicatorImport", Errors: []int{400, 413, 422}},
		{Method: "GET", Path: "/api/v1/benchmark", Tag: "benchmark", Summary: "A unit's standing among its peers on one indicator (or composite): rank, rank range, leader, gaps, chaser, trends, weak points, suggested peers",
			SummaryZH: "单位在对标组中的位置：排名、排名区间、标兵及差距、追兵及距离、趋势、短板与可学习单位", Auth: read,
			Params: []apiParam{unit, query("indicator", "string", "Indicator key, or composite.", "指标代码，或 composite（综合）。"), period, group, on, k,
				query("window", "integer", "Periods of the trends (default 6).", "趋势的期间数（默认 6）。")},
			Result: "BenchmarkAnalysis", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/benchmark/weak-points", Tag: "benchmark", Summary: "A unit's weak points (短板) and strengths in a period, with the peers that improved most",
			SummaryZH: "单位某期的短板与优势，以及进步最大的同级单位", Auth: read, Params: []apiParam{unit, period}, Result: "WeakPoints", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/benchmark/peers", Tag: "benchmark", Summary: "A unit's peer group; for group=similar its nearest neighbours, each with its distance and context values",
			SummaryZH: "单位的对标组；group=similar 时为最相似的单位，附距离与背景变量值", Auth: read,
			Params: []apiParam{unit, group, query("period", "string", "With group=similar (required): the period of the context values, 2026-11, 2026-Q3 or 2026.",
				"group=similar 时必填：背景变量取值的期间，2026-11、2026-Q3 或 2026。"), on, k}, Result: "PeerList", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/benchmark/groups", Tag: "benchmark", Summary: "Create a hand-picked peer group", SummaryZH: "新建自选对标组", Auth: read,
			Body: "PeerGroupInput", Status: 201, Result: "PeerGroup", Errors: []int{403, 422}},
		{Method: "GET", Path: "/api/v1/benchmark/groups/{id}", Tag: "benchmark", Summary: "A hand-picked peer group", SummaryZH: "自选对标组", Auth: read,
			Params: []apiParam{pathParam("id", "Group id (numeric).", "对标组 ID（数字）。")}, Result: "PeerGroup", Errors: []int{404}},
	}
}

// benchmarkSchemas are 对标's JSON shapes.
func benchmarkSchemas() map[string]any {
	text := obj(map[string]any{"zh": "string", "en": "string"}, "zh", "en")
	point := obj(map[string]any{"unit": "string", "value": "number"}, "unit", "value")
	suggestion := obj(map[string]any{"unit": "string", "from_period": "string", "from": "number", "to": "number", "improvement": "number"}, "unit", "improvement")
	weak := obj(map[string]any{"indicator": "string", "rank": "integer", "peers": "integer", "percentile": "number", "overall": "number",
		"suggested_peers": arrayOf(suggestion)}, "indicator", "rank", "peers", "percentile", "overall", "suggested_peers")
	return map[string]any{
		"BenchmarkIndicator": obj(map[string]any{"key": "string", "name": text, "unit": "string", "direction": "string", "source": "string",
			"definition_version": "integer", "definition": text, "context": "boolean"}, "key", "name", "unit", "direction", "source", "definition_version", "context"),
		"IndicatorFile": obj(map[string]any{"file": map[string]any{"type": "string", "contentMediaType": "text/csv"},
			"indicators": map[string]any{"type": "string", "contentMediaType": "text/csv"}}, "file"),
		"IndicatorImport": obj(map[string]any{"dry_run": "boolean", "committed": "boolean",
			"report": obj(map[string]any{"values": "integer", "declared": arrayOf("#BenchmarkIndicator"), "new": "integer", "changed": "integer"}, "values"),
			"errors": arrayOf(obj(map[string]any{"file": "string", "row": "integer", "column": "string", "reason": "string", "message": "string"}, "row", "column", "reason", "message")),
			"count":  "integer", "summary": "string"}, "dry_run", "committed", "errors"),
		"BenchmarkIndicatorList": obj(map[string]any{"indicators": arrayOf("#BenchmarkIndicator")}, "indicators"),
		"IndicatorDecl": obj(map[string]any{"key": "string", "name": "string", "name_en": "string", "unit": "string", "direction": "string",
			"definition": "string", "definition_en": "string", "source": "string", "context": "boolean"}, "key", "name", "unit", "direction"),
		"BenchmarkAnalysis": obj(map[string]any{"unit": "string", "indicator": "string", "period": "string", "value": "number", "rank": "integer",
			"rank_range": arrayOf("integer"), "median_rank": "number", "peers": "integer", "percentile": "number", "leader": point, "gap_to_leader": "number",
			"above": point, "gap_to_above": "number", "chaser": point, "chaser_distance": "number", "trend": "string", "chaser_trend": "string",
			"dtf": "number", "crosses_definition_change": "boolean", "cannot_tell_apart": arrayOf("string"), "suggested_peers": arrayOf(suggestion),
			"published": "boolean", "weak_points": arrayOf(weak)},
			"unit", "indicator", "period", "rank", "rank_range", "peers", "trend", "weak_points", "suggested_peers"),
		"WeakPoints": obj(map[string]any{"unit": "string", "period": "string", "weak_points": arrayOf(weak), "strengths": arrayOf(weak)},
			"unit", "period", "weak_points", "strengths"),
		"PeerList": obj(map[string]any{"unit": "string", "group": "string", "peers": arrayOf("string"), "period": "string", "on": arrayOf("string"),
			"k": "integer", "candidates": "integer", "names": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			"neighbours": arrayOf(obj(map[string]any{"unit": "string", "name": "string", "distance": "number",
				"values":  map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "number"}},
				"periods": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}, "unit", "distance", "values", "periods"))}, "unit", "group", "peers"),
		"PeerGroupInput": obj(map[string]any{"name": "string", "units": arrayOf("string")}, "name", "units"),
		"PeerGroup":      obj(map[string]any{"id": "integer", "name": "string", "units": arrayOf("string")}, "id", "name", "units"),
	}
}
