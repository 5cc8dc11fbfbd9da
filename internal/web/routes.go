package web

import (
	"io/fs"
	"net/http"
	"strings"
	"whistle/internal/assess"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"whistle/internal/account"
	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/media"
	"whistle/internal/open311"
	"whistle/internal/policy"
	"whistle/internal/region"
)

// Access is what a route demands of its caller. The zero Access is public.
type Access struct {
	// Auth requires a logged-in user.
	Auth bool
	// Perm, when set, also requires the permission.
	Perm account.Perm
}

var (
	public = Access{}
	authed = Access{Auth: true}
)

func needs(p account.Perm) Access { return Access{Auth: true, Perm: p} }

// Route is a registered route and its access rule.
type Route struct {
	Pattern string
	Access  Access
}

// handlerFunc is a handler that returns its error for one place to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// features are the handlers of each feature, each holding only the
// services it uses.
type features struct {
	accounts   *accountAPI
	regions    *regionAPI
	places     *placesAPI
	categories *categoryAPI
	dicts      *dictAPI
	disputes   *disputeHandlers
	patrols    *patrolHandlers
	imports    *importHandlers
	open311    *open311API
	cases      *caseHandlers
	phones     *phoneAPI
	inbox      *inboxHandlers
	admin      *adminPages
	session    *sessionPages
	oidc       *oidcPages
	events     *eventsAPI
	sla        *slaHandlers
	stats      *statsHandlers
	workflows  *workflowAPI
	wfPages    *workflowPages
	docs       *docsHandlers
	registry   *registryAPI
	visits     *visitHandlers
	devices    *deviceHandlers
	benchmark  *benchmarkAPI
	benefits   *benefitHandlers
	assess     *assessHandlers
	policies   *policyAPI
	sensing    *sensingHandlers
	benefitPg  *benefitPages
}

// features builds each feature's handlers from the server's services: the
// one place where they are made.
func (s *Server) features() features {
	return features{
		accounts:   &accountAPI{Accounts: s.Accounts, Regions: s.Regions, Audit: s.Audit, Cases: s.Cases},
		regions:    &regionAPI{Regions: s.Regions},
		places:     &placesAPI{view: s.view, Places: s.Places, Landmarks: s.Landmarks, Regions: s.Regions},
		categories: &categoryAPI{Categories: s.Categories},
		dicts:      &dictAPI{view: s.view, Dicts: s.Dicts},
		disputes:   &disputeHandlers{view: s.view, Disputes: s.Disputes},
		patrols:    &patrolHandlers{view: s.view, Patrols: s.Patrols, Regions: s.Regions},
		imports:    &importHandlers{view: s.view, Imports: s.Imports, Accounts: s.Accounts},
		open311: &open311API{view: s.view, svc: open311.NewService(open311.Deps{Cases: s.Cases, Categories: s.Categories,
			Regions: s.Regions, Keys: s.Accounts, Limit: s.Open311Keys, Clock: s.Clock})},
		cases: &caseHandlers{view: s.view, Cases: s.Cases, Accounts: s.Accounts, Regions: s.Regions, Categories: s.Categories, Synonyms: s.Synonyms,
			Clock: s.Clock, SLA: s.SLA, Patrols: s.Patrols, Dicts: s.Dicts, Visits: s.Visits},
		phones: &phoneAPI{view: s.view, Phones: s.Phones, Cases: s.Cases},
		inbox:  &inboxHandlers{view: s.view, Outbox: s.Outbox, WeChat: s.WeChat},
		admin: &adminPages{view: s.view, Accounts: s.Accounts, Regions: s.Regions, Categories: s.Categories, Audit: s.Audit, Cases: s.Cases,
			Clock: s.Clock},
		session: &sessionPages{view: s.view, Accounts: s.Accounts, Demo: s.Demo, SSO: s.OIDC != nil},
		oidc:    &oidcPages{view: s.view, OIDC: s.OIDC, Accounts: s.Accounts, Clock: s.Clock},
		events:  &eventsAPI{view: s.view, Bus: s.Bus},
		sla: &slaHandlers{view: s.view, SLA: s.SLA, Stats: s.Stats, Cases: s.Cases, Regions: s.Regions,
			Clock: s.Clock},
		stats:     &statsHandlers{view: s.view, Stats: s.Stats, Clock: s.Clock},
		workflows: &workflowAPI{view: s.view, Workflows: s.Workflows},
		wfPages:   &workflowPages{view: s.view, Workflows: s.Workflows},
		docs:      &docsHandlers{view: s.view},
		registry: &registryAPI{view: s.view, Registry: s.BaseData, Accounts: s.Accounts, Patrols: s.Patrols, Visits: s.Visits, Eligibility: s.Eligibility,
			Clock: s.Clock},
		visits:    &visitHandlers{view: s.view, Visits: s.Visits, Categories: s.Categories},
		devices:   &deviceHandlers{view: s.view, Devices: s.Devices, Ingest: s.Ingest, Bus: s.Bus, Keys: s.Accounts, Clock: s.Clock},
		benchmark: &benchmarkAPI{view: s.view, Benchmark: s.Benchmark},
		benefits:  &benefitHandlers{view: s.view, Benefits: s.Benefits},
		assess:    &assessHandlers{view: s.view, Assess: s.Assess, Benchmark: s.Benchmark},
		policies:  &policyAPI{view: s.view, Engine: s.Eligibility, Accounts: s.Accounts, Clock: s.Clock},
		benefitPg: &benefitPages{view: s.view, Engine: s.Eligibility, Benefits: s.Benefits, Registry: s.BaseData, Regions: s.Regions, Clock: s.Clock},
		sensing:   &sensingHandlers{view: s.view, Sensing: s.Sensing},
	}
}

