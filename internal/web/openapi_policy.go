package web

// policyOperations documents eligibility's routes (api_policy.go).
func policyOperations() []apiOp {
	auth := apiAuth{Session: true}
	key := pathParam("id", "Policy key, e.g. elderly_allowance.", "政策编号，如 elderly_allowance。")
	date := query("date", "string", "The date to answer as of (YYYY-MM-DD; default today).", "测算日期（YYYY-MM-DD，默认今天）。")
	subject := func(what, whatZH string) []apiParam {
		return []apiParam{pathParam("id", what+" id (numeric).", whatZH+" ID（数字）。"), date}
	}
	unmask := query("unmask", "string", "1 to see the facts' values in the clear (staff allowed to unmask; audited); otherwise they are ***.",
		"为 1 时明文显示事实取值（有脱敏查看权限的工作人员，留痕）；否则显示 ***。")
	return []apiOp{
		{Method: "GET", Path: "/api/v1/policies", Tag: "eligibility", Summary: "Benefit policies with their dated versions and conditions", SummaryZH: "惠民惠企政策及其各版本与条件",
			Auth: auth, Params: []apiParam{query("kind", "string", "resident or enterprise.", "resident 或 enterprise。")}, Result: "PolicyList", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/policies", Tag: "eligibility", Summary: "Save a draft as the policy's next version (department handlers, admins); refused with each condition and reason",
			SummaryZH: "保存政策草稿为新版本（职能部门、管理员）；有误时逐条指出条件与原因", Auth: auth, Body: "PolicyDraft", Status: 201, Result: "PolicyVersion", Errors: []int{403, 409, 422}},
		{Method: "POST", Path: "/api/v1/policies/validate", Tag: "eligibility", Summary: "Check a draft: unknown fields, type errors, the rule", SummaryZH: "校验草稿：未知字段、类型错误、组合规则",
			Auth: auth, Body: "PolicyDraft", Result: "PolicyProblems", Errors: []int{403, 422}},
		{Method: "POST", Path: "/api/v1/policies/test", Tag: "eligibility", Summary: "Evaluate a draft against sample records (registry subjects in scope, or facts given by hand)",
			SummaryZH: "用样例记录测算草稿（数据范围内的档案对象或手填事实）", Auth: auth, Body: "PolicyTest", Result: "PolicyTestResults", Errors: []int{403, 404, 422}},
		{Method: "GET", Path: "/api/v1/policies/{id}", Tag: "eligibility", Summary: "A policy with its versions and conditions", SummaryZH: "政策详情：各版本与条件",
			Auth: auth, Params: []apiParam{key}, Result: "Policy", Errors: []int{404}},
		{Method: "GET", Path: "/api/v1/policies/{id}/diff", Tag: "eligibility", Summary: "Differences between two versions", SummaryZH: "两个版本的差异",
			Auth: auth, Params: []apiParam{key, query("from", "integer", "Version.", "版本号。"), query("to", "integer", "Version.", "版本号。")}, Result: "PolicyDiff", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/policies/{id}/publish", Tag: "eligibility", Summary: "Publish a saved version from an effective date (department handlers, admins)",
			SummaryZH: "发布已保存的版本并设定生效日期（职能部门、管理员）", Auth: auth, Params: []apiParam{key}, Body: "PolicyPublish", Result: "Policy", Errors: []int{403, 404, 422}},
		{Method: "GET", Path: "/api/v1/policy-fields", Tag: "eligibility", Summary: "The fields conditions may read, for the authoring form's pickers", SummaryZH: "条件可用的字段（编写表单的字段选择）",
			Auth: auth, Params: []apiParam{query("target", "string", "person, household or organisation.", "person、household 或 organisation。")}, Result: "PolicyFields", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/people/{id}/eligibility", Tag: "eligibility", Summary: "A person's eligibility: per policy eligible, not_eligible or may_be_eligible, each condition pass, fail or unknown with the value used, text and source",
			SummaryZH: "个人资格测算：每项政策符合、不符合或可能符合，每个条件通过、不通过或未知，附所用值、说明与依据", Auth: auth, Params: append(subject("Person", "人员"), unmask), Result: "Eligibility", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/people/{id}/facts", Tag: "eligibility", Summary: "Record a person's missing facts (the questions eligibility asks: income, disability certificate, living alone …) by field key, each checked against the field list's type; null removes one. Staff in the registry's scope; audited, and the stored results of the policies reading them are checked again. Answers the person's eligibility",
			SummaryZH: "录入人员缺失的资格信息（收入、残疾证、独居等），按字段编号逐项校验类型，null 表示删除；限数据范围内的工作人员，留痕，并重新核验读取这些字段的政策。返回该人员的资格测算", Auth: auth,
			Params: subject("Person", "人员"), Body: "PersonFacts", Result: "Eligibility", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/organisations/{id}/eligibility", Tag: "eligibility", Summary: "An organisation's eligibility for the enterprise policies (惠企)", SummaryZH: "单位惠企政策资格测算",
			Auth: auth, Params: subject("Organisation", "单位"), Result: "Eligibility", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/me/eligibility", Tag: "eligibility", Summary: "The signed-in resident's eligibility (their registry record by identity number, else by a phone they proved by SMS code that only one record has; a phone several records share links none: 404, reason ambiguous)",
			SummaryZH: "当前居民的资格测算（按身份证号匹配档案，其次按短信验证过且仅对应一条档案的手机号；对应多条档案时不关联，返回404，reason 为 ambiguous）", Auth: auth, Params: []apiParam{date}, Result: "Eligibility", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/eligibility/unclaimed", Tag: "eligibility", Summary: "应享未享: subjects eligible and not receiving, under a region node in scope (from the last batch run)",
			SummaryZH: "应享未享：数据范围内区域节点下符合条件而未享受的对象（最近一次批量测算）", Auth: auth,
			Params: []apiParam{query("region", "string", "Region code (district to grid).", "区域编码（区至网格）。"), query("limit", "integer", "At most 1000 (default 100).", "最多 1000（默认 100）。")},
			Result: "UnclaimedList", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/eligibility/notices", Tag: "eligibility", Summary: "主动告知: queue a text to each subject of the region's 应享未享 list that the registry has a phone for, once a subject and policy ever; sent by the outbound channel, retried on failure (audited)",
			SummaryZH: "主动告知：向区域应享未享名单中登记了电话的对象发送短信提醒（同一对象同一政策只发一次），经外发渠道发送，失败重试（留痕）", Auth: auth,
			Params: []apiParam{query("region", "string", "Region code (district to grid).", "区域编码（区至网格）。"), query("limit", "integer", "At most 1000 entries of the list (default 100).", "名单最多 1000 条（默认 100）。")},
			Result: "NoticeReport", Errors: []int{404, 422}},
	}
}

