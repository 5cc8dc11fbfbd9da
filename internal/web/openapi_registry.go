package web

// registryOperations documents the registry's routes (api_registry.go).
func registryOperations() []apiOp {
	auth := apiAuth{Session: true}
	id := func(what, zh string) apiParam { return pathParam("id", what+" id (numeric).", zh+" ID（数字）。") }
	grid := query("grid", "string", "Grid code in the caller's scope (404 outside it).", "数据范围内的网格编码（范围外为 404）。")
	page := []apiParam{query("limit", "integer", "Page size (at most 1000).", "每页条数（最多 1000）。"), query("offset", "integer", "Rows to skip: the next of the previous page.", "跳过的条数：上一页返回的 next。")}
	unmask := query("unmask", "string", "1 shows personal data in the clear to holders of personal.unmask (audited).", "为 1 时向有 personal.unmask 权限者显示明文（记审计日志）。")
	lists := func(ps ...apiParam) []apiParam { return append(append(ps, page...), unmask) }
	return []apiOp{
		{Method: "GET", Path: "/api/v1/people", Tag: "registry", Summary: "People in the caller's scope, masked; ?id_number= is the exact match", SummaryZH: "数据范围内的人员（脱敏）；id_number 为精确查询",
			Auth: auth, Params: lists(grid, query("status", "string", "resident, floating or lodging.", "常住 resident、流动 floating 或寄住 lodging。"),
				query("group", "string", "Group code, e.g. elderly_alone.", "人群类别代码，如 elderly_alone。"), query("household", "string", "Household number.", "户号。"),
				query("id_number", "string", "Identity number (exact).", "身份证号码（精确）。")), Result: "PersonList", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/people", Tag: "registry", Summary: "Register a person in a grid of the caller's scope", SummaryZH: "在数据范围内的网格登记人员",
			Auth: auth, Body: "NewPerson", Status: 201, Result: "Person", Errors: []int{404, 409, 422}},
		{Method: "GET", Path: "/api/v1/people/{id}", Tag: "registry", Summary: "A person with their houses and groups", SummaryZH: "人员详情及其房屋、人群类别",
			Auth: auth, Params: []apiParam{id("Person", "人员"), unmask}, Result: "PersonDetail"},
		{Method: "PATCH", Path: "/api/v1/people/{id}", Tag: "registry", Summary: "Change a person (absent members stay)", SummaryZH: "修改人员信息（未给出的字段不变）",
			Auth: auth, Params: []apiParam{id("Person", "人员")}, Body: "PersonPatch", Result: "Person", Errors: []int{409, 422}},
		{Method: "POST", Path: "/api/v1/people/{id}/houses", Tag: "registry", Summary: "Link a person to a house as owner, tenant or family", SummaryZH: "关联人员与房屋（产权人、租户或家属）",
			Auth: auth, Params: []apiParam{id("Person", "人员")}, Body: "HouseLinkRequest", Result: "HouseLinkList", Errors: []int{422}},
		{Method: "DELETE", Path: "/api/v1/people/{id}/houses/{house}", Tag: "registry", Summary: "Unlink a person from a house (history kept)", SummaryZH: "解除人员与房屋的关联（记入变更记录）",
			Auth: auth, Params: []apiParam{id("Person", "人员"), pathParam("house", "House id (numeric).", "房屋 ID（数字）。")}, Status: 204, Errors: []int{404}},
		{Method: "GET", Path: "/api/v1/people/{id}/history", Tag: "registry", Summary: "A person's history of changes, oldest first, personal values masked", SummaryZH: "人员变更记录（按时间先后，个人信息脱敏）",
			Auth: auth, Params: []apiParam{id("Person", "人员")}, Result: "HistoryList"},
		{Method: "GET", Path: "/api/v1/buildings", Tag: "registry", Summary: "Buildings in the caller's scope", SummaryZH: "数据范围内的楼栋",
			Auth: auth, Params: append([]apiParam{grid}, page...), Result: "BuildingList", Errors: []int{404}},
		{Method: "POST", Path: "/api/v1/buildings", Tag: "registry", Summary: "Register a building (its point decides the grid)", SummaryZH: "登记楼栋（按位置确定网格）",
			Auth: auth, Body: "NewBuilding", Status: 201, Result: "Building", Errors: []int{404, 422}},
		{Method: "GET", Path: "/api/v1/houses", Tag: "registry", Summary: "Houses in the caller's scope; vacant=1 for the vacant ones", SummaryZH: "数据范围内的房屋；vacant=1 为空置房屋",
			Auth: auth, Params: append([]apiParam{grid, query("building", "integer", "Building id.", "楼栋 ID。"), query("use", "string", "residential, shop or vacant.", "用途。"),
				query("rental", "string", "not_rented, rented or partly_rented.", "出租情况。"), query("vacant", "string", "1: vacant houses only.", "1：仅空置房屋。")}, page...),
			Result: "HouseList", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/houses", Tag: "registry", Summary: "Register a house in a building", SummaryZH: "登记房屋",
			Auth: auth, Body: "NewHouse", Status: 201, Result: "House", Errors: []int{404, 409, 422}},
		{Method: "GET", Path: "/api/v1/houses/{id}/residents", Tag: "registry", Summary: "The people linked to a house, with their relation", SummaryZH: "房屋的关联人员及关系",
			Auth: auth, Params: []apiParam{id("House", "房屋"), unmask}, Result: "ResidentList"},
		{Method: "GET", Path: "/api/v1/organisations", Tag: "registry", Summary: "Organisations in the caller's scope", SummaryZH: "数据范围内的单位",
			Auth: auth, Params: lists(grid, query("kind", "string", "company, shop, public_place or other.", "单位类型。"),
				query("safety_category", "string", "none, general, key or major.", "安全检查类别。"), query("credit_code", "string", "Unified social credit code (exact).", "统一社会信用代码（精确）。")),
			Result: "OrganisationList", Errors: []int{404, 422}},
		{Method: "POST", Path: "/api/v1/organisations", Tag: "registry", Summary: "Register an organisation", SummaryZH: "登记单位",
			Auth: auth, Body: "NewOrganisation", Status: 201, Result: "Organisation", Errors: []int{404, 409, 422}},
		{Method: "GET", Path: "/api/v1/grids/{code}/summary", Tag: "registry", Summary: "A grid at a glance: people by status and group, houses, organisations, open cases, visits due",
			SummaryZH: "网格概况：人员（按类型、人群）、房屋、单位、未办结案件、待走访", Auth: auth, Params: []apiParam{pathParam("code", "Grid code.", "网格编码。")}, Result: "GridSummary"},
		{Method: "GET", Path: "/api/v1/regions/{code}/base-counts", Tag: "registry", Summary: "A region node's base data counts (people by status and group, houses by use, buildings, organisations), from the rollup",
			SummaryZH: "区域节点的基础数据统计（人员按类型、人群，房屋按用途，楼栋，单位），来自汇总表", Auth: auth,
			Params: []apiParam{pathParam("code", "Region code: grid, community, street or district.", "区域编码：网格、社区、街道或区。")}, Result: "BaseCounts", Errors: []int{404}},
	}
}