// registerRoutes is the one place where routes are declared: pattern,
// access and handler.
func (s *Server) registerRoutes() {
	f := s.features()
	// Operations.
	s.handle("GET /healthz", public, s.healthz)
	s.handle("GET /readyz", public, s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.routes = append(s.routes, Route{Pattern: "GET /metrics", Access: public})

	// Session and identity.
	s.handle("POST /api/v1/session", public, f.accounts.apiLogin)
	s.handle("POST /api/v1/session/sms-code", public, f.phones.apiSMSCode)
	s.handle("POST /api/v1/session/sms", public, f.phones.apiSMSSignIn)
	s.handle("DELETE /api/v1/session", authed, f.accounts.apiLogout)
	s.handle("GET /api/v1/me", authed, f.accounts.apiMe)

	// Regions: geography is public; writing it is an admin's job.
	s.handle("GET /api/v1/regions/locate", public, f.regions.apiLocate)
	s.handle("GET /api/v1/regions/export", needs(account.PermRegionWrite), f.regions.apiRegionExport)
	s.handle("POST /api/v1/regions/import", needs(account.PermRegionWrite), f.regions.apiRegionImport)
	s.handle("GET /api/v1/regions/{code}", public, f.regions.apiRegion)
	s.handle("GET /api/v1/regions/{code}/children", public, f.regions.apiRegionChildren)
	s.handle("GET /api/v1/regions/{code}/geojson", public, f.regions.apiRegionGeoJSON)

	// Places: residents search the map before they have an account (rate
	// limited per client, Limits.Search); landmarks are an admin's.
	s.handle("GET /api/v1/places/search", public, f.places.apiPlacesSearch)
	s.handle("GET /api/v1/landmarks", needs(account.PermRegionWrite), f.places.apiLandmarks)
	s.handle("POST /api/v1/landmarks", needs(account.PermRegionWrite), f.places.apiLandmarkCreate)
	s.handle("PUT /api/v1/landmarks/{id}", needs(account.PermRegionWrite), f.places.apiLandmarkUpdate)
	s.handle("DELETE /api/v1/landmarks/{id}", needs(account.PermRegionWrite), f.places.apiLandmarkDelete)

	// Accounts, scoped.
	s.handle("GET /api/v1/users", needs(account.PermUserRead), f.accounts.apiUsers)
	s.handle("POST /api/v1/users", needs(account.PermUserWrite), f.accounts.apiUserAdd)
	s.handle("GET /api/v1/users/{id}", needs(account.PermUserRead), f.accounts.apiUser)
	s.handle("POST /api/v1/users/{id}/password", needs(account.PermUserWrite), f.accounts.apiUserPassword)
	s.handle("PATCH /api/v1/users/{id}", needs(account.PermUserWrite), f.accounts.apiUserUpdate)
	s.handle("POST /api/v1/users/{id}/reassign", needs(account.PermUserWrite), f.accounts.apiUserReassign)
	s.handle("GET /api/v1/departments", needs(account.PermDepartmentRead), f.accounts.apiDepartments)

	// Categories: the tree is public; changing it and routing is an admin's job.
	s.handle("GET /api/v1/categories", public, f.categories.apiCategories)
	s.handle("POST /api/v1/categories", needs(account.PermCategoryWrite), f.categories.apiCategoryCreate)
	s.handle("GET /api/v1/categories/{code}", public, f.categories.apiCategory)
	s.handle("PATCH /api/v1/categories/{code}", needs(account.PermCategoryWrite), f.categories.apiCategoryUpdate)
	s.handle("GET /api/v1/routing-rules", needs(account.PermCategoryWrite), f.categories.apiRoutingRules)
	s.handle("POST /api/v1/routing-rules", needs(account.PermCategoryWrite), f.categories.apiRoutingRuleAdd)
	s.handle("DELETE /api/v1/routing-rules/{id}", needs(account.PermCategoryWrite), f.categories.apiRoutingRuleDelete)

	// Dictionaries (字典管理): value lists a district customises; admins only.
	s.handle("GET /api/v1/dicts", needs(account.PermCategoryWrite), f.dicts.apiDicts)
	s.handle("GET /api/v1/dicts/{type}", needs(account.PermCategoryWrite), f.dicts.apiDict)
	s.handle("POST /api/v1/dicts/{type}/items", needs(account.PermCategoryWrite), f.dicts.apiDictItemAdd)
	s.handle("PATCH /api/v1/dicts/{type}/items/{code}", needs(account.PermCategoryWrite), f.dicts.apiDictItemUpdate)

	// Disputes and safety hazards: staff in scope (the service answers 404
	// to anyone else, residents included).
	s.handle("GET /api/v1/disputes", authed, apiItems(f.disputes, "disputes", (*dispute.Service).ListDisputes))
	s.handle("POST /api/v1/disputes", authed, apiItemCreate(f.disputes, (*dispute.Service).CreateDispute))
	s.handle("GET /api/v1/disputes/{id}", authed, apiItem(f.disputes, getDispute, (*dispute.Service).DisputeTimeline))
	s.handle("POST /api/v1/disputes/{id}/actions/{action}", authed, apiItemAction(f.disputes, (*dispute.Service).ActDispute))
	// 考核 and the 经验库: the service decides who may (assessors: admins
	// and leaders; a unit's own staff for its detail and appeals) and
	// answers 404 for units outside the caller's scope.
	s.handle("GET /api/v1/assessment/periods", authed, f.assess.apiPeriods)
	s.handle("POST /api/v1/assessment/periods", authed, assessCreate(f.assess, (*assess.Service).CreatePeriod))
	s.handle("POST /api/v1/assessment/periods/{period}/{step}", authed, f.assess.apiPeriodStep)
	s.handle("GET /api/v1/assessment/items", authed, f.assess.apiItems)
	s.handle("POST /api/v1/assessment/items", authed, assessCreate(f.assess, (*assess.Service).AddItem))
	s.handle("GET /api/v1/assessment/scores", authed, assessRead(f.assess, report))
	s.handle("POST /api/v1/assessment/scores", authed, f.assess.apiManualScore)
	s.handle("GET /api/v1/assessment/league", authed, f.assess.apiLeague)
	s.handle("GET /api/v1/assessment/board", needs(account.PermStatsRead), f.assess.apiBoard)
	s.handle("POST /api/v1/assessment/appeals", authed, assessCreate(f.assess, (*assess.Service).FileAppeal))
	s.handle("POST /api/v1/assessment/appeals/{id}/decision", authed, f.assess.apiDecide)
	s.handle("POST /api/v1/assessment/ratings", authed, assessCreate(f.assess, (*assess.Service).Rate))
	s.handle("POST /api/v1/assessment/unreasonable", authed, f.assess.apiMark)
	s.handle("POST /api/v1/assessment/unreasonable/{case}/confirm", authed, f.assess.apiConfirm)
	s.handle("GET /api/v1/assessment/learn", authed, f.assess.apiLearn)
	s.handle("GET /api/v1/practices", authed, f.assess.apiPractices)
	s.handle("POST /api/v1/practices", authed, assessCreate(f.assess, (*assess.Service).AddPractice))
	s.handle("GET /api/v1/hazards", authed, apiItems(f.disputes, "hazards", (*dispute.Service).ListHazards))
	s.handle("POST /api/v1/hazards", authed, apiItemCreate(f.disputes, (*dispute.Service).CreateHazard))
	s.handle("GET /api/v1/hazards/{id}", authed, apiItem(f.disputes, getHazard, (*dispute.Service).HazardTimeline))
	s.handle("POST /api/v1/hazards/{id}/actions/{action}", authed, apiItemAction(f.disputes, (*dispute.Service).ActHazard))
	// Sensing (issue 17): rules are the admins' (the service refuses
	// others, 403); alarms, away periods and contacts are staff's in
	// scope (404 outside it).
	s.handle("GET /api/v1/rules", authed, f.sensing.apiRules)
	s.handle("POST /api/v1/rules", authed, f.sensing.apiRuleCreate)
	s.handle("PATCH /api/v1/rules/{id}", authed, f.sensing.apiRulePatch)
	s.handle("GET /api/v1/alarms", authed, f.sensing.apiAlarms)
	s.handle("GET /api/v1/alarms/{id}", authed, f.sensing.apiAlarm)
	s.handle("POST /api/v1/alarms/{id}/actions/{action}", authed, f.sensing.apiAlarmAction)
	s.handle("POST /api/v1/away", authed, f.sensing.apiAway)
	s.handle("POST /api/v1/people/{id}/contacts", authed, f.sensing.apiContact)
	s.handle("GET /admin/rules", authed, f.sensing.pageAdminRules)
	// Patrols (巡查) with GPS tracks. Who sees which patrol is package
	// patrol's decision (the worker and the staff above the grid; anyone
	// else 404), so the routes only demand a session.
	s.handle("POST /api/v1/patrols", authed, f.patrols.apiStart)
	s.handle("GET /api/v1/patrols", authed, f.patrols.apiList)
	s.handle("GET /api/v1/patrols/{id}", authed, f.patrols.apiGet)
	s.handle("POST /api/v1/patrols/{id}/points", authed, f.patrols.apiPoints)
	s.handle("POST /api/v1/patrols/{id}/stop", authed, f.patrols.apiStop)
	s.handle("GET /patrol", authed, f.patrols.pagePatrol)
	s.handle("GET /patrols", authed, f.patrols.pagePatrols)
	s.handle("GET /visits", authed, f.visits.pageVisits)
	s.handle("GET /visits/queue", authed, f.visits.pageVisitQueue)
	// Registry import and 台账 export: the staff who keep a registry
	// (403 for anyone else); rows outside the caller's scope are row
	// errors, an export's region outside it 404.
	s.handle("GET /registry/import", authed, f.imports.pageImport)
	s.handle("POST /api/v1/imports/{kind}", authed, f.imports.apiImport)
	s.handle("GET /api/v1/exports/{kind}", authed, f.imports.apiExport)

	// Cases. Anyone may report (anonymously too); everything else is scoped.
	s.handle("POST /api/v1/cases", public, f.cases.apiCaseSubmit)
	s.handle("GET /api/v1/cases", authed, f.cases.apiCases)
	s.handle("GET /api/v1/cases/duplicates", public, f.cases.apiCaseDuplicates)
	s.handle("GET /api/v1/cases/{id}", authed, f.cases.apiCase)
	s.handle("GET /api/v1/cases/{id}/timeline", authed, f.cases.apiCaseTimeline)
	s.handle("POST /api/v1/cases/{id}/actions/{action}", authed, f.cases.apiCaseAction)
	s.handle("POST /api/v1/cases/{id}/photos", authed, f.cases.apiCasePhoto)
	s.handle("GET /api/v1/cases/{id}/photos/{pid}", authed, f.cases.apiCasePhotoGet)
	s.handle("POST /api/v1/cases/{id}/follow", authed, f.cases.apiCaseFollow)
	s.handle("GET /api/v1/public/cases", public, f.cases.apiPublicCases)
	s.handle("GET /api/v1/public/cases/{id}", public, f.cases.apiPublicCase)
	s.handle("GET /api/v1/public/cases/{id}/photos/{pid}", public, f.cases.apiPublicCasePhoto)
	s.handle("GET /api/v1/workflows", public, f.workflows.apiWorkflows)
	s.handle("GET /api/v1/workflows/{name}", public, f.workflows.apiWorkflow)
	s.handle("POST /api/v1/workflows", needs(account.PermWorkflowWrite), f.workflows.apiWorkflowUpload)
	s.handle("GET /api/v1/events", authed, f.events.apiEvents)
	s.handle("GET /api/v1/inbox", authed, f.inbox.apiInbox)
	s.handle("POST /api/v1/inbox/read", authed, f.inbox.apiInboxRead)
	s.handle("GET /api/v1/me/notification-settings", authed, f.inbox.apiSettings)
	s.handle("PUT /api/v1/me/notification-settings", authed, f.inbox.apiSetSettings)

	// Time limits (时限), the working calendar and unit statistics.
	s.handle("GET /api/v1/cases/{id}/sla", authed, f.sla.apiCaseSLA)
	s.handle("GET /api/v1/stats/units", needs(account.PermStatsRead), f.sla.apiStatsUnits)
	s.handle("GET /api/v1/time-limits", needs(account.PermSLAWrite), f.sla.apiTimeLimits)
	s.handle("POST /api/v1/time-limits", needs(account.PermSLAWrite), f.sla.apiTimeLimitCreate)
	s.handle("PUT /api/v1/time-limits/{id}", needs(account.PermSLAWrite), f.sla.apiTimeLimitUpdate)
	s.handle("DELETE /api/v1/time-limits/{id}", needs(account.PermSLAWrite), f.sla.apiTimeLimitDelete)
	s.handle("GET /api/v1/calendar", authed, f.sla.apiCalendar)
	s.handle("PUT /api/v1/calendar/days/{date}", needs(account.PermSLAWrite), f.sla.apiCalendarSetDay)
	s.handle("DELETE /api/v1/calendar/days/{date}", needs(account.PermSLAWrite), f.sla.apiCalendarDeleteDay)
	s.handle("PUT /api/v1/calendar/hours", needs(account.PermSLAWrite), f.sla.apiCalendarSetHours)
	s.handle("POST /api/v1/calendar/import", needs(account.PermSLAWrite), f.sla.apiCalendarImport)

	// The grid's base data (people, houses, organisations): logged-in
	// callers, registry.ScopeOf deciding the rest (404 outside it).
	// Eligibility (issue 18): policies are readable by every signed-in
	// user and written by department handlers and admins (policyAPI
	// checks); eligibility follows registry.ScopeOf (404 outside it).
	s.handle("GET /api/v1/policies", authed, f.policies.apiPolicies)
	s.handle("POST /api/v1/policies", authed, f.policies.apiSave)
	s.handle("POST /api/v1/policies/validate", authed, f.policies.apiValidate)
	s.handle("POST /api/v1/policies/test", authed, f.policies.apiTest)
	s.handle("GET /api/v1/policies/{id}", authed, f.policies.apiPolicy)
	s.handle("GET /api/v1/policies/{id}/diff", authed, f.policies.apiDiff)
	s.handle("POST /api/v1/policies/{id}/publish", authed, f.policies.apiPublish)
	s.handle("GET /api/v1/policy-fields", authed, f.policies.apiFields)
	s.handle("GET /api/v1/people/{id}/eligibility", authed, f.policies.evaluate(policy.KindPerson))
	s.handle("POST /api/v1/people/{id}/facts", authed, f.policies.apiRecordFacts)
	s.handle("GET /api/v1/organisations/{id}/eligibility", authed, f.policies.evaluate(policy.KindOrganisation))
	s.handle("GET /api/v1/me/eligibility", authed, f.policies.apiMe)
	s.handle("GET /api/v1/eligibility/unclaimed", authed, f.policies.apiUnclaimed)
	s.handle("POST /api/v1/eligibility/notices", authed, f.policies.apiNotices)
	s.handle("GET /api/v1/people", authed, f.registry.apiPeople)
	s.handle("POST /api/v1/people", authed, f.registry.apiPersonAdd)
	s.handle("GET /api/v1/people/{id}", authed, f.registry.apiPerson)
	s.handle("PATCH /api/v1/people/{id}", authed, f.registry.apiPersonUpdate)
	s.handle("POST /api/v1/people/{id}/houses", authed, f.registry.apiPersonLink)
	s.handle("DELETE /api/v1/people/{id}/houses/{house}", authed, f.registry.apiPersonUnlink)
	s.handle("GET /api/v1/people/{id}/history", authed, f.registry.apiPersonHistory)
	s.handle("GET /api/v1/buildings", authed, f.registry.apiBuildings)
	s.handle("POST /api/v1/buildings", authed, f.registry.apiBuildingAdd)
	s.handle("GET /api/v1/houses", authed, f.registry.apiHouses)
	s.handle("POST /api/v1/houses", authed, f.registry.apiHouseAdd)
	s.handle("GET /api/v1/houses/{id}/residents", authed, f.registry.apiHouseResidents)
	s.handle("GET /api/v1/organisations", authed, f.registry.apiOrganisations)
	s.handle("POST /api/v1/organisations", authed, f.registry.apiOrganisationAdd)
	s.handle("GET /api/v1/grids/{code}/summary", authed, f.registry.apiGridSummary)
	s.handle("GET /api/v1/regions/{code}/base-counts", authed, f.registry.apiBaseCounts)
	// Visits (走访) and the group memberships they follow.
	s.handle("GET /api/v1/visits", authed, f.visits.apiList)
	s.handle("GET /api/v1/visits/count", authed, f.visits.apiCount)
	s.handle("POST /api/v1/visits/{id}/record", authed, f.visits.apiRecord)
	s.handle("POST /api/v1/visits/{id}/photos", authed, f.visits.apiPhoto)
	s.handle("GET /api/v1/visits/{id}/photos/{name}", authed, f.visits.apiPhotoGet)
	s.handle("POST /api/v1/people/{id}/groups", authed, f.visits.apiJoin)
	s.handle("DELETE /api/v1/people/{id}/groups/{group}", authed, f.visits.apiLeave)
	// Benefit applications and payouts (issue 18): the service scopes
	// them to the subject's region, the policy's department and the
	// applicant (404 otherwise).
	s.handle("POST /api/v1/applications", authed, f.benefits.apiApply)
	s.handle("GET /api/v1/applications", authed, f.benefits.apiList)
	s.handle("GET /api/v1/applications/{id}", authed, f.benefits.apiGet)
	s.handle("POST /api/v1/applications/{id}/actions/{action}", authed, f.benefits.apiAct)
	s.handle("GET /api/v1/payouts", authed, f.benefits.apiPayouts)
	s.handle("PUT /api/v1/benefit-budgets/{policy}", authed, f.benefits.apiBudget)

	// Sensing devices (issue 17), scoped like the base data; gateways post
	// telemetry with an API key (the handler checks it).
	s.handle("GET /api/v1/devices", authed, f.devices.apiList)
	s.handle("POST /api/v1/devices", authed, f.devices.apiCreate)
	s.handle("GET /api/v1/devices/{id}", authed, f.devices.apiGet)
	s.handle("POST /api/v1/devices/{id}/actions/{action}", authed, f.devices.apiAction)
	s.handle("POST /api/v1/telemetry", public, f.devices.apiTelemetry)
	// 对标 (issue 19): indicators, a unit's standing among its peers, its
	// weak points, peer groups. Readers of statistics; the store shows
	// other units' values only in published periods.
	s.handle("GET /api/v1/indicators", needs(account.PermStatsRead), f.benchmark.apiIndicators)
	s.handle("POST /api/v1/indicators", needs(account.PermIndicatorWrite), f.benchmark.apiDeclare)
	s.handle("POST /api/v1/indicators/values", needs(account.PermIndicatorWrite), f.benchmark.apiIndicatorValues)
	s.handle("GET /api/v1/benchmark", needs(account.PermStatsRead), f.benchmark.apiAnalyse)
	s.handle("GET /api/v1/benchmark/weak-points", needs(account.PermStatsRead), f.benchmark.apiWeakPoints)
	s.handle("GET /api/v1/benchmark/peers", needs(account.PermStatsRead), f.benchmark.apiPeers)
	s.handle("POST /api/v1/benchmark/groups", needs(account.PermStatsRead), f.benchmark.apiGroupCreate)
	s.handle("GET /api/v1/benchmark/groups/{id}", needs(account.PermStatsRead), f.benchmark.apiGroup)

	// Administration.
	s.handle("GET /api/v1/audit", needs(account.PermAuditRead), f.accounts.apiAudit)
	s.handle("GET /api/v1/login-log", needs(account.PermLoginLogRead), f.accounts.apiLoginLog)
	s.handle("GET /api/v1/apikeys", needs(account.PermAPIKeys), f.accounts.apiKeys)
	s.handle("POST /api/v1/apikeys", needs(account.PermAPIKeys), f.accounts.apiKeyCreate)
	s.handle("DELETE /api/v1/apikeys/{id}", needs(account.PermAPIKeys), f.accounts.apiKeyRevoke)

	// Documentation: OpenAPI 3.1 and a readable page, both from the table
	// in openapi.go, which a test checks against these routes.
	s.handle("GET /api/v1/openapi.json", public, f.docs.apiOpenAPI)
	s.handle("GET /api/docs", public, f.docs.pageAPIDocs)

	// Open311 GeoReport v2 and mySociety's servicerequestupdates (package
	// open311 documents the choices). The extension picks the format: each
	// document has a .json and a .xml route; item routes carry it in their
	// wildcard. Errors are Open311 documents, even for unknown paths.
	s.handle("GET /open311/v2/discovery.json", public, f.open311.discovery)
	s.handle("GET /open311/v2/discovery.xml", public, f.open311.discovery)
	s.handle("GET /open311/v2/services.json", public, f.open311.services)
	s.handle("GET /open311/v2/services.xml", public, f.open311.services)
	s.handle("GET /open311/v2/services/{code}", public, f.open311.serviceDefinition)
	s.handle("POST /open311/v2/requests.json", public, f.open311.createRequest)
	s.handle("POST /open311/v2/requests.xml", public, f.open311.createRequest)
	s.handle("GET /open311/v2/requests.json", public, f.open311.listRequests)
	s.handle("GET /open311/v2/requests.xml", public, f.open311.listRequests)
	s.handle("GET /open311/v2/requests/{id}", public, f.open311.getRequest)
	s.handle("GET /open311/v2/tokens/{token}", public, f.open311.token)
	s.handle("GET /open311/v2/servicerequestupdates.json", public, f.open311.listUpdates)
	s.handle("GET /open311/v2/servicerequestupdates.xml", public, f.open311.listUpdates)
	s.handle("POST /open311/v2/servicerequestupdates.json", public, f.open311.postUpdate)
	s.handle("POST /open311/v2/servicerequestupdates.xml", public, f.open311.postUpdate)
	s.mux.HandleFunc("/open311/", f.open311.notFound)

	// Pages.
	s.handle("GET /login", public, f.session.pageLogin)
	s.handle("POST /login", public, f.session.pageLoginPost)
	s.handle("GET /login/oidc", public, f.oidc.pageOIDCStart)
	s.handle("GET /login/oidc/callback", public, f.oidc.pageOIDCCallback)
	s.handle("POST /logout", authed, f.session.pageLogout)
	s.handle("GET /lang/{lang}", public, f.session.pageLang)
	s.handle("GET /{$}", authed, f.cases.pageHome)
	s.handle("POST /admin/users/{id}/lock", needs(account.PermUserWrite), f.admin.pageAdminUserLock)
	// Residents (and anyone reporting).
	s.handle("GET /report", public, f.cases.pageReport)
	s.handle("GET /my", authed, f.cases.pageMy)
	s.handle("GET /nearby", public, f.cases.pageNearby)
	s.handle("GET /public/cases/{id}", public, f.cases.pagePublicCase)

	// The grid's base data: pages for grid workers and community staff,
	// scoped like the API (registry.ScopeOf).
	s.handle("GET /grids/{code}", authed, f.registry.pageGrid)
	s.handle("GET /people", authed, f.registry.pagePeople)
	s.handle("POST /people", authed, f.registry.pagePersonAdd)
	s.handle("GET /people/{id}", authed, f.registry.pagePerson)
	s.handle("POST /people/{id}/houses", authed, f.registry.pagePersonLink)
	s.handle("POST /people/{id}/houses/{house}/delete", authed, f.registry.pagePersonUnlink)
	s.handle("POST /people/{id}/groups", authed, f.registry.pagePersonJoin)
	s.handle("POST /people/{id}/facts", authed, f.registry.pagePersonFacts)
	s.handle("POST /people/{id}/groups/{group}/delete", authed, f.registry.pagePersonLeave)
	s.handle("GET /houses", authed, f.registry.pageHouses)
	s.handle("POST /houses", authed, f.registry.pageHouseAdd)
	s.handle("GET /houses/{id}", authed, f.registry.pageHouse)
	s.handle("GET /organisations", authed, f.registry.pageOrganisations)
	s.handle("POST /organisations", authed, f.registry.pageOrganisationAdd)
	s.handle("GET /organisations/{id}", authed, f.registry.pageOrganisation)

	// Staff console.
	s.handle("GET /cases", authed, f.cases.pageCases)
	s.handle("POST /cases/dispatch", authed, f.cases.pageBulkDispatch)
	s.handle("GET /cases/export.xlsx", authed, f.cases.pageExportXLSX)
	s.handle("GET /cases/export.csv", authed, f.cases.pageExportCSV)
	s.handle("GET /cases/{id}", authed, f.cases.pageCase)
	s.handle("POST /cases/{id}/act/{action}", authed, f.cases.pageCaseAct)
	s.handle("GET /inbox", authed, f.inbox.pageInbox)
	s.handle("POST /inbox/read", authed, f.inbox.pageInboxRead)
	s.handle("POST /inbox/settings", authed, f.inbox.pageInboxSettings)
	s.handle("GET /inbox/wechat", authed, f.inbox.pageWeChatBind)
	s.handle("GET /inbox/wechat/callback", authed, f.inbox.pageWeChatCallback)

	// Administration.
	s.handle("GET /admin", authed, f.admin.pageAdmin)
	s.handle("GET /admin/users", needs(account.PermUserRead), f.admin.pageAdminUsers)
	s.handle("POST /admin/users", needs(account.PermUserWrite), f.admin.pageAdminUserAdd)
	s.handle("POST /admin/users/{id}/password", needs(account.PermUserWrite), f.admin.pageAdminUserPassword)
	s.handle("GET /admin/users/{id}", needs(account.PermUserWrite), f.admin.pageAdminUser)
	s.handle("POST /admin/users/{id}", needs(account.PermUserWrite), f.admin.pageAdminUserEdit)
	s.handle("POST /admin/users/{id}/reassign", needs(account.PermUserWrite), f.admin.pageAdminUserReassign)
	s.handle("GET /admin/regions", needs(account.PermRegionWrite), f.admin.pageAdminRegions)
	s.handle("GET /admin/landmarks", needs(account.PermRegionWrite), f.places.pageAdminLandmarks)
	s.handle("GET /admin/categories", needs(account.PermCategoryWrite), f.admin.pageAdminCategories)
	s.handle("POST /admin/categories/auto-dispatch", needs(account.PermCategoryWrite), f.admin.pageAdminCategoryAutoDispatch)
	// Disputes and hazards: lists, detail pages with their action forms,
	// the printable agreement (staff in scope; anyone else 404).
	// 考核 and 对标 pages; the service scopes them (404 outside the scope).
	// Benefit pages (issue 18): a resident's policies and one click, the
	// staff's applications and payouts, the 应享未享 list of a region
	// node with its 主动告知 button, an enterprise's 惠企 items, the
	// departments' policies and authoring form (404 for anyone else).
	s.handle("GET /benefits", authed, f.benefitPg.pageBenefits)
	s.handle("GET /benefits/applications", authed, f.benefitPg.pageApplications)
	s.handle("GET /benefits/unclaimed", authed, f.benefitPg.pageUnclaimed)
	s.handle("GET /benefits/organisations/{id}", authed, f.benefitPg.pageOrganisation)
	s.handle("GET /policies", authed, f.benefitPg.pagePolicies)
	s.handle("GET /policies/new", authed, f.benefitPg.pagePolicyNew)
	s.handle("GET /assessment", authed, f.assess.pageAssess)
	s.handle("GET /assessment/units/{unit}", authed, f.assess.pageAssessUnit)
	s.handle("GET /benchmarking/units/{unit}", authed, f.assess.pageBenchUnit)
	s.handle("GET /benchmarking/units/{unit}/report", authed, f.assess.pageBenchReport)
	s.handle("GET /benchmarking/units/{unit}/report.xlsx", authed, f.assess.pageBenchReportXLSX)
	s.handle("GET /benchmarking/league", authed, f.assess.pageBenchLeague)
	s.handle("GET /benchmarking/import", needs(account.PermIndicatorWrite), f.benchmark.pageIndicatorImport)
	s.handle("GET /disputes", authed, f.disputes.listDisputes().page)
	s.handle("POST /disputes", authed, f.disputes.pageCreate(dispute.KindDispute))
	s.handle("GET /disputes/{id}", authed, f.disputes.pageDispute)
	s.handle("GET /disputes/{id}/agreement", authed, f.disputes.pageAgreement)
	s.handle("POST /disputes/{id}/actions/{action}", authed, f.disputes.pageItemAction(false))
	s.handle("GET /hazards", authed, f.disputes.listHazards().page)
	s.handle("POST /hazards", authed, f.disputes.pageCreate(dispute.KindHazard))
	s.handle("GET /hazards/{id}", authed, f.disputes.pageHazard)
	s.handle("POST /hazards/{id}/actions/{action}", authed, f.disputes.pageItemAction(true))
	s.handle("GET /admin/dicts", needs(account.PermCategoryWrite), f.dicts.pageAdminDicts)
	s.handle("POST /admin/dicts/{type}/items", needs(account.PermCategoryWrite), f.dicts.pageAdminDictItemAdd)
	s.handle("POST /admin/dicts/{type}/items/{code}", needs(account.PermCategoryWrite), f.dicts.pageAdminDictItemUpdate)
	s.handle("POST /admin/routing-rules", needs(account.PermCategoryWrite), f.admin.pageAdminRuleAdd)
	s.handle("POST /admin/routing-rules/{id}/delete", needs(account.PermCategoryWrite), f.admin.pageAdminRuleDelete)
	s.handle("GET /admin/sla", needs(account.PermSLAWrite), f.sla.pageAdminSLA)
	s.handle("GET /admin/workflows", needs(account.PermWorkflowWrite), f.wfPages.pageAdminWorkflows)
	s.handle("POST /admin/workflows/{name}", needs(account.PermWorkflowWrite), f.wfPages.pageAdminWorkflowUpload)
	s.handle("GET /admin/apikeys", needs(account.PermAPIKeys), f.admin.pageAdminKeys)
	s.handle("POST /admin/apikeys", needs(account.PermAPIKeys), f.admin.pageAdminKeyAdd)
	s.handle("POST /admin/apikeys/{id}/revoke", needs(account.PermAPIKeys), f.admin.pageAdminKeyRevoke)
	s.handle("GET /admin/audit", needs(account.PermAuditRead), f.admin.pageAdminAudit)
	s.handle("GET /admin/audit/export.csv", needs(account.PermAuditRead), f.admin.pageAdminAuditCSV)
	s.handle("GET /admin/audit/export.xlsx", needs(account.PermAuditRead), f.admin.pageAdminAuditXLSX)
	s.handle("GET /admin/logins", needs(account.PermLoginLogRead), f.admin.pageAdminLogins)
	s.handle("GET /admin/logins/export.csv", needs(account.PermLoginLogRead), f.admin.pageAdminLoginsCSV)
	s.handle("GET /admin/logins/export.xlsx", needs(account.PermLoginLogRead), f.admin.pageAdminLoginsXLSX)

	// Statistics and the big screen, for the holders of stats.read
	// (leaders, admins, street and community staff). The API serves the
	// screen and outside dashboards; every answer is limited to the
	// caller's data scope, and a node outside it is 404.
	read := needs(account.PermStatsRead)
	s.handle("GET /api/v1/stats/summary", read, s.withStats(f.stats.apiStatsSummary))
	s.handle("GET /api/v1/stats/map", read, s.withStats(f.stats.apiStatsMap))
	s.handle("GET /api/v1/stats/trend", read, s.withStats(f.stats.apiStatsTrend))
	s.handle("GET /api/v1/stats/hotspots", read, s.withStats(f.stats.apiStatsHotspots))
	s.handle("GET /api/v1/stats/overdue", read, s.withStats(f.stats.apiStatsOverdue))
	s.handle("GET /api/v1/stats/recent", read, s.withStats(f.stats.apiStatsRecent))
	s.handle("GET /api/v1/stats/points", read, s.withStats(f.stats.apiStatsPoints))
	s.handle("GET /screen", read, s.withStats(f.stats.pageScreen))
	s.handle("GET /screen/{region}", read, s.withStats(f.stats.pageScreen))

	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	s.routes = append(s.routes, Route{Pattern: "GET /static/", Access: public})

	// Anything else is a clear 404 in the caller's format.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeJSONError(w, r, errs.E(errs.NotFound, "error.not_found"))
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, errs.E(errs.NotFound, "error.not_found"))
	})
}

