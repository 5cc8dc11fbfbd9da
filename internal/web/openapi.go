package web

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/i18n"
)

// This file documents the API: apiOperations is the one table, with an
// entry per registered /api/ and /open311/ route. TestOpenAPIMatchesRoutes
// fails, naming the route, when a route lacks its entry or an entry its
// route. GET /api/v1/openapi.json renders the table as OpenAPI 3.1 and GET
// /api/docs as a page.

// apiAuth is what an operation demands of its caller.
type apiAuth struct {
	// Session requires a logged-in user (session cookie or bearer token).
	Session bool
	// Perm, when set, also requires the permission.
	Perm account.Perm
	// APIKey requires an integration's api_key form field (Open311).
	APIKey bool
}

func docPerm(p account.Perm) apiAuth { return apiAuth{Session: true, Perm: p} }

// apiParam is a parameter. In is path, query, header or form (a field of a
// form-encoded body).
type apiParam struct {
	Name, In string
	// Type is string (the default), integer, number or boolean.
	Type     string
	Required bool
	Enum     []string
	Desc     string
	DescZH   string
}

func pathParam(name, desc, descZH string) apiParam {
	return apiParam{Name: name, In: "path", Required: true, Desc: desc, DescZH: descZH}
}

func query(name, typ, desc, descZH string) apiParam {
	return apiParam{Name: name, In: "query", Type: typ, Desc: desc, DescZH: descZH}
}

func form(name string, required bool, desc, descZH string) apiParam {
	return apiParam{Name: name, In: "form", Required: required, Desc: desc, DescZH: descZH}
}

// Media types of answers other than JSON.
const (
	mediaOpen311 = "open311" // application/json or text/xml by the path's extension
	mediaSSE     = "text/event-stream"
	mediaGeoJSON = "application/geo+json"
	mediaImage   = "image/*"
	mediaXLSX    = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mediaHTML    = "text/html"
)

// apiOp documents one operation, that is one registered route. A path
// ending in ".{format}" stands for its two routes, .json and .xml.
type apiOp struct {
	Method, Path       string
	Tag                string
	Summary, SummaryZH string
	Auth               apiAuth
	Params             []apiParam
	// Body names the schema of a JSON request body; form parameters make a
	// form-encoded body instead.
	Body string
	// Status is the success status (200 when 0); Result names the schema
	// of its JSON body ("" for no schema); Media is another media type.
	Status int
	Result string
	Media  string
	// Errors lists error statuses besides those the rest implies (401 and
	// 403 from Auth, 404 from path parameters, 400 from parameters).
	Errors []int
}

// apiTag is a group of operations.
type apiTag struct{ Name, Title, TitleZH string }

func apiTags() []apiTag {
	return []apiTag{
		{"session", "Session and identity", "会话与身份"},
		{"cases", "Cases", "案件"},
		{"public", "Public case map", "公开案件"},
		{"categories", "Categories and routing", "问题分类与派单规则"},
		{"regions", "Regions", "区域"},
		{"places", "Place search and landmarks", "地名搜索与地标"},
		{"accounts", "Users and departments", "用户与部门"},
		{"admin", "Administration", "系统管理"},
		{"sla", "Time limits and statistics", "时限与统计"},
		{"stats", "Command-centre statistics", "指挥中心统计"},
		{"patrols", "Patrols and GPS tracks", "巡查与轨迹"},
		{"registry", "Grid base data: people, houses, organisations", "网格基础数据：人、房、单位"},
		{"visits", "Visits (走访) of the groups needing attention", "重点人群、关爱人群走访"},
		{"devices", "Sensing devices and telemetry", "感知设备与遥测数据"},
		{"benchmark", "Benchmarking (对标): indicators, ranks, weak points, peers", "对标：指标、排名、短板、对标组"},
		{"benefits", "Benefit applications, payouts and budgets (利民补助, 惠企政策)", "惠民惠企政策申请、发放与预算"},
		{"docs", "Documentation", "接口文档"},
		{"open311", "Open311 GeoReport v2", "Open311 GeoReport v2"},
		{"disputes", "Disputes and safety hazards", "矛盾纠纷与安全隐患"},
		{"assessment", "Assessment (考核) and the experience library (经验库)", "考核与经验库"},
		{"eligibility", "Benefit eligibility (利民补助一键达, 惠企政策直通车)", "惠民惠企政策资格测算"},
		{"sensing", "Sensing: rules, alarms, away periods", "物联感知：规则、告警、外出登记"},
	}
}