// registrySchemas are the registry's JSON shapes.
func registrySchemas() map[string]any {
	personProps := map[string]any{"id_number": "string", "name": "string", "sex": "string", "birth_date": "string", "phone": "string",
		"hukou_address": "string", "residence_address": "string", "status": "string", "registered_on": "string", "household_id": "string",
		"household_relation": "string", "grid_code": "string"}
	person := map[string]any{"id": "integer", "region_path": "string", "masked": "boolean", "created_at": "string", "updated_at": "string"}
	for k, v := range personProps {
		person[k] = v
	}
	newPerson := map[string]any{"house_id": "integer", "house_relation": "string"}
	for k, v := range personProps {
		newPerson[k] = v
	}
	house := map[string]any{"id": "integer", "building_id": "integer", "grid_code": "string", "region_path": "string", "address": "string", "unit": "string",
		"room": "string", "use": "string", "ownership": "string", "rental": "string", "landlord_id": "integer", "area": "number", "created_at": "string", "updated_at": "string"}
	houseLink := map[string]any{"relation": "string"}
	for k, v := range house {
		houseLink[k] = v
	}
	resident := map[string]any{"relation": "string"}
	for k, v := range person {
		resident[k] = v
	}
	orgProps := map[string]any{"credit_code": "string", "name": "string", "kind": "string", "address": "string", "house_id": "integer", "contact_name": "string",
		"contact_phone": "string", "industry": "string", "size": "string", "safety_category": "string", "grid_code": "string"}
	org := map[string]any{"id": "integer", "region_path": "string", "masked": "boolean", "created_at": "string", "updated_at": "string"}
	for k, v := range orgProps {
		org[k] = v
	}
	personDetail := map[string]any{"houses": arrayOf(obj(houseLink)), "groups": arrayOf("string")}
	for k, v := range person {
		personDetail[k] = v
	}
	counts := map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "integer"}}
	return map[string]any{
		"Person":           obj(person, "id", "id_number", "name", "status", "grid_code", "masked"),
		"PersonDetail":     obj(personDetail, "id", "id_number", "name", "houses", "groups"),
		"PersonList":       obj(map[string]any{"people": arrayOf("#Person"), "next": "integer"}, "people"),
		"NewPerson":        obj(newPerson, "id_number", "name", "status"),
		"PersonPatch":      obj(map[string]any{"id_number": "string", "name": "string", "phone": "string", "hukou_address": "string", "residence_address": "string", "status": "string", "registered_on": "string", "household_id": "string", "household_relation": "string", "grid_code": "string"}),
		"HouseLinkRequest": obj(map[string]any{"house_id": "integer", "relation": "string"}, "house_id", "relation"),
		"HistoryList": obj(map[string]any{"history": arrayOf(obj(map[string]any{"id": "integer", "at": "string", "actor_id": "integer", "actor": "string", "table": "string",
			"record_id": "integer", "action": "string", "diff": map[string]any{"type": "object", "additionalProperties": obj(map[string]any{"old": "string", "new": "string"}, "old", "new")}},
			"id", "at", "actor", "action", "diff"))}, "history"),
		"HouseLinkList": obj(map[string]any{"houses": arrayOf(obj(houseLink))}, "houses"),
		"Building": obj(map[string]any{"id": "integer", "grid_code": "string", "region_path": "string", "name": "string", "address": "string", "lat": "number", "lng": "number",
			"floors": "integer", "units": "integer", "created_at": "string", "updated_at": "string"}, "id", "grid_code", "address"),
		"BuildingList":     obj(map[string]any{"buildings": arrayOf("#Building"), "next": "integer"}, "buildings"),
		"NewBuilding":      obj(map[string]any{"name": "string", "address": "string", "lat": "number", "lng": "number", "floors": "integer", "units": "integer"}, "address", "lat", "lng"),
		"House":            obj(house, "id", "building_id", "grid_code", "room", "use"),
		"HouseList":        obj(map[string]any{"houses": arrayOf("#House"), "next": "integer"}, "houses"),
		"NewHouse":         obj(map[string]any{"building_id": "integer", "unit": "string", "room": "string", "use": "string", "ownership": "string", "rental": "string", "landlord_id": "integer", "area": "number"}, "building_id", "room"),
		"ResidentList":     obj(map[string]any{"residents": arrayOf(obj(resident))}, "residents"),
		"Organisation":     obj(org, "id", "credit_code", "name", "grid_code"),
		"OrganisationList": obj(map[string]any{"organisations": arrayOf("#Organisation"), "next": "integer"}, "organisations"),
		"NewOrganisation":  obj(orgProps, "credit_code", "name", "address"),
		"GridSummary": obj(map[string]any{"grid_code": "string", "grid_name": "string", "people": "integer", "people_by_status": counts, "people_by_group": counts,
			"buildings": "integer", "houses": "integer", "houses_by_use": counts, "vacant_houses": "integer", "organisations": "integer", "open_cases": "integer", "visits_due": "integer"},
			"grid_code", "people", "open_cases", "visits_due"),
		"BaseCounts": obj(map[string]any{"node": "string", "people": "integer", "people_by_status": counts, "people_by_group": counts,
			"houses": "integer", "houses_by_use": counts, "buildings": "integer", "organisations": "integer"},
			"node", "people", "houses", "buildings", "organisations"),
	}
}