// withStats is h on a server with the rollup store. A server built
// without it (some package tests) still declares the statistics routes, so
// that the router and the OpenAPI document agree, and answers 503 rather
// than failing on a nil store.
func (s *Server) withStats(h handlerFunc) handlerFunc {
	if s.Stats != nil {
		return h
	}
	return func(http.ResponseWriter, *http.Request) error { return errs.E(errs.Unavailable, "error.unavailable") }
}

// bodyLimits raises the request body limit for the few routes that take
// files; every other route gets Deps.MaxBodyBytes.
var bodyLimits = map[string]int64{
	"POST /api/v1/regions/import":     region.MaxImportBytes,
	"POST /api/v1/cases/{id}/photos":  media.DefaultMaxPhotoBytes + 64<<10, // one photo and its form fields
	"POST /api/v1/visits/{id}/photos": media.DefaultMaxPhotoBytes + 64<<10,
	"POST /api/v1/imports/{kind}":     MaxImportBytes + 64<<10,          // one registry file
	"POST /api/v1/indicators/values":  MaxIndicatorUploadBytes + 64<<10, // an indicator file and its declarations
}

// ownCSRF are the routes that never act with a session cookie's
// authority, so the session's CSRF token is not asked for: the logins
// (the form has its own double-submit token, and a login opens a new
// session rather than using one) and Open311, whose writes act for the
// API key in the form.
var ownCSRF = map[string]bool{
	"POST /login": true, "POST /api/v1/session": true,
	"POST /open311/v2/requests.json": true, "POST /open311/v2/requests.xml": true,
	"POST /open311/v2/servicerequestupdates.json": true, "POST /open311/v2/servicerequestupdates.xml": true,
	"POST /api/v1/telemetry": true, // acts for the gateway's API key only
}