// apiOperations is the table of every documented operation. Add an entry
// here with each new /api/ or /open311/ route.
func apiOperations() []apiOp {
	docPublic, docSession, docAPIKey := apiAuth{}, apiAuth{Session: true}, apiAuth{APIKey: true}
	id := pathParam("id", "Case id (numeric).", "案件 ID（数字）。")
	code := pathParam("code", "Code.", "编码。")
	dictType := pathParam("type", "Dictionary type code, e.g. case_source.", "字典类型代码，如 case_source。")
	limit := query("limit", "integer", "Page size.", "每页条数。")
	itemID := pathParam("id", "Dispute or hazard id (numeric).", "纠纷或隐患 ID（数字）。")
	itemFilters := []apiParam{query("status", "string", "A workflow state.", "流程状态。"), query("type", "string", "A type code.", "类型代码。"), limit,
		query("offset", "integer", "Rows to skip.", "跳过的条数。")}
	before := query("before", "string", "Cursor: the next value of the previous page.", "游标：上一页返回的 next。")
	jur := query("jurisdiction_id", "string", "Accepted and ignored: one endpoint serves one district.", "可传，忽略：一个端点只服务一个区。")
	apiKey := form("api_key", true, "The integration's API key (403 when missing, unknown or revoked; 429 when over its rate).", "接入方的 API 密钥（缺失、无效或已吊销为 403；超出频率为 429）。")
	start := query("start_date", "string", "W3C date-time with a zone; the window may span at most 90 days.", "带时区的 W3C 时间；时间窗最长 90 天。")
	end := query("end_date", "string", "W3C date-time with a zone (inclusive).", "带时区的 W3C 时间（含）。")
	statsRegion := query("region", "string", "Region code in the caller's scope (default: the caller's own node); 404 outside the scope.", "数据范围内的区划代码（默认本人所属节点）；范围外为 404。")
	return slices.Concat([]apiOp{
		// Session and identity.
		{Method: "POST", Path: "/api/v1/session", Tag: "session", Summary: "Log in and get a bearer token", SummaryZH: "登录并获取令牌",
			Auth: docPublic, Body: "Login", Result: "Session", Errors: []int{401, 422, 429}},
		{Method: "POST", Path: "/api/v1/session/sms-code", Tag: "session", Summary: "Send a sign-in code by SMS (the same 202 for every well-formed number)",
			SummaryZH: "发送短信登录验证码（号码是否已注册，回答都相同）", Auth: docPublic, Body: "SMSCodeRequest", Status: 202, Result: "SMSCodeSent",
			Errors: []int{422, 429, 503}},
		{Method: "POST", Path: "/api/v1/session/sms", Tag: "session", Summary: "Sign in with a phone number and SMS code (also sets the session cookie)",
			SummaryZH: "手机号加短信验证码登录（同时设置会话 Cookie）", Auth: docPublic, Body: "SMSSignIn", Result: "SMSSession",
			Errors: []int{401, 403, 422, 429, 503}},
		{Method: "DELETE", Path: "/api/v1/session", Tag: "session", Summary: "Log out", SummaryZH: "退出登录", Auth: docSession, Status: 204},
		{Method: "GET", Path: "/api/v1/me", Tag: "session", Summary: "The current user, roles and data scope", SummaryZH: "当前用户、角色与数据范围",
			Auth: docSession, Result: "Me"},

		// Regions.
		{Method: "GET", Path: "/api/v1/regions/locate", Tag: "regions", Summary: "Find the grid, community and street of a point", SummaryZH: "按坐标定位网格、社区和街道",
			Auth: docPublic, Params: []apiParam{
				{Name: "lat", In: "query", Type: "number", Required: true, Desc: "Latitude.", DescZH: "纬度。"},
				{Name: "lng", In: "query", Type: "number", Required: true, Desc: "Longitude.", DescZH: "经度。"},
				{Name: "crs", In: "query", Enum: []string{"wgs84", "gcj02", "bd09"}, Desc: "Datum of the point (default wgs84).", DescZH: "坐标系（默认 wgs84）。"}},
			Result: "Location", Errors: []int{404}},
		{Method: "GET", Path: "/api/v1/regions/export", Tag: "regions", Summary: "Export the region tree as GeoJSON", SummaryZH: "导出区域树（GeoJSON）",
			Auth: docPerm(account.PermRegionWrite), Media: mediaGeoJSON},
		{Method: "POST", Path: "/api/v1/regions/import", Tag: "regions", Summary: "Import regions from GeoJSON", SummaryZH: "导入区域（GeoJSON）",
			Auth: docPerm(account.PermRegionWrite), Body: "FeatureCollection", Result: "ImportResult",
			Params: []apiParam{query("dry_run", "string", "1 validates only.", "为 1 时只校验。")}, Errors: []int{413, 422}},
		{Method: "GET", Path: "/api/v1/regions/{code}", Tag: "regions", Summary: "One region with its path", SummaryZH: "单个区域及其上级路径",
			Auth: docPublic, Params: []apiParam{code}, Result: "Region"},
		{Method: "GET", Path: "/api/v1/regions/{code}/children", Tag: "regions", Summary: "The children of a region", SummaryZH: "下级区域",
			Auth: docPublic, Params: []apiParam{code}, Result: "RegionList"},
		{Method: "GET", Path: "/api/v1/regions/{code}/geojson", Tag: "regions", Summary: "Boundaries of a region's children (or itself) as GeoJSON", SummaryZH: "下级（或本级）边界 GeoJSON",
			Auth: docPublic, Params: []apiParam{code, query("self", "string", "1 returns the region itself.", "为 1 时返回本级。")}, Media: mediaGeoJSON},

		// Places.
		{Method: "GET", Path: "/api/v1/places/search", Tag: "places", Summary: "Search places: streets, communities, grids, landmarks and roads, by name, pinyin or initials (rate limited per client)",
			SummaryZH: "地名搜索：街道、社区、网格、地标和道路，支持汉字、全拼和首字母（按客户端限流）",
			Auth:      docPublic, Params: []apiParam{
				{Name: "q", In: "query", Type: "string", Required: true, Desc: "What the resident typed (at most 50 characters).", DescZH: "搜索词（最多 50 个字）。"},
				query("lat", "number", "Latitude to rank nearer places first.", "纬度，用于近处优先。"),
				query("lng", "number", "Longitude.", "经度。"),
				{Name: "crs", In: "query", Enum: []string{"wgs84", "gcj02", "bd09"}, Desc: "Datum of lat/lng (default wgs84).", DescZH: "坐标系（默认 wgs84）。"}},
			Result: "PlaceList", Errors: []int{422, 429}},
		{Method: "GET", Path: "/api/v1/landmarks", Tag: "places", Summary: "Landmarks and roads of the place search", SummaryZH: "地名搜索的地标和道路",
			Auth: docPerm(account.PermRegionWrite), Result: "LandmarkList"},
		{Method: "POST", Path: "/api/v1/landmarks", Tag: "places", Summary: "Add a landmark or road", SummaryZH: "新增地标或道路",
			Auth: docPerm(account.PermRegionWrite), Body: "NewLandmark", Status: 201, Result: "Landmark", Errors: []int{422}},
		{Method: "PUT", Path: "/api/v1/landmarks/{id}", Tag: "places", Summary: "Replace a landmark or road", SummaryZH: "修改地标或道路",
			Auth: docPerm(account.PermRegionWrite), Params: []apiParam{pathParam("id", "Landmark id.", "地标 ID。")}, Body: "NewLandmark", Result: "Landmark", Errors: []int{404, 422}},
		{Method: "DELETE", Path: "/api/v1/landmarks/{id}", Tag: "places", Summary: "Delete a landmark or road", SummaryZH: "删除地标或道路",
			Auth: docPerm(account.PermRegionWrite), Params: []apiParam{pathParam("id", "Landmark id.", "地标 ID。")}, Status: 204, Errors: []int{404}},

		// Users and departments.
		{Method: "GET", Path: "/api/v1/users", Tag: "accounts", Summary: "Users in the caller's data scope", SummaryZH: "数据范围内的用户",
			Auth: docPerm(account.PermUserRead), Params: []apiParam{query("role", "string", "Role.", "角色。"), query("region", "string", "Region code (subtree).", "区域编码（含下级）。"),
				query("q", "string", "Text in the username or name.", "用户名或姓名中的文字。"), query("after", "integer", "Cursor: the last id seen.", "游标：已见的最后 ID。"), limit},
			Result: "UserList"},
		{Method: "POST", Path: "/api/v1/users", Tag: "accounts", Summary: "Create a user", SummaryZH: "新建用户",
			Auth: docPerm(account.PermUserWrite), Body: "NewUser", Status: 201, Result: "User", Errors: []int{409, 422}},
		{Method: "GET", Path: "/api/v1/users/{id}", Tag: "accounts", Summary: "One user (personal data masked unless unmask=1 with the permission)", SummaryZH: "单个用户（个人信息脱敏，有权限时 unmask=1 显示）",
			Auth: docPerm(account.PermUserRead), Params: []apiParam{pathParam("id", "User id.", "用户 ID。"), query("unmask", "string", "1 shows personal data (audited).", "为 1 时显示个人信息（记入日志）。")},
			Result: "User"},
		{Method: "POST", Path: "/api/v1/users/{id}/password", Tag: "accounts", Summary: "Set a user's password (ends their sessions)", SummaryZH: "重设用户密码（结束其会话）",
			Auth: docPerm(account.PermUserWrite), Params: []apiParam{pathParam("id", "User id.", "用户 ID。")}, Body: "Password", Status: 204, Errors: []int{422}},
		{Method: "PATCH", Path: "/api/v1/users/{id}", Tag: "accounts", Summary: "Edit a user: name, phone, roles, region, department, disabled, locked (disabling or locking ends their sessions); audited", SummaryZH: "修改用户：姓名、手机号、角色、区域、部门、停用、锁定（停用或锁定即结束其会话）；记入操作日志",
			Auth: docPerm(account.PermUserWrite), Params: []apiParam{pathParam("id", "User id.", "用户 ID。")}, Body: "UserUpdate", Result: "User", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/users/{id}/reassign", Tag: "accounts", Summary: "Move the user's open cases to a colleague who can hold them (role and scope checked), each with a timeline entry", SummaryZH: "将该用户的在办案件转交给可办理的同事（核对角色与数据范围），每件记入流转记录",
			Auth: docPerm(account.PermUserWrite), Params: []apiParam{pathParam("id", "User id.", "用户 ID。")}, Body: "Reassign", Result: "Reassigned", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/departments", Tag: "accounts", Summary: "Departments", SummaryZH: "部门列表",
			Auth: docPerm(account.PermDepartmentRead), Result: "DepartmentList"},

		// Categories and routing.
		{Method: "GET", Path: "/api/v1/categories", Tag: "categories", Summary: "The category tree", SummaryZH: "问题分类树",
			Auth: docPublic, Params: []apiParam{query("inactive", "string", "1 includes inactive categories (category writers only).", "为 1 时包含停用分类（仅限分类管理员）。")},
			Result: "CategoryList", Errors: []int{401, 403}},
		{Method: "POST", Path: "/api/v1/categories", Tag: "categories", Summary: "Create a category", SummaryZH: "新建分类",
			Auth: docPerm(account.PermCategoryWrite), Body: "Category", Status: 201, Result: "Category", Errors: []int{409, 422}},
		{Method: "GET", Path: "/api/v1/categories/{code}", Tag: "categories", Summary: "One category with its subtree and extra fields", SummaryZH: "单个分类及其下级和附加字段",
			Auth: docPublic, Params: []apiParam{code, query("inactive", "string", "1 includes inactive subcategories (category writers only).", "为 1 时包含停用子类（仅限分类管理员）。")},
			Result: "Category", Errors: []int{401, 403}},
		{Method: "PATCH", Path: "/api/v1/categories/{code}", Tag: "categories", Summary: "Change a category", SummaryZH: "修改分类",
			Auth: docPerm(account.PermCategoryWrite), Params: []apiParam{code}, Body: "CategoryPatch", Result: "Category", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/routing-rules", Tag: "categories", Summary: "Routing rules", SummaryZH: "派单规则",
			Auth: docPerm(account.PermCategoryWrite), Result: "RuleList"},
		{Method: "POST", Path: "/api/v1/routing-rules", Tag: "categories", Summary: "Add a routing rule", SummaryZH: "新增派单规则",
			Auth: docPerm(account.PermCategoryWrite), Body: "Rule", Status: 201, Result: "Rule", Errors: []int{409, 422}},
		{Method: "DELETE", Path: "/api/v1/routing-rules/{id}", Tag: "categories", Summary: "Delete a routing rule", SummaryZH: "删除派单规则",
			Auth: docPerm(account.PermCategoryWrite), Params: []apiParam{pathParam("id", "Rule id.", "规则 ID。")}, Status: 204},

		// Dictionaries.
		{Method: "GET", Path: "/api/v1/dicts", Tag: "categories", Summary: "Dictionaries (value lists districts customise)", SummaryZH: "字典类型列表",
			Auth: docPerm(account.PermCategoryWrite), Result: "DictList"},
		{Method: "GET", Path: "/api/v1/dicts/{type}", Tag: "categories", Summary: "One dictionary with all its items", SummaryZH: "单个字典及其全部字典项",
			Auth: docPerm(account.PermCategoryWrite), Params: []apiParam{dictType}, Result: "Dict", Errors: []int{404}},
		{Method: "POST", Path: "/api/v1/dicts/{type}/items", Tag: "categories", Summary: "Add a dictionary item", SummaryZH: "新增字典项",
			Auth: docPerm(account.PermCategoryWrite), Params: []apiParam{dictType}, Body: "DictItem", Status: 201, Result: "DictItem", Errors: []int{404, 409, 422}},
		{Method: "PATCH", Path: "/api/v1/dicts/{type}/items/{code}", Tag: "categories", Summary: "Change or disable a dictionary item", SummaryZH: "修改或停用字典项",
			Auth: docPerm(account.PermCategoryWrite), Params: []apiParam{dictType, pathParam("code", "Item code.", "字典项代码。")}, Body: "DictItem", Result: "DictItem", Errors: []int{404, 422}},

		// Disputes and safety hazards: staff in scope; anyone else 404.
		{Method: "GET", Path: "/api/v1/disputes", Tag: "disputes", Summary: "Disputes in scope, newest first", SummaryZH: "数据范围内的矛盾纠纷（新的在前）",
			Auth: docSession, Params: itemFilters, Result: "DisputeList"},
		{Method: "POST", Path: "/api/v1/disputes", Tag: "disputes", Summary: "Register a dispute (登记) in a grid in scope", SummaryZH: "登记矛盾纠纷",
			Auth: docSession, Body: "NewDispute", Status: 201, Result: "Dispute", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/disputes/{id}", Tag: "disputes", Summary: "A dispute with its parties (masked), sessions and timeline", SummaryZH: "单个纠纷及当事人（脱敏）、调解记录、时间线",
			Auth: docSession, Params: []apiParam{itemID, query("unmask", "string", "1 shows the parties' phones and identity numbers (permission, audited).", "为 1 时显示当事人电话和身份证号（需权限，记入日志）。")}, Result: "Dispute"},
		{Method: "POST", Path: "/api/v1/disputes/{id}/actions/{action}", Tag: "disputes", Summary: "Take a step of the dispute workflow (docs/WORKFLOWS.md)", SummaryZH: "执行纠纷流程操作（见 docs/WORKFLOWS.md）",
			Auth: docSession, Params: []apiParam{itemID, pathParam("action", "Action name, e.g. accept, session, agree, fail, refer, revisit.", "操作名，如 accept、session、agree、fail、refer、revisit。")},
			Body: "ItemActionInput", Result: "Dispute", Errors: []int{409, 422}},
		{Method: "GET", Path: "/api/v1/hazards", Tag: "disputes", Summary: "Safety hazards in scope, newest first", SummaryZH: "数据范围内的安全隐患（新的在前）",
			Auth: docSession, Params: itemFilters, Result: "HazardList"},
		{Method: "POST", Path: "/api/v1/hazards", Tag: "disputes", Summary: "Register a safety hazard in a grid in scope", SummaryZH: "登记安全隐患",
			Auth: docSession, Body: "NewHazard", Status: 201, Result: "Hazard", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/hazards/{id}", Tag: "disputes", Summary: "A safety hazard with its timeline", SummaryZH: "单个安全隐患及时间线",
			Auth: docSession, Params: []apiParam{itemID}, Result: "Hazard"},
		{Method: "POST", Path: "/api/v1/hazards/{id}/actions/{action}", Tag: "disputes", Summary: "Take a step of the hazard workflow (docs/WORKFLOWS.md)", SummaryZH: "执行隐患流程操作（见 docs/WORKFLOWS.md）",
			Auth: docSession, Params: []apiParam{itemID, pathParam("action", "Action name: order, void, rectified, recheck.", "操作名：order、void、rectified、recheck。")},
			Body: "ItemActionInput", Result: "Hazard", Errors: []int{409, 422}},
		// Patrols (巡查) with GPS tracks: the worker and their supervisors only, others 404.
		{Method: "POST", Path: "/api/v1/imports/{kind}", Tag: "registry", Summary: "Import a registry file (.xlsx or CSV with Chinese headers, multipart field file; grid, community and street staff, admins): all rows or none. With Accept: application/x-ndjson the answer is 200 and JSON lines: progress ({phase, done, total}) as the server checks and writes, then {status, …the report}",
			SummaryZH: "导入台账文件（.xlsx 或中文表头 CSV，multipart 字段 file；网格员、社区和街道工作人员、管理员）：全部导入或全不导入。请求头 Accept: application/x-ndjson 时返回 200 与逐行 JSON：服务器检查和写入的进度（phase、done、total），最后一行为 status 与导入报告",
			Auth:      docSession, Params: []apiParam{pathParam("kind", "people, houses or organisations.", "people、houses 或 organisations。"),
				query("dry_run", "string", "1 checks only (200).", "为 1 时只检查（200）。")}, Body: "RegistryFile", Status: 201, Result: "ImportReport", Errors: []int{403, 413, 422}},
		{Method: "GET", Path: "/api/v1/exports/{kind}", Tag: "registry", Summary: "Export the 台账 of a region in scope as .xlsx, in the import's layout",
			SummaryZH: "按导入格式导出管辖区域内的台账（.xlsx）",
			Auth:      docSession, Params: []apiParam{pathParam("kind", "people, houses or organisations.", "people、houses 或 organisations。"),
				query("region", "string", "A grid, community or street code.", "网格、社区或街道编码。")}, Media: mediaXLSX, Errors: []int{403, 404, 422}},
		{Method: "POST", Path: "/api/v1/patrols", Tag: "patrols", Summary: "Start a patrol (grid workers; stops the caller's running one)", SummaryZH: "开始巡查（网格员；本人未结束的巡查自动结束）",
			Auth: docSession, Body: "PatrolStart", Status: 201, Result: "Patrol", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/patrols", Tag: "patrols", Summary: "Patrols the caller may see, newest first", SummaryZH: "可见的巡查记录（新的在前）",
			Auth: docSession, Params: []apiParam{query("grid", "string", "Grid code.", "网格编码。"), query("worker", "integer", "Grid worker's user id.", "网格员用户 ID。"), limit},
			Result: "PatrolList", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/patrols/{id}", Tag: "patrols", Summary: "A patrol with its track as GeoJSON", SummaryZH: "巡查详情及 GeoJSON 轨迹",
			Auth: docSession, Params: []apiParam{pathParam("id", "Patrol id.", "巡查 ID。")}, Result: "PatrolDetail"},
		{Method: "POST", Path: "/api/v1/patrols/{id}/points", Tag: "patrols", Summary: "Add a batch of GPS fixes (idempotent per fix time)", SummaryZH: "上传一批轨迹点（按定位时间幂等）",
			Auth: docSession, Params: []apiParam{pathParam("id", "Patrol id.", "巡查 ID。")}, Body: "PatrolPoints", Result: "PatrolPointsAdded", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/patrols/{id}/stop", Tag: "patrols", Summary: "Stop a patrol", SummaryZH: "结束巡查",
			Auth: docSession, Params: []apiParam{pathParam("id", "Patrol id.", "巡查 ID。")}, Result: "Patrol"},

		// Cases.
		{Method: "POST", Path: "/api/v1/cases", Tag: "cases", Summary: "Report a problem (anonymously too)", SummaryZH: "上报问题（可匿名）",
			Auth: docPublic, Params: []apiParam{{Name: "Idempotency-Key", In: "header",
				Desc:   "Makes a retry return the first case (201 with Idempotent-Replayed: true). A key belongs to its caller: the user, or for an anonymous caller the client identity in the HttpOnly whistle_client cookie, which the server issues on the first anonymous report and which the client must send back (without it, a key cannot be replayed). The same key with another body answers 422 idempotency_mismatch. Keys last 24 hours; after that the key files a new case. workflow may only repeat the category's own workflow, and urgent may be set only by staff (permission case.urgent): otherwise 422 with a field message.",
				DescZH: "重试时返回首次创建的案件（201，带 Idempotent-Replayed: true）。键只属于调用者本人：登录用户，或匿名调用者的客户端标识（HttpOnly Cookie whistle_client，首次匿名上报时由服务器发放，客户端须回传，否则无法重放）。同一键配不同请求体返回 422 idempotency_mismatch。键有效期 24 小时，过期后同一键会新建案件。workflow 只能与类别的流程一致，urgent 只有工作人员（权限 case.urgent）可以设置，否则返回 422 及字段说明。"}},
			Body: "NewCase", Status: 201, Result: "Case", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/cases", Tag: "cases", Summary: "Cases in the caller's data scope, newest first", SummaryZH: "数据范围内的案件（新的在前）",
			Auth: docSession, Params: []apiParam{query("status", "string", "Comma list of states.", "状态，逗号分隔。"), query("category", "string", "Category code (and below).", "分类编码（含下级）。"),
				query("region", "string", "Region code (subtree).", "区域编码（含下级）。"), query("source", "string", "Source.", "来源。"), query("q", "string", "Text.", "关键词。"),
				query("from", "string", "Reported from (RFC 3339 or a date).", "上报时间起（RFC 3339 或日期）。"), query("to", "string", "Reported before.", "上报时间止。"),
				query("sla", "string", "Comma list of time-limit states.", "时限状态，逗号分隔。"), query("overdue", "string", "1: overdue only.", "为 1 时只看超时。"),
				query("supervised", "string", "1: supervised only.", "为 1 时只看督办。"), query("mine", "string", "1: reported by me.", "为 1 时只看我上报的。"),
				query("assigned", "string", "me: assigned to me.", "为 me 时只看派给我的。"), before, limit,
				query("sort", "string", "number, created, status, category, deadline or grid; - first for descending. A sorted list pages by offset and answers total.",
					"排序：number、created、status、category、deadline 或 grid，前加 - 为倒序。排序后按 offset 分页，并返回 total。"),
				query("offset", "integer", "Skip that many cases (numbered pages); the answer then has total.", "跳过的条数（按页码分页），此时返回 total。")},
			Result: "CaseList", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/cases/duplicates", Tag: "cases", Summary: "Possible duplicates near a point", SummaryZH: "附近可能重复的案件",
			Auth: docPublic, Params: []apiParam{{Name: "lat", In: "query", Type: "number", Required: true, Desc: "Latitude.", DescZH: "纬度。"},
				{Name: "lng", In: "query", Type: "number", Required: true, Desc: "Longitude.", DescZH: "经度。"},
				{Name: "category", In: "query", Required: true, Desc: "Category code.", DescZH: "分类编码。"}, query("crs", "string", "Datum.", "坐标系。")},
			Result: "Duplicates", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/cases/{id}", Tag: "cases", Summary: "One case with the actions the caller may take", SummaryZH: "单个案件及当前可执行的操作",
			Auth: docSession, Params: []apiParam{id, query("unmask", "string", "1 shows the reporter's phone (permission, audited).", "为 1 时显示上报人电话（需权限，记入日志）。")}, Result: "Case"},
		{Method: "GET", Path: "/api/v1/cases/{id}/timeline", Tag: "cases", Summary: "A case's timeline", SummaryZH: "案件时间线",
			Auth: docSession, Params: []apiParam{id}, Result: "Timeline"},
		{Method: "POST", Path: "/api/v1/cases/{id}/actions/{action}", Tag: "cases", Summary: "Take a workflow action (docs/WORKFLOWS.md)", SummaryZH: "执行流程操作（见 docs/WORKFLOWS.md）",
			Auth: docSession, Params: []apiParam{id, pathParam("action", "Action name, e.g. accept, dispatch, resolve.", "操作名，如 accept、dispatch、resolve。")},
			Body: "ActionInput", Result: "Case", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/cases/{id}/photos", Tag: "cases", Summary: "Upload a photo (multipart field photo)", SummaryZH: "上传照片（multipart 字段 photo）",
			Auth: docSession, Params: []apiParam{id, query("kind", "string", "before or after.", "before 或 after。")}, Body: "PhotoUpload", Status: 201, Result: "Photo", Errors: []int{413, 422}},
		{Method: "GET", Path: "/api/v1/cases/{id}/photos/{pid}", Tag: "cases", Summary: "A photo of a case", SummaryZH: "案件照片",
			Auth: docSession, Params: []apiParam{id, pathParam("pid", "Photo id.", "照片 ID。")}, Media: mediaImage},
		{Method: "POST", Path: "/api/v1/cases/{id}/follow", Tag: "cases", Summary: "Follow a case", SummaryZH: "关注案件",
			Auth: docSession, Params: []apiParam{id}, Status: 204},
		{Method: "GET", Path: "/api/v1/workflows", Tag: "cases", Summary: "The workflows as data, each in its active version (docs/WORKFLOWS.md)", SummaryZH: "流程定义（数据），各取当前生效版本",
			Auth: docPublic, Result: "Workflows"},
		{Method: "GET", Path: "/api/v1/workflows/{name}", Tag: "cases", Summary: "A workflow's versions, with each one's diff, and its active definition (or ?version=)", SummaryZH: "流程的各版本（含差异）及当前生效定义（或 ?version= 指定版本）",
			Auth: docPublic, Params: []apiParam{pathParam("name", "Workflow name: whistle or urban.", "流程名：whistle 或 urban。"), query("version", "integer", "A stored version.", "已存储的版本号。")},
			Result: "WorkflowVersions", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/workflows", Tag: "cases", Summary: "Upload a new version of a workflow: validated, diffed against the active version, stored as the next version and activated for new cases (audited); ?dry_run=1 only answers the diff", SummaryZH: "上传流程新版本：校验、与当前版本比对，存为下一版本并对新案件生效（记入日志）；?dry_run=1 只返回差异",
			Auth: docPerm(account.PermWorkflowWrite), Params: []apiParam{query("dry_run", "string", "1: validate and show the diff, change nothing.", "为 1 时只校验并返回差异，不做修改。")},
			Body: "WorkflowDefinition", Status: 201, Result: "WorkflowUpload", Errors: []int{409, 422}},
		{Method: "GET", Path: "/api/v1/events", Tag: "cases", Summary: "Server-sent events of case changes in scope", SummaryZH: "数据范围内案件变化的实时推送（SSE）",
			Auth: docSession, Media: mediaSSE},
		{Method: "GET", Path: "/api/v1/inbox", Tag: "cases", Summary: "The caller's notifications", SummaryZH: "我的消息",
			Auth: docSession, Params: []apiParam{before, query("limit", "integer", "Page size, 1 to 200 (50).", "每页条数，1 至 200（默认 50）。")}, Result: "Inbox", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/inbox/read", Tag: "cases", Summary: "Mark notifications read (one, or all)", SummaryZH: "标记消息已读（单条或全部）",
			Auth: docSession, Body: "InboxRead", Status: 204},
		{Method: "GET", Path: "/api/v1/me/notification-settings", Tag: "cases", Summary: "The caller's notification channels and quiet hours, and the channels on offer", SummaryZH: "我的通知渠道与免打扰时段，及可选渠道",
			Auth: docSession, Result: "NotificationSettings", Errors: []int{503}},
		{Method: "PUT", Path: "/api/v1/me/notification-settings", Tag: "cases", Summary: "Set the caller's notification channels and quiet hours (HH:MM, Asia/Shanghai; urgent messages are not held)", SummaryZH: "设置我的通知渠道与免打扰时段（时:分，北京时间；紧急消息不受限）",
			Auth: docSession, Body: "NotificationSettingsInput", Result: "NotificationSettings", Errors: []int{422, 503}},

		// The public map.
		{Method: "GET", Path: "/api/v1/public/cases", Tag: "public", Summary: "Public cases in a bounding box, without personal data", SummaryZH: "范围内的公开案件（不含个人信息）",
			Auth: docPublic, Params: []apiParam{{Name: "bbox", In: "query", Required: true, Desc: "minLng,minLat,maxLng,maxLat.", DescZH: "最小经度,最小纬度,最大经度,最大纬度。"},
				query("open", "string", "1: open cases only.", "为 1 时只看未办结。")}, Result: "PublicCaseList", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/public/cases/{id}", Tag: "public", Summary: "One public case and its public timeline", SummaryZH: "单个公开案件及公开时间线",
			Auth: docPublic, Params: []apiParam{id}, Result: "PublicCase"},
		{Method: "GET", Path: "/api/v1/public/cases/{id}/photos/{pid}", Tag: "public", Summary: "A photo of a public case's public timeline (Open311 media_url)", SummaryZH: "公开案件公开时间线中的照片（Open311 media_url）",
			Auth: docPublic, Params: []apiParam{id, pathParam("pid", "Photo id.", "照片 ID。")}, Media: mediaImage},

		// Administration.
		{Method: "GET", Path: "/api/v1/audit", Tag: "admin", Summary: "The audit log, newest first", SummaryZH: "操作日志（新的在前）",
			Auth: docPerm(account.PermAuditRead), Params: []apiParam{query("actor", "string", "Actor.", "操作人。"), query("action", "string", "Action, e.g. open311.request.", "操作，如 open311.request。"),
				query("q", "string", "Text in the target or summary.", "对象或摘要中的文字。"), query("from", "string", "From.", "起。"), query("to", "string", "To.", "止。"), before, limit},
			Result: "AuditList"},
		{Method: "GET", Path: "/api/v1/login-log", Tag: "admin", Summary: "The login log", SummaryZH: "登录日志",
			Auth: docPerm(account.PermLoginLogRead), Params: []apiParam{query("username", "string", "Username.", "用户名。"), query("ip", "string", "IP address.", "IP 地址。"),
				query("failed", "string", "1: failures only.", "为 1 时只看失败。"), before, limit,
				query("sort", "string", "at, username, ip or result; a leading - sorts descending (default: newest first).", "排序：at、username、ip 或 result，前加 - 为降序（默认最新在前）。"),
				query("offset", "integer", "Entries to skip, for numbered pages.", "跳过的条数（分页）。")}, Result: "LoginLog", Errors: []int{422}},
		{Method: "GET", Path: "/api/v1/apikeys", Tag: "admin", Summary: "API keys, revoked ones too", SummaryZH: "API 密钥（含已吊销）",
			Auth: docPerm(account.PermAPIKeys), Result: "APIKeyList"},
		{Method: "POST", Path: "/api/v1/apikeys", Tag: "admin", Summary: "Create a named API key (shown once)", SummaryZH: "新建具名 API 密钥（只显示一次）",
			Auth: docPerm(account.PermAPIKeys), Body: "NewAPIKey", Status: 201, Result: "NewAPIKeyResult", Errors: []int{409, 422}},
		{Method: "DELETE", Path: "/api/v1/apikeys/{id}", Tag: "admin", Summary: "Revoke an API key", SummaryZH: "吊销 API 密钥",
			Auth: docPerm(account.PermAPIKeys), Params: []apiParam{pathParam("id", "Key id or name.", "密钥 ID 或名称。")}, Status: 204},

		// Time limits, calendar and unit statistics.
		{Method: "GET", Path: "/api/v1/cases/{id}/sla", Tag: "sla", Summary: "A case's stage deadlines and supervisions", SummaryZH: "案件各环节时限与督办",
			Auth: docSession, Params: []apiParam{pathParam("id", "Case id.", "案件 ID。")}},
		{Method: "GET", Path: "/api/v1/stats/units", Tag: "sla", Summary: "Response, resolution, satisfaction and on-time rates per unit", SummaryZH: "各单位响应率、解决率、满意率、按时办结率",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{query("region", "string", "Region code (default: the caller's).", "区划代码（默认本人所属）。"),
				query("from", "string", "Start date, YYYY-MM-DD.", "开始日期。"), query("to", "string", "End date, YYYY-MM-DD.", "结束日期。")}},
		// Command-centre statistics, read from the rollups.
		{Method: "GET", Path: "/api/v1/stats/summary", Tag: "stats", Summary: "KPIs of a region node: reports today, open, closed today, on-time rate, satisfaction, handling time, supervisions",
			SummaryZH: "区域节点的关键指标：今日上报、在办、今日结案、按时办结率、满意率、平均处置时长、督办",
			Auth:      docPerm(account.PermStatsRead), Params: []apiParam{statsRegion}, Errors: []int{404}},
		{Method: "GET", Path: "/api/v1/stats/map", Tag: "stats", Summary: "One value per child of a node, for the map", SummaryZH: "下级区域的地图指标",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{statsRegion,
				{Name: "metric", In: "query", Enum: []string{"open", "overdue", "satisfaction"}, Desc: "What to colour by (default open).", DescZH: "着色指标（默认 open）。"}},
			Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/stats/trend", Tag: "stats", Summary: "Daily reports and closures", SummaryZH: "每日上报与结案趋势",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{statsRegion, query("days", "integer", "Days, today included (default 30, at most 366).", "天数，含今天（默认 30，最多 366）。")},
			Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/stats/hotspots", Tag: "stats", Summary: "The grids with the most open cases", SummaryZH: "在办案件最多的网格",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{statsRegion, limit}, Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/stats/overdue", Tag: "stats", Summary: "Open overdue cases, the longest overdue first", SummaryZH: "超时在办案件（超时最久在前）",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{statsRegion, limit}, Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/stats/recent", Tag: "stats", Summary: "The latest steps on the cases, newest first (the screen's live feed on load)", SummaryZH: "最近的办理动态（大屏实时动态）",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{statsRegion, limit}, Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/stats/points", Tag: "stats", Summary: "Open cases of a community or grid as map points with their time state", SummaryZH: "社区、网格在办案件点位及时限状态",
			Auth: docPerm(account.PermStatsRead), Params: []apiParam{statsRegion, limit}, Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/time-limits", Tag: "sla", Summary: "List time limits", SummaryZH: "时限规则列表", Auth: docPerm(account.PermSLAWrite)},
		{Method: "POST", Path: "/api/v1/time-limits", Tag: "sla", Summary: "Add a time limit", SummaryZH: "新增时限规则", Auth: docPerm(account.PermSLAWrite),
			Body: "TimeLimitInput", Result: "TimeLimit", Status: 201, Errors: []int{409, 422}},
		{Method: "PUT", Path: "/api/v1/time-limits/{id}", Tag: "sla", Summary: "Change a time limit (running deadlines keep theirs)", SummaryZH: "修改时限规则（已在计时的不变）",
			Auth: docPerm(account.PermSLAWrite), Params: []apiParam{pathParam("id", "Rule id.", "规则 ID。")}, Body: "TimeLimitInput", Result: "TimeLimit", Errors: []int{404, 409, 422}},
		{Method: "DELETE", Path: "/api/v1/time-limits/{id}", Tag: "sla", Summary: "Delete a time limit", SummaryZH: "删除时限规则",
			Auth: docPerm(account.PermSLAWrite), Params: []apiParam{pathParam("id", "Rule id.", "规则 ID。")}, Status: 204},
		{Method: "GET", Path: "/api/v1/calendar", Tag: "sla", Summary: "The working calendar of a year", SummaryZH: "某年工作日历",
			Auth: docSession, Params: []apiParam{query("year", "integer", "Year (default: this year).", "年份（默认今年）。")}},
		{Method: "PUT", Path: "/api/v1/calendar/days/{date}", Tag: "sla", Summary: "Mark a day as holiday or make-up workday", SummaryZH: "设置节假日或调休上班日",
			Auth: docPerm(account.PermSLAWrite), Params: []apiParam{pathParam("date", "YYYY-MM-DD.", "日期。")}, Body: "CalendarDay", Errors: []int{422}},
		{Method: "DELETE", Path: "/api/v1/calendar/days/{date}", Tag: "sla", Summary: "Remove a day's special status", SummaryZH: "取消特殊日期",
			Auth: docPerm(account.PermSLAWrite), Params: []apiParam{pathParam("date", "YYYY-MM-DD.", "日期。")}, Status: 204},
		{Method: "PUT", Path: "/api/v1/calendar/hours", Tag: "sla", Summary: "Set the working hours", SummaryZH: "设置工作时间",
			Auth: docPerm(account.PermSLAWrite), Body: "WorkHours", Errors: []int{422}},
		{Method: "POST", Path: "/api/v1/calendar/import", Tag: "sla", Summary: "Import a schedule (CSV, JSON or ICS), with a preview", SummaryZH: "导入节假日安排（CSV、JSON、ICS），可预览",
			Auth: docPerm(account.PermSLAWrite), Params: []apiParam{query("format", "string", "csv, json or ics.", "格式。"), query("preview", "string", "1 to preview without saving.", "1 表示仅预览。")},
			Errors: []int{422}},

		// Documentation.
		{Method: "GET", Path: "/api/v1/openapi.json", Tag: "docs", Summary: "This API as OpenAPI 3.1", SummaryZH: "本接口的 OpenAPI 3.1 描述",
			Auth: docPublic, Result: "OpenAPI"},
		{Method: "GET", Path: "/api/docs", Tag: "docs", Summary: "This API as a readable page", SummaryZH: "接口文档页面", Auth: docPublic, Media: mediaHTML},

		// Open311 GeoReport v2 (package open311 documents the choices).
		{Method: "GET", Path: "/open311/v2/discovery.{format}", Tag: "open311", Summary: "Service discovery", SummaryZH: "服务发现",
			Auth: docPublic, Media: mediaOpen311, Result: "Open311Discovery"},
		{Method: "GET", Path: "/open311/v2/services.{format}", Tag: "open311", Summary: "Service list: one per category offered", SummaryZH: "服务列表：每个开放的分类一项",
			Auth: docPublic, Params: []apiParam{jur}, Media: mediaOpen311, Result: "Open311Services"},
		{Method: "GET", Path: "/open311/v2/services/{code}", Tag: "open311", Summary: "Service definition: the category's extra fields as attributes", SummaryZH: "服务定义：分类附加字段",
			Auth: docPublic, Params: []apiParam{pathParam("code", "service_code, then .json or .xml, e.g. ZL05.xml.", "service_code 加 .json 或 .xml，如 ZL05.xml。"), jur},
			Media: mediaOpen311, Result: "Open311ServiceDefinition"},
		{Method: "POST", Path: "/open311/v2/requests.{format}", Tag: "open311", Summary: "Create a service request (a public case, source open311)", SummaryZH: "提交服务请求（公开案件，来源 open311）",
			Auth: docAPIKey, Params: []apiParam{apiKey, form("service_code", true, "The service (category) code; unknown is 404.", "服务（分类）编码；未知为 404。"),
				form("lat", false, "WGS-84 latitude, with long.", "WGS-84 纬度，与 long 同传。"), form("long", false, "WGS-84 longitude, with lat.", "WGS-84 经度，与 lat 同传。"),
				form("address_id", false, "A region code (grid, community or street) instead of lat/long.", "区域编码（网格、社区或街道），可代替经纬度。"),
				form("address_string", false, "The address, stored as given; alone it cannot be placed (400).", "地址，原样保存；单独提供无法定位（400）。"),
				form("description", true, "What is wrong.", "问题描述。"), form("attribute[CODE]", false, "Answer to attribute CODE; attribute[CODE][] repeated for a multivaluelist.", "属性 CODE 的取值；多选时重复 attribute[CODE][]。"),
				form("phone", false, "Kept as the reporter's phone when it is a mainland mobile number; never shown publicly.", "大陆手机号时保存为上报人电话，从不公开。"),
				form("email", false, "Accepted, not stored.", "接受但不保存。"), form("first_name", false, "Accepted, not stored.", "接受但不保存。"), form("last_name", false, "Accepted, not stored.", "接受但不保存。"),
				form("account_id", false, "Echoed in the answer.", "在应答中原样返回。"), form("media_url", false, "Accepted, not fetched.", "接受但不抓取。"),
				{Name: "Idempotency-Key", In: "header", Desc: "Makes a retry return the first case.", DescZH: "重试时返回首次创建的案件。"}},
			Media: mediaOpen311, Result: "Open311Receipts", Errors: []int{403, 404, 429}},
		{Method: "GET", Path: "/open311/v2/requests.{format}", Tag: "open311", Summary: "Search public requests (default: the last 90 days, at most 1000)", SummaryZH: "查询公开请求（默认最近 90 天，最多 1000 条）",
			Auth: docPublic, Params: []apiParam{query("service_request_id", "string", "Comma list of ids; overrides the other filters.", "逗号分隔的编号；优先于其他条件。"),
				query("service_code", "string", "Comma list of service codes.", "逗号分隔的服务编码。"),
				{Name: "status", In: "query", Enum: []string{"open", "closed", "open,closed"}, Desc: "open, closed or both.", DescZH: "open、closed 或两者。"},
				start, end, query("page", "integer", "Page, from 1.", "页码，从 1 开始。"), query("page_size", "integer", "Page size, at most 1000 (the default).", "每页条数，最多（默认）1000。"), jur},
			Media: mediaOpen311, Result: "Open311Requests"},
		{Method: "GET", Path: "/open311/v2/requests/{id}", Tag: "open311", Summary: "One public request", SummaryZH: "单个公开请求",
			Auth: docPublic, Params: []apiParam{pathParam("id", "service_request_id (the case number), then .json or .xml.", "service_request_id（案件编号）加 .json 或 .xml。"), jur},
			Media: mediaOpen311, Result: "Open311Requests"},
		{Method: "GET", Path: "/open311/v2/tokens/{token}", Tag: "open311", Summary: "Token to service_request_id (a token is the id: every service is realtime)", SummaryZH: "令牌换编号（所有服务均为实时，令牌即编号）",
			Auth: docPublic, Params: []apiParam{pathParam("token", "The token, then .json or .xml.", "令牌加 .json 或 .xml。"), jur},
			Media: mediaOpen311, Result: "Open311Tokens"},
		{Method: "GET", Path: "/open311/v2/servicerequestupdates.{format}", Tag: "open311", Summary: "Public steps of public cases (mySociety extension)", SummaryZH: "公开案件的公开进展（mySociety 扩展）",
			Auth: docPublic, Params: []apiParam{start, end, jur}, Media: mediaOpen311, Result: "Open311Updates"},
		{Method: "POST", Path: "/open311/v2/servicerequestupdates.{format}", Tag: "open311", Summary: "Add an update where the workflow allows: FIXED or CLOSED closes a verified case", SummaryZH: "在流程允许时追加进展：FIXED 或 CLOSED 可结案已核查的案件",
			Auth: docAPIKey, Params: []apiParam{apiKey, form("service_request_id", true, "The request.", "请求编号。"), form("update_id", true, "The client's id of the update.", "接入方的进展 ID。"),
				form("status", true, "Extended status in upper case, e.g. FIXED.", "大写扩展状态，如 FIXED。"), form("updated_datetime", true, "W3C date-time with a zone.", "带时区的 W3C 时间。"),
				form("description", true, "Public text, stored as the step's note.", "公开说明，作为该步骤的备注。"), form("account_id", false, "Echoed in the answer.", "在应答中原样返回。")},
			Media: mediaOpen311, Result: "Open311UpdateReceipts", Errors: []int{403, 404, 429}},
	},
		registryOperations(),
		visitOperations(),
		deviceOperations(),
		benchmarkOperations(),
		benefitOperations(),
		assessOperations(),
		policyOperations(),
		sensingOperations(),
	)
}

// formatSuffix marks a path that stands for its .json and .xml routes.
const formatSuffix = ".{format}"

// patterns are the mux patterns an operation documents.
func (op apiOp) patterns() []string {
	if base, ok := strings.CutSuffix(op.Path, formatSuffix); ok {
		return []string{op.Method + " " + base + ".json", op.Method + " " + base + ".xml"}
	}
	return []string{op.Method + " " + op.Path}
}

// pathParams lists the names of a path's {wildcards}.
func pathParams(path string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(path, "{")
		if !ok {
			return out
		}
		name, tail, ok := strings.Cut(rest, "}")
		if !ok {
			return out
		}
		out = append(out, strings.TrimSuffix(name, "..."))
		path = tail
	}
}

// openAPIPath is the operation's OpenAPI path template (the same syntax as
// the mux's, which the routes keep to whole-segment wildcards).
func (op apiOp) openAPIPath() string { return op.Path }

func paramSchema(p apiParam) map[string]any {
	t := p.Type
	if t == "" {
		t = "string"
	}
	s := map[string]any{"type": t}
	if len(p.Enum) > 0 {
		s["enum"] = p.Enum
	}
	return s
}

func errorStatuses(op apiOp) []int {
	set := map[int]bool{}
	for _, c := range op.Errors {
		set[c] = true
	}
	if op.Auth.Session {
		set[http.StatusUnauthorized] = true
	}
	if op.Auth.Perm != "" || op.Auth.APIKey {
		set[http.StatusForbidden] = true
	}
	if slices.ContainsFunc(pathParams(op.Path), func(p string) bool { return p != "format" }) {
		set[http.StatusNotFound] = true
	}
	if len(op.Params) > 0 || op.Body != "" {
		set[http.StatusBadRequest] = true
	}
	out := make([]int, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Ints(out)
	return out
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// operationID names an operation from its method and path.
func (op apiOp) operationID() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(op.Method))
	for _, part := range strings.FieldsFunc(op.Path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString("_" + part)
	}
	return b.String()
}

// docsHandlers serve the OpenAPI document and the readable API page.
type docsHandlers struct {
	*view
}

// authText describes an operation's access rule in lang.
func (s *docsHandlers) authText(lang i18n.Lang, a apiAuth) string {
	switch {
	case a.APIKey:
		return s.Catalog.T(lang, "apidocs.auth_apikey")
	case a.Perm != "":
		return s.Catalog.T(lang, "apidocs.auth_perm", string(a.Perm))
	case a.Session:
		return s.Catalog.T(lang, "apidocs.auth_session")
	}
	return s.Catalog.T(lang, "apidocs.auth_public")
}

// openAPIDocument renders the table as an OpenAPI 3.1 document served at
// base.
func (s *docsHandlers) openAPIDocument(base string) map[string]any {
	paths := map[string]any{}
	for _, op := range apiOperations() {
		item, _ := paths[op.openAPIPath()].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.openAPIPath()] = item
		}
		item[strings.ToLower(op.Method)] = s.openAPIOperation(op)
	}
	tags := []any{}
	for _, t := range apiTags() {
		tags = append(tags, map[string]any{"name": t.Name, "description": t.Title + " · " + t.TitleZH})
	}
	version := s.Version
	if version == "" {
		version = "dev"
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Whistle 吹哨 API",
			"version": version,
			"description": "The native JSON API of Whistle and its Open311 GeoReport v2 endpoint. Errors of /api/ are " +
				`{"error":{"code","message","fields"}} in the caller's language (Accept-Language or ?lang=); errors of /open311/ are ` +
				"Open311 {code, description} lists in the requested format.\n\n吹哨平台的原生 JSON 接口与 Open311 GeoReport v2 接口。/api/ 的错误为 " +
				`{"error":{"code","message","fields"}}，按请求语言返回；/open311/ 的错误为 Open311 的 {code, description} 列表。`,
		},
		"servers": []any{map[string]any{"url": base}},
		"tags":    tags,
		"paths":   paths,
		"components": map[string]any{
			"schemas": apiSchemas(),
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "Token from POST /api/v1/session."},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie, "description": "The web session; state-changing requests also need X-CSRF-Token."},
			},
		},
	}
}

