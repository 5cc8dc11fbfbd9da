package web

// benefitOperations documents the benefit applications' routes
// (api_benefit.go).
func benefitOperations() []apiOp {
	auth := apiAuth{Session: true}
	app := pathParam("id", "Application id (numeric).", "申请 ID（数字）。")
	list := []apiParam{query("status", "string", "Workflow state.", "流程状态。"), query("policy", "string", "Policy key.", "政策编码。"),
		query("subject_kind", "string", "person, household or organisation.", "person、household 或 organisation。"),
		query("subject_id", "integer", "Subject id.", "对象 ID。"), query("mine", "string", "1: the caller's own only.", "1：仅本人的。"),
		query("limit", "integer", "At most 200 (default 50).", "最多 200（默认 50）。"), query("offset", "integer", "Rows to skip.", "跳过的行数。")}
	return []apiOp{
		{Method: "POST", Path: "/api/v1/applications", Tag: "benefits", Summary: "Apply for a benefit with one click, prefilled from the policy engine's answer (a resident for themselves, staff for a person or organisation in scope)",
			SummaryZH: "一键申请，按政策引擎的判定预填（居民为本人申请，工作人员为辖区内的人员或企业代办）", Auth: auth, Body: "NewApplication", Status: 201, Result: "Application",
			Errors: []int{404, 409, 422, 503}},
		{Method: "GET", Path: "/api/v1/applications", Tag: "benefits", Summary: "Applications the caller sees: their region's, their department's, their own; newest first",
			SummaryZH: "可见的申请：本辖区、本部门、本人的；新的在前", Auth: auth, Params: list, Result: "ApplicationList", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/applications/{id}", Tag: "benefits", Summary: "An application with its timeline; the name masked unless ?unmask=1 and permitted (audited)",
			SummaryZH: "申请详情及流程记录；姓名默认脱敏，?unmask=1 且有权限时显示（留痕）", Auth: auth,
			Params: []apiParam{app, query("unmask", "string", "1 to show the name (audited).", "1 显示姓名（留痕）。")}, Result: "Application", Errors: []int{404}},
		{Method: "POST", Path: "/api/v1/applications/{id}/actions/{action}", Tag: "benefits", Summary: "Take a step: accept, request_supplement (stops the clock), supplement, approve (within the budget ceiling), refuse, pay, withdraw",
			SummaryZH: "办理：受理、要求补正（停止计时）、补正材料、审核通过（不超过预算上限）、不予通过、发放、撤回", Auth: auth,
			Params: []apiParam{app, pathParam("action", "The workflow's action.", "流程动作。")}, Body: "ApplicationInput", Result: "Application", Errors: []int{403, 404, 409, 422}},
		{Method: "GET", Path: "/api/v1/payouts", Tag: "benefits", Summary: "Payouts the caller sees (once per subject, policy and period)", SummaryZH: "可见的发放记录（每个对象每项政策每期一次）",
			Auth: auth, Params: list, Result: "PayoutList", Errors: []int{422}},
		{Method: "PUT", Path: "/api/v1/benefit-budgets/{policy}", Tag: "benefits", Summary: "Set a policy's budget ceiling (admins and department handlers)", SummaryZH: "设置政策预算上限（管理员、主管部门）",
			Auth: auth, Params: []apiParam{pathParam("policy", "Policy key.", "政策编码。")}, Body: "BudgetInput", Result: "Budget", Errors: []int{403, 422}},
	}
}

// benefitSchemas are the benefit applications' JSON shapes.
func benefitSchemas() map[string]any {
	subject := obj(map[string]any{"kind": "string", "id": "integer"}, "kind", "id")
	text := obj(map[string]any{"zh": "string", "en": "string"}, "zh", "en")
	app := map[string]any{"id": "integer", "district": "string", "region": "string", "department_id": "integer", "applicant_id": "integer", "subject": subject,
		"subject_name": "string", "policy": "string", "policy_version": "integer", "title": text, "period": "string", "amount": "number", "eligibility": "string",
		"facts": "object", "documents": arrayOf(text), "uploads": arrayOf("string"), "status": "string", "version": "integer", "workflow_version": "integer",
		"reason": "string", "request": "string", "stage_due_at": "string", "sla_state": "string", "eligible_at": "string", "created_at": "string",
		"updated_at": "string", "closed_at": "string", "masked": "boolean", "timeline": arrayOf("object")}
	payout := map[string]any{"id": "integer", "subject": subject, "subject_name": "string", "policy": "string", "policy_version": "integer", "title": text,
		"period": "string", "amount": "number", "source": "string", "application_id": "integer", "region": "string", "eligible_at": "string", "paid_at": "string",
		"masked": "boolean"}
	return map[string]any{
		"Application":     obj(app, "id", "subject", "policy", "period", "amount", "status", "version"),
		"ApplicationList": obj(map[string]any{"applications": arrayOf("#Application"), "total": "integer"}, "applications", "total"),
		"NewApplication": obj(map[string]any{"subject": subject, "policy": "string", "period": "string", "uploads": arrayOf("string"), "note": "string"},
			"policy"),
		"ApplicationInput": obj(map[string]any{"version": "integer", "note": "string", "reason": "string", "uploads": arrayOf("string")}),
		"Payout":           obj(payout, "id", "subject", "policy", "period", "amount", "source"),
		"PayoutList":       obj(map[string]any{"payouts": arrayOf("#Payout"), "total": "integer"}, "payouts", "total"),
		"BudgetInput":      obj(map[string]any{"ceiling": "number"}, "ceiling"),
		"Budget":           obj(map[string]any{"policy": "string", "ceiling": "number", "committed": "number"}, "policy", "ceiling", "committed"),
	}
}