// handle registers h behind its access rule and records the route.
func (s *Server) handle(pattern string, a Access, h handlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Access: a})
	_, path, _ := strings.Cut(pattern, " ")
	isAPI := strings.HasPrefix(path, "/api/")
	limit := s.MaxBodyBytes
	if l, ok := bodyLimits[pattern]; ok {
		limit = l
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		fail := s.renderError
		if isAPI {
			fail = s.writeJSONError
		}
		// Every state-changing request that a session cookie authenticates
		// carries the CSRF token, on public routes too: a public route
		// still acts as the cookie's user (POST /api/v1/cases files the
		// case as them).
		if !ownCSRF[pattern] {
			if err := checkCSRF(r); err != nil {
				fail(w, r, err)
				return
			}
		}
		if a.Auth {
			ri := info(r)
			if ri.user == nil {
				if !isAPI && r.Method == http.MethodGet {
					http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				if e, ok := errs.As(ri.authErr); ok && e.Code == errs.Unauthorized {
					fail(w, r, e)
					return
				}
				fail(w, r, errs.E(errs.Unauthorized, "error.unauthorized"))
				return
			}
			if a.Perm != "" && !ri.user.Can(a.Perm) {
				fail(w, r, errs.E(errs.Forbidden, "error.forbidden"))
				return
			}
		}
		if err := s.Limiter.Check(pattern, info(r).ip, info(r).user != nil); err != nil {
			fail(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	})
}

// fail renders err in the format the request expects.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.writeJSONError(w, r, err)
		return
	}
	s.renderError(w, r, err)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