func (s *docsHandlers) openAPIOperation(op apiOp) map[string]any {
	o := map[string]any{
		"operationId":  op.operationID(),
		"summary":      op.Summary,
		"description":  op.SummaryZH + "\n\n" + s.authText(i18n.EN, op.Auth) + " · " + s.authText(i18n.ZH, op.Auth),
		"x-summary-zh": op.SummaryZH,
		"tags":         []any{op.Tag},
	}
	switch {
	case op.Auth.Session:
		o["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}}
		if op.Auth.Perm != "" {
			o["x-permission"] = string(op.Auth.Perm)
		}
	default:
		o["security"] = []any{}
	}
	params := []any{}
	formProps, formRequired := map[string]any{}, []any{}
	declared := map[string]bool{}
	for _, p := range op.Params {
		if p.In == "form" {
			formProps[p.Name] = map[string]any{"type": "string", "description": p.Desc + " " + p.DescZH}
			if p.Required {
				formRequired = append(formRequired, p.Name)
			}
			continue
		}
		declared[p.Name] = true
		params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path",
			"description": p.Desc + " " + p.DescZH, "schema": paramSchema(p)})
	}
	for _, name := range pathParams(op.Path) {
		if declared[name] {
			continue
		}
		p := map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}}
		if name == "format" {
			p["schema"] = map[string]any{"type": "string", "enum": []string{"json", "xml"}}
			p["description"] = "Response format. 应答格式。"
		}
		params = append(params, p)
	}
	o["parameters"] = params
	switch {
	case len(formProps) > 0:
		schema := map[string]any{"type": "object", "properties": formProps}
		if len(formRequired) > 0 {
			schema["required"] = formRequired
		}
		o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/x-www-form-urlencoded": map[string]any{"schema": schema}, "multipart/form-data": map[string]any{"schema": schema}}}
	case op.Body == "PhotoUpload" || op.Body == "RegistryFile":
		o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{"schema": ref(op.Body)}}}
	case op.Body == "IndicatorFile":
		// The form, or the values file itself as the body.
		file := map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
		o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{"schema": ref(op.Body)},
			"text/csv": file, xlsxType: file}}
	case op.Body != "":
		o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(op.Body)}}}
	}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	switch {
	case op.Media == mediaOpen311:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.Result)},
			"text/xml": map[string]any{"schema": ref(op.Result)}}
	case op.Media != "":
		ok["content"] = map[string]any{op.Media: map[string]any{"schema": map[string]any{"type": "string"}}}
	case op.Result != "":
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.Result)}}
	}
	responses := map[string]any{strconv.Itoa(status): ok}
	for _, c := range errorStatuses(op) {
		content := map[string]any{"application/json": map[string]any{"schema": ref("Error")}}
		if op.Media == mediaOpen311 {
			content = map[string]any{"application/json": map[string]any{"schema": ref("Open311Errors")},
				"text/xml": map[string]any{"schema": ref("Open311Errors")}}
		}
		r := map[string]any{"description": http.StatusText(c), "content": content}
		if c == http.StatusTooManyRequests {
			r["headers"] = map[string]any{"Retry-After": map[string]any{"description": "Seconds to wait.", "schema": map[string]any{"type": "integer"}}}
		}
		responses[strconv.Itoa(c)] = r
	}
	o["responses"] = responses
	return o
}