// policySchemas are eligibility's JSON shapes.
func policySchemas() map[string]any {
	text := obj(map[string]any{"zh": "string", "en": "string"}, "zh", "en")
	cond := obj(map[string]any{"id": "string", "text": text, "source": "string", "expr": "string"}, "id", "text", "source", "expr")
	group := obj(map[string]any{"op": "string", "conds": arrayOf("string"), "groups": arrayOf("object")})
	version := obj(map[string]any{"version": "integer", "status": "string", "effective": "string", "until": "string", "title": text, "target": "string",
		"conditions": arrayOf(cond), "rule": group, "amount": "string", "period": "string", "documents": arrayOf(text), "department": "string", "auto_pay": "boolean"},
		"title", "target", "conditions", "period", "department")
	condResult := obj(map[string]any{"id": "string", "result": "string", "values": "object", "text": text, "source": "string", "missing": arrayOf("string"), "explanation": text},
		"id", "result", "values", "text", "source")
	result := obj(map[string]any{"policy": "string", "version": "integer", "title": text, "result": "string", "amount": "number", "conditions": arrayOf(condResult),
		"missing": arrayOf("string"), "documents": arrayOf(text), "department": "string", "auto_pay": "boolean", "period": "string", "verified": "boolean", "explanation": text},
		"policy", "version", "result", "conditions", "missing")
	problem := obj(map[string]any{"condition": "string", "field": "string", "reason": text}, "reason")
	draft := obj(map[string]any{"key": "string", "kind": "string", "version": "#PolicyVersion"}, "key", "kind", "version")
	return map[string]any{
		"PolicyVersion": version,
		"Policy": obj(map[string]any{"id": "integer", "key": "string", "kind": "string", "title": text, "target": "string", "versions": arrayOf("#PolicyVersion")},
			"key", "kind", "target", "versions"),
		"PolicyList":     obj(map[string]any{"policies": arrayOf("#Policy")}, "policies"),
		"PolicyDraft":    draft,
		"PolicyProblems": obj(map[string]any{"valid": "boolean", "problems": arrayOf(problem)}, "valid", "problems"),
		"PolicyTest": obj(map[string]any{"draft": "#PolicyDraft", "date": "string",
			"samples": arrayOf(obj(map[string]any{"name": "string", "subject": obj(map[string]any{"kind": "string", "id": "integer"}), "facts": "object"}, "name"))}, "draft"),
		"PolicyTestResults": obj(map[string]any{"results": arrayOf(obj(map[string]any{"sample": "string", "result": result}, "sample", "result"))}, "results"),
		"PersonFacts": obj(map[string]any{"facts": map[string]any{"type": "object", "description": "Field key → value (number, boolean, text or list of texts), null to remove.",
			"additionalProperties": true}, "verified": "boolean", "source": "string"}, "facts"),
		"PolicyPublish": obj(map[string]any{"version": "integer", "effective": "string"}, "version", "effective"),
		"PolicyDiff":    obj(map[string]any{"from": "integer", "to": "integer", "changes": arrayOf(obj(map[string]any{"path": "string", "before": "object", "after": "object"}, "path"))}, "from", "to", "changes"),
		"PolicyFields": obj(map[string]any{"fields": arrayOf(obj(map[string]any{"key": "string", "type": "string", "target": "string", "label": text, "unit": "string", "derived": "boolean",
			"range": obj(map[string]any{"min": "number", "max": "number"}, "min", "max")},
			"key", "type", "label"))}, "fields"),
		"Eligibility": obj(map[string]any{"date": "string", "results": arrayOf(result),
			"questions": arrayOf(obj(map[string]any{"key": "string", "label": text, "decides": "integer"}, "key", "label", "decides"))}, "date", "results", "questions"),
		"UnclaimedList": obj(map[string]any{"unclaimed": arrayOf(obj(map[string]any{"policy": "string", "title": text, "subject": obj(map[string]any{"kind": "string", "id": "integer"}),
			"name": "string", "grid_code": "string", "amount": "number", "since": "string"}, "policy", "subject"))}, "unclaimed"),
		"NoticeReport": obj(map[string]any{"queued": "integer", "already": "integer", "no_phone": "integer"}, "queued", "already", "no_phone"),
	}
}