// obj is a schema of an object with the given properties, each a type name
// or a schema.
func obj(props map[string]any, required ...string) map[string]any {
	ps := map[string]any{}
	for k, v := range props {
		if t, ok := v.(string); ok {
			if strings.HasPrefix(t, "#") {
				ps[k] = ref(t[1:])
			} else {
				ps[k] = map[string]any{"type": t}
			}
			continue
		}
		ps[k] = v
	}
	s := map[string]any{"type": "object", "properties": ps}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func arrayOf(items any) map[string]any {
	if t, ok := items.(string); ok {
		if strings.HasPrefix(t, "#") {
			items = ref(t[1:])
		} else {
			items = map[string]any{"type": t}
		}
	}
	return map[string]any{"type": "array", "items": items}
}

func nullable(t string) map[string]any { return map[string]any{"type": []any{t, "null"}} }

// apiSchemas are the named schemas. Objects are open (more properties may
// appear); the properties listed are the ones clients rely on.
func apiSchemas() map[string]any {
	o311Request := obj(map[string]any{"service_request_id": "string", "status": map[string]any{"type": "string", "enum": []string{"open", "closed"}},
		"status_notes": "string", "service_name": "string", "service_code": "string", "description": "string", "agency_responsible": "string",
		"service_notice": "string", "requested_datetime": map[string]any{"type": "string", "format": "date-time"},
		"updated_datetime": "string", "expected_datetime": "string", "address": "string", "address_id": "string", "zipcode": "string",
		"lat": "number", "long": "number", "media_url": "string"}, "service_request_id", "status", "requested_datetime")
	schemas := map[string]any{
		"Error": obj(map[string]any{"error": obj(map[string]any{"code": "string", "message": "string",
			"fields": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}, "code", "message")}, "error"),
		"Login": obj(map[string]any{"username": "string", "password": "string"}, "username", "password"),
		"TimeLimitInput": obj(map[string]any{"workflow": map[string]any{"type": "string", "enum": []string{"whistle", "urban"}}, "stage": "string",
			"category_prefix": "string", "region_code": "string", "limit": map[string]any{"type": "string", "description": "2h, 30m, 1h30m (working time), 2wd (working days) or 6ch (natural hours)"},
			"use_category": "boolean", "warn_percent": "integer"}, "workflow", "stage", "limit"),
		"TimeLimit": obj(map[string]any{"id": "integer", "workflow": "string", "stage": "string", "category_prefix": "string", "region_code": "string",
			"limit": "string", "use_category": "boolean", "warn_percent": "integer", "updated_at": map[string]any{"type": "string", "format": "date-time"}},
			"id", "workflow", "stage", "limit"),
		"CalendarDay":    obj(map[string]any{"kind": map[string]any{"type": "string", "enum": []string{"holiday", "workday"}}, "name": "string"}, "kind"),
		"WorkHours":      obj(map[string]any{"work_hours": map[string]any{"type": "string", "description": "periods of the working day, e.g. 08:30-12:00,13:30-17:30"}}, "work_hours"),
		"SMSCodeRequest": obj(map[string]any{"phone": "string"}, "phone"),
		"SMSCodeSent":    obj(map[string]any{"message": "string", "expires_in": "integer"}, "message", "expires_in"),
		"SMSSignIn":      obj(map[string]any{"phone": "string", "code": "string"}, "phone", "code"),
		"SMSSession": obj(map[string]any{"token": "string", "csrf_token": "string", "user": obj(map[string]any{"id": "integer", "username": "string",
			"roles": arrayOf("string"), "region": "#RegionRef"})}, "token", "csrf_token", "user"),
		"Session": obj(map[string]any{"token": "string", "user": obj(map[string]any{"id": "integer", "username": "string", "roles": arrayOf("string"),
			"region": "#RegionRef"})}, "token", "user"),
		"Me": obj(map[string]any{"id": "integer", "username": "string", "roles": arrayOf("string"), "region": "#RegionRef", "user": "#User",
			"scope": "object", "permissions": arrayOf("string")}, "id", "username", "roles"),
		"User":     obj(map[string]any{"id": "integer", "username": "string", "display_name": "string", "phone": "string", "roles": arrayOf("string"), "region": "#RegionRef"}, "id", "username"),
		"UserList": obj(map[string]any{"users": arrayOf("#User"), "next": "integer"}, "users"),
		"NewUser": obj(map[string]any{"username": "string", "password": "string", "roles": arrayOf("string"), "region": "string", "department": "string",
			"display_name": "string", "phone": "string"}, "username", "password", "roles"),
		"Password": obj(map[string]any{"password": "string"}, "password"),
		"UserUpdate": obj(map[string]any{"display_name": "string", "phone": "string", "roles": arrayOf("string"), "region": "string", "department": "string",
			"disabled": "boolean", "locked": "boolean"}),
		"Reassign":          obj(map[string]any{"to": "integer"}, "to"),
		"Reassigned":        obj(map[string]any{"moved": "integer", "cases": arrayOf("string")}),
		"DepartmentList":    obj(map[string]any{"departments": arrayOf("object")}),
		"RegionRef":         obj(map[string]any{"code": "string", "name": "string", "level": "string"}),
		"Region":            obj(map[string]any{"code": "string", "name": "string", "level": "string", "parent": "#RegionRef", "path": arrayOf("#RegionRef"), "bbox": arrayOf("number")}, "code"),
		"RegionList":        obj(map[string]any{"children": arrayOf("#Region")}),
		"Location":          obj(map[string]any{"grid": "#RegionRef", "path": arrayOf("#RegionRef"), "snapped_m": "number"}),
		"FeatureCollection": obj(map[string]any{"type": "string", "features": arrayOf("object")}, "type", "features"),
		"ImportResult":      obj(map[string]any{"created": "integer", "updated": "integer", "valid": "boolean", "features": "integer", "levels": "object"}),
		"Category": obj(map[string]any{"code": "string", "parent_code": "string", "name": "string", "name_en": "string", "kind": "string", "edition": "string", "workflow": "string", "common": "integer", "sort": "integer",
			"department": "string", "time_limit": "string", "urgent": "boolean", "auto_dispatch": "boolean", "open311": "boolean", "active": "boolean", "fields": arrayOf("object"), "children": arrayOf("#Category")}, "code", "name"),
		"CategoryPatch": obj(map[string]any{"name": "string", "name_en": "string", "workflow": "string", "department": "string", "time_limit": "string",
			"urgent": "boolean", "auto_dispatch": "boolean", "open311": "boolean", "common": "integer", "sort": "integer", "active": "boolean", "fields": arrayOf("object")}),
		"CategoryList": obj(map[string]any{"categories": arrayOf("#Category")}),
		"DictItem":     obj(map[string]any{"code": "string", "label": "string", "label_en": "string", "sort": "integer", "enabled": "boolean"}, "code", "label"),
		"Dict":         obj(map[string]any{"code": "string", "name": "string", "name_en": "string", "sort": "integer", "items": arrayOf("#DictItem")}, "code", "name"),
		"DictList":     obj(map[string]any{"dicts": arrayOf("#Dict")}),
		"NewDispute": obj(map[string]any{"region": "string", "type": "string", "title": "string", "description": "string",
			"parties": arrayOf(obj(map[string]any{"role": "string", "name": "string", "id_number": "string", "phone": "string"}, "role", "name"))}, "region", "type", "title", "parties"),
		"Dispute": obj(map[string]any{"id": "integer", "district": "string", "region": "string", "type": "string", "title": "string", "description": "string",
			"status": "string", "workflow_version": "integer", "version": "integer", "mediator_id": "integer", "agreement": "string", "agreed_at": "string",
			"referral": "string", "stage_due_at": "string", "sla_state": "string", "created_at": "string", "updated_at": "string", "closed_at": "string",
			"parties": arrayOf("object"), "sessions": arrayOf("object"), "timeline": arrayOf("object")}, "id", "status"),
		"DisputeList": obj(map[string]any{"disputes": arrayOf("#Dispute"), "total": "integer"}),
		"NewHazard": obj(map[string]any{"region": "string", "type": "string", "title": "string", "description": "string", "place": "string",
			"visit_id": "integer", "patrol_id": "integer", "org_id": "integer", "house_id": "integer"}, "region", "type", "title"),
		"Hazard": obj(map[string]any{"id": "integer", "district": "string", "region": "string", "type": "string", "title": "string", "description": "string",
			"place": "string", "source": "string", "visit_id": "integer", "patrol_id": "integer", "org_id": "integer", "house_id": "integer", "status": "string",
			"workflow_version": "integer", "version": "integer", "deadline_at": "string", "escalations": "integer", "escalated_to": "string", "rechecks": "integer",
			"stage_due_at": "string", "sla_state": "string", "created_at": "string", "updated_at": "string", "closed_at": "string", "timeline": arrayOf("object")}, "id", "status"),
		"HazardList": obj(map[string]any{"hazards": arrayOf("#Hazard"), "total": "integer"}),
		"ItemActionInput": obj(map[string]any{"version": "integer", "note": "string", "participants": "string", "notes": "string", "held_at": "string",
			"agreement": "string", "referral": "string", "result": "string", "passed": "boolean", "deadline": "string"}),
		"Patrol": obj(map[string]any{"id": "integer", "worker_id": "integer", "worker_name": "string", "grid": "string", "grid_name": "string", "started_at": "string",
			"stopped_at": "string", "points": "integer", "flagged": "integer", "distance_m": "number", "duration_s": "integer", "coverage": "number", "cases": arrayOf("integer")}, "id", "grid"),
		"PatrolList":  obj(map[string]any{"patrols": arrayOf("#Patrol")}),
		"PatrolStart": obj(map[string]any{"grid": "string"}),
		"PatrolDetail": obj(map[string]any{"id": "integer", "worker_id": "integer", "worker_name": "string", "grid": "string", "grid_name": "string", "started_at": "string",
			"stopped_at": "string", "points": "integer", "flagged": "integer", "distance_m": "number", "duration_s": "integer", "coverage": "number", "cases": arrayOf("integer"),
			"track": "#FeatureCollection"}, "id", "track"),
		"PatrolPoints":      obj(map[string]any{"points": arrayOf(obj(map[string]any{"lat": "number", "lng": "number", "accuracy": "number", "at": "string"}, "lat", "lng", "at"))}, "points"),
		"PatrolPointsAdded": obj(map[string]any{"new": "integer", "duplicates": "integer", "patrol": "#Patrol"}),
		"Rule": obj(map[string]any{"id": "integer", "category_code": "string", "category_name": "string", "region_code": "string", "region_name": "string",
			"department": "string", "priority": "integer", "created_at": "string"}, "category_code", "department"),
		"RuleList": obj(map[string]any{"rules": arrayOf("#Rule")}),
		"Place": obj(map[string]any{"name": "string", "kind": map[string]any{"type": "string", "enum": []string{"street", "community", "grid", "landmark", "road", "address"}},
			"ref": "string", "parent_path": arrayOf("string"), "point": obj(map[string]any{"lat": "number", "lng": "number"}), "source": "string"}),
		"PlaceList":    obj(map[string]any{"places": arrayOf("#Place")}),
		"Landmark":     obj(map[string]any{"id": "integer", "name": "string", "kind": "string", "aliases": arrayOf("string"), "point": obj(map[string]any{"lat": "number", "lng": "number"}), "created_at": "string", "updated_at": "string"}),
		"LandmarkList": obj(map[string]any{"landmarks": arrayOf("#Landmark")}),
		"NewLandmark": obj(map[string]any{"name": "string", "kind": map[string]any{"type": "string", "enum": []string{"landmark", "road"}},
			"aliases": arrayOf("string"), "lat": "number", "lng": "number"}, "name", "kind", "lat", "lng"),
		"NewCase": obj(map[string]any{"category": "string", "description": "string", "lat": "number", "lng": "number", "crs": "string", "address": "string",
			"anonymous": "boolean", "phone": "string", "visibility": "string", "fields": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			"source": "string", "urgent": "boolean", "workflow": "string"}, "category", "description", "lat", "lng"),
		"Case": obj(map[string]any{"id": "integer", "number": "string", "status": "string", "workflow": "string", "category": obj(map[string]any{"code": "string", "name": "string"}),
			"description": "string", "address": "string", "location": obj(map[string]any{"lat": "number", "lng": "number"}), "source": "string",
			"visibility": "string", "department": obj(map[string]any{"code": "string", "name": "string"}), "deadline": "string", "sla": "string",
			"created_at": "string", "updated_at": "string", "closed_at": "string", "version": "integer", "actions": arrayOf("object"),
			"photos": arrayOf("#Photo"), "timeline": arrayOf("#Event")}, "id", "number", "status"),
		"CaseList": obj(map[string]any{"cases": arrayOf("#Case"), "next": "string", "total": "integer"}, "cases"),
		// PublicCase is casework.PublicView: what the public and followers
		// read (GET /api/v1/cases/{id} and its timeline answer a follower
		// outside the case's scope in this shape too). It names no one.
		"PublicCase": obj(map[string]any{"id": "integer", "number": "string", "status": "string", "workflow": "string",
			"category": obj(map[string]any{"code": "string", "name": "string"}), "description": "string", "address": "string",
			"location": obj(map[string]any{"lat": "number", "lng": "number"}), "region": "object", "source": "string", "urgent": "boolean",
			"visibility": "string", "department": obj(map[string]any{"code": "string", "name": "string"}), "rating": "integer",
			"reopens": "integer", "rework": "integer", "returns": "integer", "workflow_version": "integer", "supervised": "boolean", "parent_id": "integer",
			"created_at": "string", "updated_at": "string", "closed_at": "string", "deadline": "string", "sla": "string",
			"timeline": arrayOf("#PublicStep")}, "id", "number", "status"),
		"PublicCaseList": obj(map[string]any{"cases": arrayOf("#PublicCase")}, "cases"),
		"PublicStep": obj(map[string]any{"id": "integer", "at": "string", "role": "string", "action": "string", "from": "string", "to": "string",
			"note": "string", "data": "object", "photos": arrayOf("#Photo")}),
		"Event":        obj(map[string]any{"id": "integer", "at": "string", "actor": "string", "role": "string", "action": "string", "from": "string", "to": "string", "note": "string", "public": "boolean", "photos": arrayOf("#Photo")}),
		"Timeline":     obj(map[string]any{"timeline": arrayOf("#Event")}),
		"Photo":        obj(map[string]any{"id": "integer", "kind": "string", "mime": "string", "size": "integer", "width": "integer", "height": "integer", "created_at": "string"}),
		"RegistryFile": obj(map[string]any{"file": map[string]any{"type": "string", "contentMediaType": "text/csv"}}, "file"),
		"ImportReport": obj(map[string]any{"kind": "string", "rows": "integer", "columns": arrayOf("string"), "ignored": arrayOf("string"),
			"preview":     arrayOf(obj(map[string]any{"row": "integer", "cells": arrayOf("string")})),
			"errors":      arrayOf(obj(map[string]any{"row": "integer", "column": "string", "field": "string", "message": "string"})),
			"error_count": "integer", "dry_run": "boolean", "committed": "boolean",
			"result": obj(map[string]any{"created": "integer", "updated": "integer", "unchanged": "integer", "ids": arrayOf("integer")})}, "rows", "errors"),
		"PhotoUpload": obj(map[string]any{"photo": map[string]any{"type": "string", "contentMediaType": "image/*"}, "kind": "string"}, "photo"),
		"ActionInput": obj(map[string]any{"note": "string", "reason": "string", "target": obj(map[string]any{"user": "integer", "department": "string"}),
			"stars": "integer", "passed": "boolean", "result": "string", "parent": "integer", "hours": "integer", "photos": arrayOf("integer"), "comment": "string", "version": "integer"}),
		"Duplicates": obj(map[string]any{"duplicates": arrayOf("object")}),
		"Workflows": map[string]any{"type": "object", "additionalProperties": obj(map[string]any{"name": "string", "kind": "string", "version": "integer",
			"initial": "string", "states": arrayOf("string"), "terminal": arrayOf("string"), "transitions": arrayOf("object")})},
		"WorkflowDefinition": obj(map[string]any{"kind": "string", "name": "string", "version": "integer", "label": "object", "description": "string",
			"prefix": "string", "initial": "string", "states": arrayOf("object"), "actions": arrayOf("object"), "action_labels": "object"}),
		"WorkflowVersions": obj(map[string]any{"name": "string", "versions": arrayOf("object"), "definition": "object"}),
		"WorkflowUpload":   obj(map[string]any{"name": "string", "version": "integer", "applied": "boolean", "diff": arrayOf("string")}),
		"Inbox": obj(map[string]any{"messages": arrayOf(obj(map[string]any{"id": "integer", "case_id": "integer", "kind": "string", "action": "string",
			"expected": arrayOf("string"), "urgent": "boolean", "text": "string", "created_at": "string", "read_at": "string",
			"subject_kind": "string", "subject_id": "integer", "link": "string"})), "unread": "integer", "next_before": "integer"}),
		"NotificationSettingsInput": obj(map[string]any{"channels": arrayOf("string"), "email": "string", "openid": "string", "quiet_from": "string", "quiet_to": "string"}),
		"NotificationSettings": obj(map[string]any{"channels": arrayOf("string"), "email": "string", "openid": "string", "quiet_from": "string", "quiet_to": "string",
			"available": arrayOf("string")}),
		"InboxRead": obj(map[string]any{"id": "integer"}),
		"AuditList": obj(map[string]any{"entries": arrayOf(obj(map[string]any{"id": "integer", "at": "string", "actor": "string", "action": "string", "target": "string", "ip": "string", "summary": "string"}))}),
		"LoginLog":  obj(map[string]any{"entries": arrayOf("object"), "total": "integer"}),
		"APIKey": obj(map[string]any{"id": "integer", "name": "string", "prefix": "string", "created_by": "string", "region": "string", "services": arrayOf("string"),
			"created_at": "string", "revoked_at": nullable("string")}, "id", "name"),
		"APIKeyList":       obj(map[string]any{"keys": arrayOf("#APIKey")}),
		"NewAPIKey":        obj(map[string]any{"name": "string", "region": "string", "services": arrayOf("string")}, "name"),
		"NewAPIKeyResult":  obj(map[string]any{"key": "string", "api_key": "#APIKey"}, "key"),
		"OpenAPI":          obj(map[string]any{"openapi": "string", "paths": "object"}, "openapi", "paths"),
		"Open311Errors":    arrayOf(obj(map[string]any{"code": "integer", "description": "string"}, "code", "description")),
		"Open311Discovery": obj(map[string]any{"changeset": "string", "contact": "string", "key_service": "string", "endpoints": arrayOf(obj(map[string]any{"specification": "string", "url": "string", "changeset": "string", "type": "string", "formats": arrayOf("string")}))}, "changeset", "contact", "key_service", "endpoints"),
		"Open311Services": arrayOf(obj(map[string]any{"service_code": "string", "service_name": "string", "description": "string", "metadata": "boolean",
			"type": "string", "keywords": "string", "group": "string"}, "service_code", "service_name", "metadata", "type")),
		"Open311ServiceDefinition": obj(map[string]any{"service_code": "string", "attributes": arrayOf(obj(map[string]any{"variable": "boolean", "code": "string",
			"datatype": map[string]any{"type": "string", "enum": []string{"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}},
			"required": "boolean", "datatype_description": "string", "order": "integer", "description": "string",
			"values": arrayOf(obj(map[string]any{"key": "string", "name": "string"}))}))}, "service_code", "attributes"),
		"Open311Requests":       arrayOf(o311Request),
		"Open311Receipts":       arrayOf(obj(map[string]any{"service_request_id": "string", "service_notice": "string", "account_id": "string"}, "service_request_id")),
		"Open311Tokens":         arrayOf(obj(map[string]any{"token": "string", "service_request_id": "string"}, "token")),
		"Open311Updates":        arrayOf(obj(map[string]any{"update_id": "string", "service_request_id": "string", "status": "string", "updated_datetime": "string", "description": "string", "media_url": "string", "external_status_code": "string"}, "update_id", "service_request_id", "status", "updated_datetime", "description", "media_url")),
		"Open311UpdateReceipts": arrayOf(obj(map[string]any{"update_id": "string", "account_id": "string"}, "update_id")),
	}
	maps.Copy(schemas, registrySchemas())
	maps.Copy(schemas, visitSchemas())
	maps.Copy(schemas, deviceSchemas())
	maps.Copy(schemas, benchmarkSchemas())
	maps.Copy(schemas, benefitSchemas())
	maps.Copy(schemas, assessSchemas())
	maps.Copy(schemas, policySchemas())
	maps.Copy(schemas, sensingSchemas())
	return schemas
}

// apiOpenAPI serves the OpenAPI document.
func (s *docsHandlers) apiOpenAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.openAPIDocument(s.baseURL(r)))
	return nil
}

// docParam, docOp and docGroup are the API page's view of the table.
type docParam struct {
	Name, In, Desc string
	Required       bool
}

type docOp struct {
	Method, Path, Summary, Auth string
	Params                      []docParam
	Body                        string
	Status                      int
}

type docGroup struct {
	Title string
	Ops   []docOp
}

type apiDocsPage struct {
	Groups []docGroup
	Count  int
}

// pageAPIDocs lists the operations grouped by tag, in the caller's language.
func (s *docsHandlers) pageAPIDocs(w http.ResponseWriter, r *http.Request) error {
	lang := langOf(r)
	byTag := map[string][]docOp{}
	n := 0
	for _, op := range apiOperations() {
		d := docOp{Method: op.Method, Path: op.Path, Summary: op.Summary, Auth: s.authText(lang, op.Auth), Body: op.Body, Status: op.Status}
		if d.Status == 0 {
			d.Status = http.StatusOK
		}
		if lang == i18n.ZH {
			d.Summary = op.SummaryZH
		}
		for _, p := range op.Params {
			dp := docParam{Name: p.Name, In: p.In, Required: p.Required || p.In == "path", Desc: p.Desc}
			if lang == i18n.ZH && p.DescZH != "" {
				dp.Desc = p.DescZH
			}
			d.Params = append(d.Params, dp)
		}
		byTag[op.Tag] = append(byTag[op.Tag], d)
		n++
	}
	var p apiDocsPage
	for _, t := range apiTags() {
		title := t.Title
		if lang == i18n.ZH {
			title = t.TitleZH
		}
		if ops := byTag[t.Name]; len(ops) > 0 {
			p.Groups = append(p.Groups, docGroup{Title: title, Ops: ops})
		}
	}
	p.Count = n
	return s.render(w, r, http.StatusOK, "apidocs.html", s.newPage(r, "apidocs.title", p))
}
