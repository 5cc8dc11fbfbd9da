package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/dispute"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/sms"
	"whistle/internal/web"
)

// The authorization matrix: every route the router registers, called as
// every role and as anonymous, on an object inside the caller's scope,
// outside it (another street of the district) and in another district.
// Each route's expectations are written out below by hand, apart from the
// access rules in routes.go, so that the two can disagree; a route with no
// expectation fails the test.

// who is a caller of the matrix.
type who string

const (
	anon      who = "anonymous"
	resident  who = "resident"
	grid      who = "grid_worker"
	community who = "community_staff"
	street    who = "street_staff"
	dept      who = "department_handler"
	party     who = "party_member"
	leader    who = "leader"
	admin     who = "admin"
)

// callers are the matrix's rows; each role logs in as its demo account.
var callers = []who{anon, resident, grid, community, street, dept, party, leader, admin}

var demoAccount = map[who]string{resident: "demo-resident", grid: "demo-grid", community: "demo-community", street: "demo-street",
	dept: "demo-dept", party: "demo-party", leader: "demo-leader", admin: "demo-admin"}

// target is where the object a request names lies.
type target string

const (
	none  target = ""      // the route names no scoped object
	in    target = "in"    // in the demo community 万顺社区 (永中街道)
	out   target = "out"   // in another street of the district
	other target = "other" // in another district
)

// outcome is what a call should get.
type outcome string

const (
	ok        outcome = "ok"        // 2xx, or a redirect that is not to the login page
	unauth    outcome = "unauth"    // 401, or a page's redirect to the login page
	forbidden outcome = "forbidden" // 403
	notFound  outcome = "not found" // 404
)

// spec is one route's expectations.
type spec struct {
	// public routes answer anonymous callers; the others want a login.
	public bool
	// allow lists the roles that may call the route at all (the others
	// get 403); nil allows every logged-in caller.
	allow []who
	// targets the route is called on; nil means none.
	targets []target
	// sees lists, per target, the callers that reach the object; an
	// allowed caller that does not gets 404.
	sees map[target][]who
	// acts lists the callers that may do what the route does to an object
	// they see; the others get 403. Nil means everyone who sees it.
	acts []who
	// req builds the request for a caller and target.
	req func(f *authzFixture, w who, t target) *http.Request
}

func (s spec) want(w who, t target) outcome {
	if !s.public && w == anon {
		return unauth
	}
	if s.allow != nil && !slices.Contains(s.allow, w) {
		return forbidden
	}
	if t != none && !slices.Contains(s.sees[t], w) {
		return notFound
	}
	if s.acts != nil && !slices.Contains(s.acts, w) {
		return forbidden
	}
	return ok
}

// Caller sets used by the expectations.
var (
	loggedIn    = []who{resident, grid, community, street, dept, party, leader, admin}
	adminOnly   = []who{admin}
	userReaders = []who{community, street, leader, admin}
	deptReaders = []who{grid, community, street, dept, leader, admin}
	statsRead   = []who{community, street, leader, admin}
	// Who sees the objects: a case in 万顺社区 reported by the demo resident
	// and dispatched to the CG department; a case in another street,
	// dispatched nowhere; a case in another district.
	seeCaseIn    = []who{resident, grid, community, street, dept, party, leader, admin}
	seeCaseOut   = []who{leader, admin}
	seeCaseOther = []who{}
	// Users: a user of 万顺社区, of another street, of another district.
	seeUserIn  = []who{community, street, leader, admin}
	seeUserOut = []who{leader, admin}
	// Region nodes on the big screen: 万顺社区, another street, another district.
	seeNodeIn  = []who{community, street, leader, admin}
	seeNodeOut = []who{leader, admin}
	// A fresh submitted 红哨 case in 万顺社区 (not yet dispatched): the
	// department does not see it.
	seeFreshIn = []who{grid, community, street, party, leader, admin}
	// Accepting one is for community and street staff and admins.
	accepters = []who{community, street, admin}
	// Disputes and hazards in the demo grid, in another street, in another
	// district: staff in scope see them (not residents, party members or
	// departments); leaders see but do not accept or order.
	seeDisputeIn = []who{grid, community, street, leader, admin}
	// Registry keepers import and export.
	importers   = []who{grid, community, street, admin}
	disputeActs = []who{grid, community, street, admin}
)

// disputeTargets is the three-target shape of a route on a dispute or a
// hazard.
func disputeTargets() map[target][]who {
	return map[target][]who{in: seeDisputeIn, out: {leader, admin}, other: {}}
}

// scoped is the usual three-target shape of a route on a case.
func caseTargets() map[target][]who {
	return map[target][]who{in: seeCaseIn, out: seeCaseOut, other: seeCaseOther}
}

// matrix is the expectation table, keyed by the route's pattern.
func matrix() map[string]spec {
	get := func(path string) func(*authzFixture, who, target) *http.Request {
		return func(f *authzFixture, w who, t target) *http.Request { return f.request(w, "GET", path, nil, "") }
	}
	caseGet := func(suffix string) func(*authzFixture, who, target) *http.Request {
		return func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/cases/"+f.caseID(t)+suffix, nil, "")
		}
	}
	jsonReq := func(method, path string, body func(f *authzFixture) any) func(*authzFixture, who, target) *http.Request {
		return func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, method, path, body(f))
		}
	}
	form := func(path string, vals func(f *authzFixture) url.Values) func(*authzFixture, who, target) *http.Request {
		return func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", path, strings.NewReader(vals(f).Encode()), "application/x-www-form-urlencoded")
		}
	}
	noBody := func(f *authzFixture) url.Values { return url.Values{} }
	pub := func(r func(*authzFixture, who, target) *http.Request) spec { return spec{public: true, req: r} }
	authed := func(r func(*authzFixture, who, target) *http.Request) spec { return spec{req: r} }
	perm := func(allow []who, r func(*authzFixture, who, target) *http.Request) spec {
		return spec{allow: allow, req: r}
	}
	onCase := func(r func(*authzFixture, who, target) *http.Request) spec {
		return spec{targets: []target{in, out, other}, sees: caseTargets(), req: r}
	}
	stats := func(path string) spec {
		return spec{allow: statsRead, targets: []target{in, out, other},
			sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", path+"region="+f.node[t], nil, "")
			}}
	}
	open311Key := func(f *authzFixture) string { return f.apiKey }

	m := map[string]spec{
		// Operations.
		"GET /healthz": pub(get("/healthz")),
		"GET /readyz":  pub(get("/readyz")),
		"GET /metrics": pub(get("/metrics")),

		// Session and identity.
		"POST /api/v1/session": pub(jsonReq("POST", "/api/v1/session", func(f *authzFixture) any {
			return map[string]string{"username": "demo-resident", "password": "whistle-demo"}
		})),
		"POST /api/v1/session/sms-code": pub(jsonReq("POST", "/api/v1/session/sms-code", func(f *authzFixture) any {
			return map[string]string{"phone": fmt.Sprintf("1370000%04d", f.seq.Add(1))}
		})),
		"POST /api/v1/session/sms": pub(jsonReq("POST", "/api/v1/session/sms", func(f *authzFixture) any {
			phone := fmt.Sprintf("1360000%04d", f.seq.Add(1))
			return map[string]string{"phone": phone, "code": f.smsCode(phone)}
		})),
		"DELETE /api/v1/session": {req: func(f *authzFixture, w who, t target) *http.Request {
			return f.withToken(f.freshToken(w), "DELETE", "/api/v1/session", nil, "")
		}},
		"GET /api/v1/me": authed(get("/api/v1/me")),

		// Regions.
		"GET /api/v1/regions/locate": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", f.locateQuery(), nil, "")
		}),
		"GET /api/v1/regions/export": perm(adminOnly, get("/api/v1/regions/export")),
		"POST /api/v1/regions/import": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/api/v1/regions/import?dry_run=1", bytes.NewReader(f.otherGeoJSON), "application/geo+json")
		}),
		"GET /api/v1/regions/{code}":          pub(get("/api/v1/regions/330303")),
		"GET /api/v1/regions/{code}/children": pub(get("/api/v1/regions/330303/children")),
		"GET /api/v1/regions/{code}/geojson":  pub(get("/api/v1/regions/330303001/geojson")),

		// Places.
		"GET /api/v1/places/search": pub(get("/api/v1/places/search?q=wanshun")),
		"GET /api/v1/landmarks":     perm(adminOnly, get("/api/v1/landmarks")),
		"POST /api/v1/landmarks": perm(adminOnly, jsonReq("POST", "/api/v1/landmarks", func(f *authzFixture) any {
			return f.landmarkBody()
		})),
		"PUT /api/v1/landmarks/{id}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "PUT", "/api/v1/landmarks/"+f.newLandmark(), f.landmarkBody())
		}),
		"DELETE /api/v1/landmarks/{id}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "DELETE", "/api/v1/landmarks/"+f.newLandmark(), nil, "")
		}),

		// Accounts.
		"GET /api/v1/users": perm(userReaders, get("/api/v1/users")),
		"POST /api/v1/users": {allow: adminOnly, req: jsonReq("POST", "/api/v1/users", func(f *authzFixture) any {
			return map[string]any{"username": f.unique("matrix-user"), "password": "matrix-password", "roles": []string{"grid_worker"},
				"region": demoGrid, "phone": "13700001111", "id_number": idNumber("33030319900101123")}
		})},
		"GET /api/v1/users/{id}": {allow: userReaders, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", "/api/v1/users/"+f.userID[t], nil, "")
			}},
		"POST /api/v1/users/{id}/password": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/users/"+f.userID[t]+"/password", map[string]string{"password": "another-password"})
			}},
		// Unlocking leaves the matrix's accounts as they were.
		"PATCH /api/v1/users/{id}": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "PATCH", "/api/v1/users/"+f.userID[t], map[string]bool{"locked": false})
			}},
		// The matrix users hold no cases: a reassign moves nothing.
		"POST /api/v1/users/{id}/reassign": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/api/v1/users/"+f.userID[t]+"/reassign", strings.NewReader(`{"to": `+f.colleague+`}`), "application/json")
			}},
		"GET /api/v1/departments": perm(deptReaders, get("/api/v1/departments")),

		// Disputes and hazards: listing answers everyone logged in (what
		// it holds is TestScopedLists'); registering in the demo grid is
		// for its staff; the actions run on a fresh item each call.
		"GET /api/v1/disputes": authed(get("/api/v1/disputes")),
		"POST /api/v1/disputes": {targets: []target{in}, sees: map[target][]who{in: seeDisputeIn}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/disputes", f.disputeBody(demoGrid))
		}},
		"GET /api/v1/disputes/{id}": {targets: []target{in, out, other}, sees: disputeTargets(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/disputes/"+f.disputes[t], nil, "")
		}},
		"POST /api/v1/disputes/{id}/actions/{action}": {targets: []target{in, out, other}, sees: disputeTargets(), acts: disputeActs,
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/disputes/"+f.newDispute(t)+"/actions/accept", map[string]any{"version": 1})
			}},
		"GET /api/v1/hazards": authed(get("/api/v1/hazards")),
		"POST /api/v1/hazards": {targets: []target{in}, sees: map[target][]who{in: seeDisputeIn}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/hazards", map[string]any{"region": demoGrid, "type": "fire", "title": "消防通道堵塞"})
		}},
		"GET /api/v1/hazards/{id}": {targets: []target{in, out, other}, sees: disputeTargets(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/hazards/"+f.hazards[t], nil, "")
		}},
		"POST /api/v1/hazards/{id}/actions/{action}": {targets: []target{in, out, other}, sees: disputeTargets(), acts: disputeActs,
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/hazards/"+f.newHazard(t)+"/actions/order",
					map[string]any{"deadline": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)})
			}},

		// Categories and routing.
		"GET /api/v1/categories":        pub(get("/api/v1/categories")),
		"GET /api/v1/categories/{code}": pub(get("/api/v1/categories/ZL0601")),
		"POST /api/v1/categories": perm(adminOnly, jsonReq("POST", "/api/v1/categories", func(f *authzFixture) any {
			return map[string]any{"code": "ZL01" + strconv.Itoa(50+int(f.seq.Add(1))), "parent_code": "ZL01", "name": "矩阵测试"}
		})),
		"PATCH /api/v1/categories/{code}": perm(adminOnly, jsonReq("PATCH", "/api/v1/categories/ZL0601", func(*authzFixture) any {
			return map[string]any{"name_en": "Help between neighbours"}
		})),
		"GET /api/v1/routing-rules": perm(adminOnly, get("/api/v1/routing-rules")),
		"GET /api/v1/dicts":         perm(adminOnly, get("/api/v1/dicts")),
		"GET /api/v1/dicts/{type}":  perm(adminOnly, get("/api/v1/dicts/case_source")),
		"POST /api/v1/dicts/{type}/items": perm(adminOnly, jsonReq("POST", "/api/v1/dicts/case_source/items", func(f *authzFixture) any {
			return map[string]any{"code": "authz" + strconv.Itoa(int(f.seq.Add(1))), "label": "矩阵测试"}
		})),
		"PATCH /api/v1/dicts/{type}/items/{code}": perm(adminOnly, jsonReq("PATCH", "/api/v1/dicts/case_source/items/visit", func(*authzFixture) any {
			return map[string]any{"label_en": "Walk-in visit"}
		})),
		"POST /api/v1/routing-rules": perm(adminOnly, jsonReq("POST", "/api/v1/routing-rules", func(f *authzFixture) any {
			return map[string]any{"category_code": "BJ02", "region_code": f.nextGrid(), "department": "CG", "priority": 1}
		})),
		"DELETE /api/v1/routing-rules/{id}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "DELETE", "/api/v1/routing-rules/"+f.newRule(), nil, "")
		}),

		// Patrols: a grid worker records their own; the worker and the staff
		// above the grid see it (patrol_test.go); anyone else gets 404.
		"POST /api/v1/patrols": perm([]who{grid}, jsonReq("POST", "/api/v1/patrols", func(*authzFixture) any { return map[string]string{} })),
		"GET /api/v1/patrols":  {targets: []target{in}, sees: map[target][]who{in: seePatrolIn}, req: get("/api/v1/patrols")},
		"GET /api/v1/patrols/{id}": {targets: []target{in, out, other}, sees: patrolTargets(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/patrols/"+f.patrol(t), nil, "")
		}},
		"POST /api/v1/patrols/{id}/points": {targets: []target{in, out, other}, sees: patrolTargets(), acts: []who{grid}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/patrols/"+f.patrol(t)+"/points", f.patrolPoints(t))
		}},
		"POST /api/v1/patrols/{id}/stop": {targets: []target{in, out, other}, sees: patrolTargets(), acts: []who{grid}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/api/v1/patrols/"+f.patrol(t)+"/stop", nil, "")
		}},
		"GET /patrol":  {targets: []target{in}, sees: map[target][]who{in: {grid}}, req: get("/patrol")},
		"GET /patrols": {targets: []target{in}, sees: map[target][]who{in: seePatrolIn}, req: get("/patrols")},
		// Registry import and export: the staff who keep a registry. An
		// import's rows are scoped one by one (TestImportScope); an
		// export names its region.
		"GET /registry/import": perm(importers, get("/registry/import")),
		"POST /api/v1/imports/{kind}": perm(importers, func(f *authzFixture, w who, t target) *http.Request {
			body, ct := f.importForm()
			return f.request(w, "POST", "/api/v1/imports/people?dry_run=1", body, ct)
		}),
		"GET /api/v1/exports/{kind}": {allow: importers, targets: []target{in, out, other},
			sees: map[target][]who{in: {community, street, admin}, out: {admin}, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", "/api/v1/exports/organisations?region="+f.node[t], nil, "")
			}},

		// Cases.
		"POST /api/v1/cases": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/cases", f.submission(demoGrid))
		}),
		"GET /api/v1/cases": authed(get("/api/v1/cases")),
		"GET /api/v1/cases/duplicates": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", f.duplicatesQuery(), nil, "")
		}),
		"GET /api/v1/cases/{id}":          onCase(caseGet("")),
		"GET /api/v1/cases/{id}/timeline": onCase(caseGet("/timeline")),
		"GET /api/v1/cases/{id}/sla":      onCase(caseGet("/sla")),
		"POST /api/v1/cases/{id}/actions/{action}": {targets: []target{in, out, other},
			sees: map[target][]who{in: seeFreshIn, out: seeCaseOut, other: seeCaseOther}, acts: accepters,
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.jsonRequest(w, "POST", "/api/v1/cases/"+f.freshCase(t)+"/actions/accept", map[string]string{"note": "受理"})
			}},
		// An "after" photo of the dispatched case: for its handlers and the
		// staff on the ground, not for leaders, party members or residents.
		"POST /api/v1/cases/{id}/photos": {targets: []target{in, out, other}, sees: caseTargets(), acts: []who{grid, community, street, dept, admin},
			req: func(f *authzFixture, w who, t target) *http.Request {
				body, ct := f.photoForm()
				return f.request(w, "POST", "/api/v1/cases/"+f.caseID(t)+"/photos?kind=after", body, ct)
			}},
		"GET /api/v1/cases/{id}/photos/{pid}": onCase(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/cases/"+f.caseID(t)+"/photos/"+f.photoID[t], nil, "")
		}), // Anyone logged in may follow a public case, anywhere (a fresh one
		// each time: following grants reading, see TestFollowingGrantsReadingOnly).
		"POST /api/v1/cases/{id}/follow": {targets: []target{in, out, other}, sees: map[target][]who{in: loggedIn, out: loggedIn, other: loggedIn},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/api/v1/cases/"+f.freshCase(t)+"/follow", nil, "")
			}},
		"GET /api/v1/public/cases": pub(get("/api/v1/public/cases?bbox=120.5,27.8,121.0,28.1")),
		"GET /api/v1/public/cases/{id}": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/public/cases/"+f.caseID(in), nil, "")
		}),
		"GET /api/v1/public/cases/{id}/photos/{pid}": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/public/cases/"+f.caseID(in)+"/photos/"+f.photoID[in], nil, "")
		}),
		"GET /api/v1/workflows":        pub(get("/api/v1/workflows")),
		"GET /api/v1/workflows/{name}": pub(get("/api/v1/workflows/whistle")),
		// A dry run: the matrix changes no workflow.
		"POST /api/v1/workflows": perm(adminOnly, jsonReq("POST", "/api/v1/workflows?dry_run=1", func(*authzFixture) any {
			return casework.Workflows()["whistle"].Def
		})),
		"GET /api/v1/events":                   authed(get("/api/v1/events")),
		"GET /api/v1/inbox":                    authed(get("/api/v1/inbox")),
		"POST /api/v1/inbox/read":              authed(jsonReq("POST", "/api/v1/inbox/read", func(*authzFixture) any { return map[string]any{"id": 0} })),
		"GET /api/v1/me/notification-settings": authed(get("/api/v1/me/notification-settings")),
		"PUT /api/v1/me/notification-settings": authed(jsonReq("PUT", "/api/v1/me/notification-settings", func(*authzFixture) any {
			return map[string]any{"channels": []string{"sms"}, "quiet_from": "22:00", "quiet_to": "07:00"}
		})),

		// Time limits, the calendar and statistics.
		"GET /api/v1/stats/units":    perm(statsRead, get("/api/v1/stats/units")),
		"GET /api/v1/stats/summary":  stats("/api/v1/stats/summary?"),
		"GET /api/v1/stats/map":      stats("/api/v1/stats/map?metric=open&"),
		"GET /api/v1/stats/trend":    stats("/api/v1/stats/trend?days=7&"),
		"GET /api/v1/stats/hotspots": stats("/api/v1/stats/hotspots?"),
		"GET /api/v1/stats/overdue":  stats("/api/v1/stats/overdue?"),
		"GET /api/v1/stats/recent":   stats("/api/v1/stats/recent?"),
		"GET /api/v1/stats/points":   stats("/api/v1/stats/points?"),
		"GET /api/v1/time-limits":    perm(adminOnly, get("/api/v1/time-limits")),
		"POST /api/v1/time-limits": perm(adminOnly, jsonReq("POST", "/api/v1/time-limits", func(f *authzFixture) any {
			return f.timeLimit()
		})),
		"PUT /api/v1/time-limits/{id}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "PUT", "/api/v1/time-limits/"+f.limitID, map[string]any{"workflow": "whistle", "stage": "handle",
				"category_prefix": "ZL02", "region_code": "330303001", "limit": "2wd"})
		}),
		"DELETE /api/v1/time-limits/{id}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "DELETE", "/api/v1/time-limits/"+f.newTimeLimit(), nil, "")
		}),
		"GET /api/v1/calendar": authed(get("/api/v1/calendar")),
		"PUT /api/v1/calendar/days/{date}": perm(adminOnly, jsonReq("PUT", "/api/v1/calendar/days/2027-03-03", func(*authzFixture) any {
			return map[string]string{"kind": "holiday", "name": "矩阵测试"}
		})),
		"DELETE /api/v1/calendar/days/{date}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "DELETE", "/api/v1/calendar/days/"+f.newCalendarDay(), nil, "")
		}),
		"PUT /api/v1/calendar/hours": perm(adminOnly, jsonReq("PUT", "/api/v1/calendar/hours", func(*authzFixture) any {
			return map[string]string{"work_hours": "08:30-12:00,13:30-17:30"}
		})),
		"POST /api/v1/calendar/import": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/api/v1/calendar/import?format=csv&preview=1", strings.NewReader("date,kind,name\n2027-05-05,holiday,测试\n"), "text/csv")
		}),

		// Administration.
		"GET /api/v1/audit":     perm(adminOnly, get("/api/v1/audit")),
		"GET /api/v1/login-log": perm(adminOnly, get("/api/v1/login-log")),
		"GET /api/v1/apikeys":   perm(adminOnly, get("/api/v1/apikeys")),
		"POST /api/v1/apikeys": perm(adminOnly, jsonReq("POST", "/api/v1/apikeys", func(f *authzFixture) any {
			return map[string]string{"name": f.unique("matrix-key")}
		})),
		"DELETE /api/v1/apikeys/{id}": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "DELETE", "/api/v1/apikeys/"+f.newAPIKey(), nil, "")
		}),
		"GET /api/v1/openapi.json": pub(get("/api/v1/openapi.json")),
		"GET /api/docs":            pub(get("/api/docs")),

		// Open311: public, keyed by API key rather than by login.
		"GET /open311/v2/discovery.json":  pub(get("/open311/v2/discovery.json")),
		"GET /open311/v2/discovery.xml":   pub(get("/open311/v2/discovery.xml")),
		"GET /open311/v2/services.json":   pub(get("/open311/v2/services.json")),
		"GET /open311/v2/services.xml":    pub(get("/open311/v2/services.xml")),
		"GET /open311/v2/services/{code}": pub(get("/open311/v2/services/ZL0601.json")),
		"POST /open311/v2/requests.json": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/open311/v2/requests.json", strings.NewReader(f.open311Request(open311Key(f)).Encode()), "application/x-www-form-urlencoded")
		}),
		"POST /open311/v2/requests.xml": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/open311/v2/requests.xml", strings.NewReader(f.open311Request(open311Key(f)).Encode()), "application/x-www-form-urlencoded")
		}),
		"GET /open311/v2/requests.json": pub(get("/open311/v2/requests.json")),
		"GET /open311/v2/requests.xml":  pub(get("/open311/v2/requests.xml")),
		"GET /open311/v2/requests/{id}": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/open311/v2/requests/"+f.caseNumber[in]+".json", nil, "")
		}),
		"GET /open311/v2/tokens/{token}": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/open311/v2/tokens/"+f.open311Token+".json", nil, "")
		}),
		"GET /open311/v2/servicerequestupdates.json": pub(get("/open311/v2/servicerequestupdates.json?start_date=" + url.QueryEscape(time.Now().Add(-24*time.Hour).Format(time.RFC3339)))),
		"GET /open311/v2/servicerequestupdates.xml":  pub(get("/open311/v2/servicerequestupdates.xml?start_date=" + url.QueryEscape(time.Now().Add(-24*time.Hour).Format(time.RFC3339)))),
		"POST /open311/v2/servicerequestupdates.json": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/open311/v2/servicerequestupdates.json", strings.NewReader(f.open311Update(open311Key(f)).Encode()), "application/x-www-form-urlencoded")
		}),
		"POST /open311/v2/servicerequestupdates.xml": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/open311/v2/servicerequestupdates.xml", strings.NewReader(f.open311Update(open311Key(f)).Encode()), "application/x-www-form-urlencoded")
		}),

		// Pages.
		"GET /login":  pub(get("/login")),
		"POST /login": pub(func(f *authzFixture, w who, t target) *http.Request { return f.loginForm() }),
		// Single sign-on (the fixture's test provider signs in demo-street).
		"GET /login/oidc": pub(get("/login/oidc")),
		"GET /login/oidc/callback": pub(func(f *authzFixture, w who, t target) *http.Request {
			c := browser(f.t)
			cb := f.oidc.callback(f.t, c, f.url, "/")
			req := f.request(w, "GET", cb.RequestURI(), nil, "")
			for _, ck := range c.Jar.Cookies(cb) {
				req.AddCookie(ck)
			}
			return req
		}),
		"POST /logout": {req: func(f *authzFixture, w who, t target) *http.Request {
			return f.withToken(f.freshToken(w), "POST", "/logout", nil, "")
		}},
		"GET /lang/{lang}": pub(get("/lang/en?next=/nearby")),
		"GET /{$}":         authed(get("/")),
		"GET /report":      pub(get("/report")),
		"GET /my":          authed(get("/my")),
		"GET /nearby":      pub(get("/nearby")),
		"GET /public/cases/{id}": pub(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/public/cases/"+f.caseID(in), nil, "")
		}),
		"GET /cases": authed(get("/cases")),
		// It answers 303 whatever happens: TestBulkDispatchEffect checks
		// which cases each caller really dispatched.
		"POST /cases/dispatch": {allow: nil, acts: nil, req: form("/cases/dispatch", func(f *authzFixture) url.Values {
			return url.Values{"ids": {f.caseID(out)}, "target": {"d:CG"}}
		})},
		"GET /cases/export.xlsx": authed(get("/cases/export.xlsx")),
		"GET /cases/export.csv":  authed(get("/cases/export.csv")),
		"GET /cases/{id}": onCase(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/cases/"+f.caseID(t), nil, "")
		}),
		"POST /cases/{id}/act/{action}": {targets: []target{in, out, other},
			sees: map[target][]who{in: seeFreshIn, out: seeCaseOut, other: seeCaseOther}, acts: accepters,
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/cases/"+f.freshCase(t)+"/act/accept", strings.NewReader("note=%E5%8F%97%E7%90%86"), "application/x-www-form-urlencoded")
			}},
		"GET /inbox":           authed(get("/inbox")),
		"POST /inbox/read":     authed(form("/inbox/read", noBody)),
		"POST /inbox/settings": authed(form("/inbox/settings", noBody)),
		// Binding WeChat (the fixture's fake WeChat hands over an openid for
		// any code): the start redirects to WeChat, the callback with the
		// state of its cookie binds and redirects to the inbox.
		"GET /inbox/wechat": authed(get("/inbox/wechat")),
		"GET /inbox/wechat/callback": authed(func(f *authzFixture, w who, t target) *http.Request {
			req := f.request(w, "GET", "/inbox/wechat/callback?code=CODE&state=matrix-state", nil, "")
			req.AddCookie(&http.Cookie{Name: "whistle_wechat", Value: "matrix-state"})
			return req
		}),
		"GET /admin":       perm(userReaders, get("/admin")),
		"GET /admin/users": perm(userReaders, get("/admin/users")),
		"POST /admin/users": perm(adminOnly, form("/admin/users", func(f *authzFixture) url.Values {
			return url.Values{"username": {f.unique("matrix-page")}, "password": {"matrix-password"}, "roles": {"grid_worker"}, "region": {demoGrid}}
		})),
		"POST /admin/users/{id}/password": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/admin/users/"+f.userID[t]+"/password", strings.NewReader("password=another-password"), "application/x-www-form-urlencoded")
			}},
		"POST /admin/users/{id}/lock": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/admin/users/"+f.userID[t]+"/lock", strings.NewReader("locked=0"), "application/x-www-form-urlencoded")
			}},
		"GET /admin/users/{id}": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", "/admin/users/"+f.userID[t], nil, "")
			}},
		// Saving the user as they are.
		"POST /admin/users/{id}": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				v := url.Values{"roles": {"grid_worker"}, "region": {f.userRegion[t]}}
				return f.request(w, "POST", "/admin/users/"+f.userID[t], strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
			}},
		"POST /admin/users/{id}/reassign": {allow: adminOnly, targets: []target{in, out, other},
			sees: map[target][]who{in: seeUserIn, out: seeUserOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/admin/users/"+f.userID[t]+"/reassign", strings.NewReader("to="+f.colleague), "application/x-www-form-urlencoded")
			}},
		"GET /admin/regions":    perm(adminOnly, get("/admin/regions")),
		"GET /admin/landmarks":  perm(adminOnly, get("/admin/landmarks")),
		"GET /admin/categories": perm(adminOnly, get("/admin/categories")),
		"POST /admin/routing-rules": perm(adminOnly, form("/admin/routing-rules", func(f *authzFixture) url.Values {
			return url.Values{"category_code": {"BJ02"}, "region_code": {f.nextGrid()}, "department": {"CG"}, "priority": {"1"}}
		})),
		"POST /admin/routing-rules/{id}/delete": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/admin/routing-rules/"+f.newRule()+"/delete", nil, "")
		}),
		"POST /admin/categories/auto-dispatch": perm(adminOnly, form("/admin/categories/auto-dispatch", func(f *authzFixture) url.Values {
			return url.Values{"auto_category": {"BJ0101"}, "auto_dispatch": {"0"}}
		})),
		// Dispute and hazard pages: the same scope as their API.
		"GET /disputes": authed(get("/disputes")),
		"GET /disputes/{id}": {targets: []target{in, out, other}, sees: disputeTargets(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/disputes/"+f.disputes[t], nil, "")
		}},
		"GET /disputes/{id}/agreement": {targets: []target{in, out, other}, sees: disputeTargets(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/disputes/"+f.agreed[t]+"/agreement", nil, "")
		}},
		"POST /disputes/{id}/actions/{action}": {targets: []target{in, out, other}, sees: disputeTargets(), acts: disputeActs,
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "POST", "/disputes/"+f.newDispute(t)+"/actions/accept", strings.NewReader("version=1"), "application/x-www-form-urlencoded")
			}},
		"POST /disputes": {targets: []target{in}, sees: map[target][]who{in: seeDisputeIn}, req: func(f *authzFixture, w who, t target) *http.Request {
			v := url.Values{"type": {"neighbour"}, "title": {"漏水纠纷"}, "region": {demoGrid}, "parties.0.role": {"applicant"}, "parties.0.name": {"张三"}}
			return f.request(w, "POST", "/disputes", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
		}},
		"GET /hazards": authed(get("/hazards")),
		"POST /hazards": {targets: []target{in}, sees: map[target][]who{in: seeDisputeIn}, req: func(f *authzFixture, w who, t target) *http.Request {
			v := url.Values{"type": {"fire"}, "title": {"消防通道堵塞"}, "region": {demoGrid}}
			return f.request(w, "POST", "/hazards", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
		}},
		"GET /hazards/{id}": {targets: []target{in, out, other}, sees: disputeTargets(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/hazards/"+f.hazards[t], nil, "")
		}},
		"POST /hazards/{id}/actions/{action}": {targets: []target{in, out, other}, sees: disputeTargets(), acts: disputeActs,
			req: func(f *authzFixture, w who, t target) *http.Request {
				v := url.Values{"deadline": {time.Now().Add(72 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")}}
				return f.request(w, "POST", "/hazards/"+f.newHazard(t)+"/actions/order", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
			}},
		"GET /admin/dicts": perm(adminOnly, get("/admin/dicts?type=case_source")),
		"POST /admin/dicts/{type}/items": perm(adminOnly, form("/admin/dicts/case_source/items", func(f *authzFixture) url.Values {
			return url.Values{"code": {"form" + strconv.Itoa(int(f.seq.Add(1)))}, "label": {"矩阵测试"}}
		})),
		"POST /admin/dicts/{type}/items/{code}": perm(adminOnly, form("/admin/dicts/case_source/items/grid_patrol", func(*authzFixture) url.Values {
			return url.Values{"label": {"网格员巡查"}, "label_en": {"Grid patrol"}, "sort": {"30"}, "enabled": {"1"}}
		})),
		"GET /admin/sla":       perm(adminOnly, get("/admin/sla")),
		"GET /admin/workflows": perm(adminOnly, get("/admin/workflows?name=whistle")),
		// A preview: the matrix changes no workflow.
		"POST /admin/workflows/{name}": perm(adminOnly, form("/admin/workflows/whistle", func(*authzFixture) url.Values {
			body, _ := casework.Workflows()["whistle"].Def.Marshal()
			return url.Values{"source": {"json"}, "do": {"preview"}, "definition": {string(body)}}
		})),
		"GET /admin/apikeys": perm(adminOnly, get("/admin/apikeys")),
		"POST /admin/apikeys": perm(adminOnly, form("/admin/apikeys", func(f *authzFixture) url.Values {
			return url.Values{"name": {f.unique("matrix-page-key")}}
		})),
		"POST /admin/apikeys/{id}/revoke": perm(adminOnly, func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/admin/apikeys/"+f.newAPIKey()+"/revoke", nil, "")
		}),
		"GET /admin/audit":              perm(adminOnly, get("/admin/audit")),
		"GET /admin/audit/export.csv":   perm(adminOnly, get("/admin/audit/export.csv?action=user.add")),
		"GET /admin/audit/export.xlsx":  perm(adminOnly, get("/admin/audit/export.xlsx?action=user.add")),
		"GET /admin/logins/export.csv":  perm(adminOnly, get("/admin/logins/export.csv?failed=1")),
		"GET /admin/logins/export.xlsx": perm(adminOnly, get("/admin/logins/export.xlsx?failed=1")),
		"GET /admin/logins":             perm(adminOnly, get("/admin/logins")),
		"GET /screen":                   perm(statsRead, get("/screen")),
		"GET /screen/{region}": {allow: statsRead, targets: []target{in, out, other},
			sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				return f.request(w, "GET", "/screen/"+f.node[t], nil, "")
			}},
		"GET /static/": pub(get("/static/whistle.css")),
	}
	maps.Copy(m, registryMatrix())
	maps.Copy(m, visitMatrix())
	maps.Copy(m, deviceMatrix())
	maps.Copy(m, benchmarkMatrix())
	maps.Copy(m, benefitMatrix())
	maps.Copy(m, assessMatrix())
	maps.Copy(m, policyMatrix())
	maps.Copy(m, sensingMatrix())
	return m
}

// uncovered lists the registered routes without an expectation, and the
// expectations of routes that are not registered.
func uncovered(routes []web.Route, m map[string]spec) (missing, stale []string) {
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.Pattern] = true
		if _, ok := m[r.Pattern]; !ok {
			missing = append(missing, r.Pattern)
		}
	}
	for p := range m {
		if !seen[p] {
			stale = append(stale, p)
		}
	}
	slices.Sort(stale)
	return missing, stale
}

// TestAuthorizationMatrixCoversEveryRoute is the matrix's self-check: the
// table covers exactly the routes the router registers, and a route added
// without an expectation is caught.
func TestAuthorizationMatrixCoversEveryRoute(t *testing.T) {
	f := newAuthzFixture(t)
	routes := f.srv.Routes()
	if len(routes) < 100 {
		t.Fatalf("the router reports only %d routes", len(routes))
	}
	missing, stale := uncovered(routes, matrix())
	if len(missing) > 0 {
		t.Errorf("routes without an expectation in the authorization matrix: %q", missing)
	}
	if len(stale) > 0 {
		t.Errorf("expectations for routes that are not registered: %q", stale)
	}
	added := append(slices.Clone(routes), web.Route{Pattern: "GET /api/v1/new-thing", Access: web.Access{Auth: true}})
	if missing, _ := uncovered(added, matrix()); !slices.Equal(missing, []string{"GET /api/v1/new-thing"}) {
		t.Errorf("a route added without expectations: the check reports %q, want it named", missing)
	}
}

// TestAuthorizationMatrix calls every route as every caller on every
// target and compares the answer with the table. Every response body is
// also searched for the personal data the fixture planted: the phones and
// identity numbers must only ever appear masked.
func TestAuthorizationMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	m := matrix()
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	calls := 0
	for _, r := range f.srv.Routes() {
		sp, ok := m[r.Pattern]
		if !ok {
			continue // reported by TestAuthorizationMatrixCoversEveryRoute
		}
		targets := sp.targets
		if targets == nil {
			targets = []target{none}
		}
		for _, tg := range targets {
			for _, w := range callers {
				want := sp.want(w, tg)
				req := sp.req(f, w, tg)
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("%s as %s on %q: %v", r.Pattern, w, tg, err)
					continue
				}
				body := readSome(resp)
				calls++
				got := classify(resp)
				if got != want {
					t.Errorf("%s as %s, target %q (%s %s): got %s (%d %s), want %s", r.Pattern, w, tg, req.Method, req.URL.RequestURI(),
						got, resp.StatusCode, firstLine(body), want)
				}
				for _, secret := range f.secrets {
					if bytes.Contains(body, []byte(secret)) {
						t.Errorf("%s as %s, target %q: the response shows %s unmasked", r.Pattern, w, tg, secret)
					}
				}
			}
		}
	}
	t.Logf("%d calls over %d routes", calls, len(f.srv.Routes()))
}

// TestUnmaskNeedsThePermission checks the one way to see personal data:
// ?unmask=1 shows it to the holders of personal.unmask and to nobody else.
func TestUnmaskNeedsThePermission(t *testing.T) {
	f := newAuthzFixture(t)
	client := &http.Client{Timeout: 30 * time.Second}
	for _, w := range []who{community, street, leader, admin, resident, grid} {
		for _, path := range []string{"/api/v1/cases/" + f.caseID(in) + "?unmask=1", "/api/v1/users/" + f.userID[in] + "?unmask=1",
			"/api/v1/disputes/" + f.disputes[in] + "?unmask=1"} {
			resp, err := client.Do(f.request(w, "GET", path, nil, ""))
			if err != nil {
				t.Fatal(err)
			}
			body := readSome(resp)
			shows := false
			for _, s := range f.secrets {
				shows = shows || bytes.Contains(body, []byte(s))
			}
			mayUnmask := w == community || w == street || w == admin
			if resp.StatusCode == http.StatusOK && shows != mayUnmask {
				t.Errorf("GET %s as %s: shows personal data %v, want %v", path, w, shows, mayUnmask)
			}
			if mayUnmask && resp.StatusCode == http.StatusOK && !shows && !strings.Contains(path, "users") {
				t.Errorf("GET %s as %s: the reporter's phone is not shown", path, w)
			}
		}
	}
}

func classify(resp *http.Response) outcome {
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return ok
	case c >= 300 && c < 400:
		// A page sends an anonymous caller to log in, with the way back;
		// logging out ends on the bare login page.
		if strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			return unauth
		}
		return ok
	case c == http.StatusUnauthorized:
		return unauth
	case c == http.StatusForbidden:
		return forbidden
	case c == http.StatusNotFound:
		return notFound
	default:
		return outcome(strconv.Itoa(c))
	}
}

// readSome reads a body, stopping early on an event stream.
func readSome(resp *http.Response) []byte {
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return b
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

const (
	demoGrid      = "330303001011001"
	otherDistrict = "330399"
	otherGrid     = "330399001001001"
)

// authzFixture is a demo district served in-process, with a second
// district, planted personal data and the objects the matrix names.
type authzFixture struct {
	t      *testing.T
	oidc   *fakeOIDC
	srv    *web.Server
	url    string
	w      *wired
	tokens map[who]string
	seq    atomic.Int64

	cases      map[target]int64
	caseNumber map[target]string
	photoID    map[target]string
	userID     map[target]string
	colleague  string // demo-grid's id: whom the matrix reassigns a user's cases to
	userRegion map[target]string
	// devices are the water meters of the registry's people (plantDevices).
	devices map[target]int64
	// sensingRule is the matrix's threshold rule (plantSensing).
	sensingRule string
	node        map[target]string
	interior    map[string]orb.Point
	grids       []string
	limitID     string
	apiKey      string

	// disputes and hazards are one of each per target, made by the system;
	// gridOf is each target's grid.
	disputes map[target]string
	hazards  map[target]string
	agreed   map[target]string // a dispute with an agreement (in, out); other's has none
	gridOf   map[target]string

	open311Token string
	otherGeoJSON []byte
	secrets      []string
	// policyPerson is the matrix resident's registry person (eligibility).
	policyPerson int64
	reg          *registryFixture
	visitTask    map[target]int64
	// visitPhotoTask is each target's visit task that photos are added to.
	visitPhotoTask map[target]int64
	// visitDone is each target's recorded visit, with one photo named
	// visitPhotoName (plantVisits).
	visitDone      map[target]int64
	visitPhotoName map[target]string
	ben            *benefitFixture
	assess         *assessFixture
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	ctx := context.Background()
	var o options
	fs := flag.NewFlagSet("authz", flag.ContinueOnError)
	o.serveFlags(fs)
	e := env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
	sso := newFakeOIDC(t)
	if _, err := parse(fs, append([]string{"--data", t.TempDir(), "--log-level", "error", "--limit-login", "0", "--limit-anonymous", "0",
		"--open311-rate", "1000", "--open311-burst", "1000"}, append(sso.args(), fakeWeChatArgs(t)...)...), e); err != nil {
		t.Fatal(err)
	}
	o.seed, o.demoPassword = 1, "whistle-demo"
	w, err := wire(ctx, &o, e, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	ts := httptest.NewServer(w.srv)
	t.Cleanup(ts.Close)
	f := &authzFixture{t: t, oidc: sso, srv: w.srv, url: ts.URL, w: w, tokens: map[who]string{}, cases: map[target]int64{}, caseNumber: map[target]string{},
		photoID: map[target]string{}, userID: map[target]string{}, userRegion: map[target]string{}, node: map[target]string{}, interior: map[string]orb.Point{}}
	sys := audit.System("authz test")
	regs := w.app.regions

	// A second district beside the demo one, with one street, community
	// and grid.
	square := func(x0, y0, d float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x0 + d, y0}, {x0 + d, y0 + d}, {x0, y0 + d}, {x0, y0}}}
	}
	feats := []region.Feature{
		{Index: 1, Code: otherDistrict, Name: "矩阵区", Level: region.District, ParentCode: "330300", Geometry: square(119.0, 29.0, 0.1)},
		{Index: 2, Code: "330399001", Name: "矩阵街道", Level: region.Street, ParentCode: otherDistrict, Geometry: square(119.0, 29.0, 0.1)},
		{Index: 3, Code: "330399001001", Name: "矩阵社区", Level: region.Community, ParentCode: "330399001", Geometry: square(119.0, 29.0, 0.1)},
		{Index: 4, Code: otherGrid, Name: "矩阵网格", Level: region.Grid, ParentCode: "330399001001", Geometry: square(119.0, 29.0, 0.1)},
	}
	if _, err := regs.Import(ctx, sys, feats); err != nil {
		t.Fatalf("import the second district: %v", err)
	}
	if err := regs.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := regs.Export(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	f.otherGeoJSON = buf.Bytes()

	for w := range demoAccount {
		f.tokens[w] = f.freshToken(w)
	}

	// Nodes: 万顺社区, another street, the other district.
	streets, err := regs.Children(ctx, "330303", false)
	if err != nil || len(streets) < 2 {
		t.Fatalf("streets: %v", err)
	}
	var outStreet region.Node
	for _, s := range streets {
		if s.Code != "330303001" {
			outStreet = s
			break
		}
	}
	f.node[in], f.node[out], f.node[other] = "330303001011", outStreet.Code, otherDistrict
	outGrid := firstGrid(t, regs, outStreet.Code)
	for _, g := range []string{demoGrid, outGrid, otherGrid} {
		n, err := regs.Get(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		f.interior[g] = n.Interior
	}
	f.interior[otherGrid] = orb.Point{119.05, 29.05}
	gridOf := map[target]string{in: demoGrid, out: outGrid, other: otherGrid}
	f.gridOf, f.disputes, f.hazards, f.agreed = gridOf, map[target]string{}, map[target]string{}, map[target]string{}
	all, err := regs.All(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		if n.Level == region.Grid && strings.HasPrefix(n.Code, "330303") {
			f.grids = append(f.grids, n.Code)
		}
	}

	// Personal data that must only ever appear masked.
	residentPhone, reporterPhone, userPhone := "13905771234", "13905775678", "13905779012"
	userID := idNumber("33030319850612001")
	f.secrets = []string{residentPhone, reporterPhone, userPhone, userID}

	// Users: one per target, with a phone and an identity number.
	acc := w.app.accounts
	for tg, region := range map[target]string{in: demoGrid, out: outGrid, other: otherGrid} {
		u, err := acc.AddUser(ctx, sys, account.SystemScope(), account.NewUser{Username: "matrix-" + string(tg), Password: "matrix-password",
			Phone: userPhone, IDNumber: userID, Roles: []account.Role{account.GridWorker}, RegionCode: region})
		if err != nil {
			t.Fatalf("add user %s: %v", tg, err)
		}
		f.userID[tg] = strconv.FormatInt(u.ID, 10)
		f.userRegion[tg] = region
	}

	// Cases: in 万顺社区 reported by the demo resident (whose account has a
	// phone) and dispatched to CG; in another street and in the other
	// district reported anonymously with a phone. Each has a photo.
	cases := w.cases
	res, err := acc.UserByName(ctx, account.SystemScope(), "demo-resident")
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range []target{in, out, other} {
		in := f.submissionInput(gridOf[tg])
		caller := casework.Caller{System: true}
		if tg == "in" {
			caller = casework.Caller{User: res}
			in.Phone = residentPhone
		} else {
			in.Anonymous, in.Phone = true, reporterPhone
		}
		c, _, err := cases.Submit(ctx, caller, in)
		if err != nil {
			t.Fatalf("submit the %s case: %v", tg, err)
		}
		f.cases[tg], f.caseNumber[tg] = c.ID, c.Number
		// The grid worker of the case's grid adds a photo, as on patrol.
		gw, err := acc.UserByName(ctx, account.SystemScope(), "matrix-"+string(tg))
		if err != nil {
			t.Fatal(err)
		}
		p, err := cases.AddPhoto(ctx, casework.Caller{User: gw}, c.ID, "before", bytes.NewReader(jpegBytes(f.t)))
		if err != nil {
			t.Fatalf("photo: %v", err)
		}
		f.photoID[tg] = strconv.FormatInt(p.ID, 10)
	}
	adm, err := acc.UserByName(ctx, account.SystemScope(), "demo-admin")
	if err != nil {
		t.Fatal(err)
	}
	mate, err := acc.UserByName(ctx, account.SystemScope(), "demo-grid")
	if err != nil {
		t.Fatal(err)
	}
	f.colleague = strconv.FormatInt(mate.ID, 10)
	sysc := casework.Caller{User: adm}
	if _, err := cases.Act(ctx, sysc, f.cases[in], casework.ActAccept, casework.Input{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cases.Act(ctx, sysc, f.cases[in], casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}}); err != nil {
		t.Fatalf("dispatch to CG: %v", err)
	}

	// Open311: a key, and a token from a request made with it.
	key, _, err := acc.CreateAPIKey(ctx, sys, "matrix")
	if err != nil {
		t.Fatal(err)
	}
	f.apiKey = key
	resp, err := http.Post(f.url+"/open311/v2/requests.json", "application/x-www-form-urlencoded", strings.NewReader(f.open311Request(key).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	var created []struct {
		Token string `json:"token"`
		ID    string `json:"service_request_id"`
	}
	b := readSome(resp)
	if err := json.Unmarshal(b, &created); err != nil || len(created) == 0 {
		t.Fatalf("open311 request: %d %s", resp.StatusCode, b)
	}
	f.open311Token = created[0].Token
	if f.open311Token == "" {
		f.open311Token = created[0].ID
	}

	// A time limit for PUT.
	f.limitID = f.newTimeLimit()
	// A dispute (whose parties' phone and identity number must only ever
	// appear masked) and a hazard per target.
	for _, tg := range []target{in, out, other} {
		f.disputes[tg], f.hazards[tg] = f.newDispute(tg), f.newHazard(tg)
	}
	// Agreed disputes, mediated by the demo admin (whose district holds in
	// and out).
	for _, tg := range []target{in, out} {
		id := f.newDispute(tg)
		n, _ := strconv.ParseInt(id, 10, 64)
		for _, step := range []struct {
			action string
			in     dispute.Input
		}{{"accept", dispute.Input{}}, {"session", dispute.Input{Participants: "张三、李四", Notes: "调解"}}, {"agree", dispute.Input{Agreement: "双方和解。"}}} {
			if _, err := f.w.disputes.ActDispute(context.Background(), dispute.Caller{User: adm}, n, step.action, step.in); err != nil {
				f.t.Fatalf("%s the %s dispute: %v", step.action, tg, err)
			}
		}
		f.agreed[tg] = id
	}
	f.agreed[other] = f.disputes[other]
	f.plantRegistry()
	f.plantVisits()
	f.plantDevices()
	f.plantSensing()
	f.plantBenefits()
	f.plantAssess()
	f.plantPolicies()
	return f
}

// disputeBody is a new dispute in grid whose first party has a secret
// phone and identity number.
func (f *authzFixture) disputeBody(grid string) dispute.NewDispute {
	return dispute.NewDispute{Region: grid, Type: "neighbour", Title: "漏水纠纷", Parties: []dispute.NewParty{
		{Role: "applicant", Name: "张三", Phone: f.secrets[0], IDNumber: f.secrets[3]}, {Role: "respondent", Name: "李四"}}}
}

// newDispute registers a dispute in t's grid as the system and returns
// its id.
func (f *authzFixture) newDispute(t target) string {
	d, err := f.w.disputes.CreateDispute(context.Background(), dispute.System(), f.disputeBody(f.gridOf[t]))
	if err != nil {
		f.t.Fatalf("dispute in %s: %v", t, err)
	}
	return strconv.FormatInt(d.ID, 10)
}

// newHazard registers a hazard in t's grid as the system and returns its
// id.
func (f *authzFixture) newHazard(t target) string {
	h, err := f.w.disputes.CreateHazard(context.Background(), dispute.System(), dispute.NewHazard{Region: f.gridOf[t], Type: "gas", Title: "燃气管老化"})
	if err != nil {
		f.t.Fatalf("hazard in %s: %v", t, err)
	}
	return strconv.FormatInt(h.ID, 10)
}

func firstGrid(t *testing.T, regs *region.Store, code string) string {
	t.Helper()
	for {
		kids, err := regs.Children(context.Background(), code, false)
		if err != nil || len(kids) == 0 {
			t.Fatalf("no children under %s: %v", code, err)
		}
		if kids[0].Level == region.Grid {
			return kids[0].Code
		}
		code = kids[0].Code
	}
}

func (f *authzFixture) caseID(t target) string { return strconv.FormatInt(f.cases[t], 10) }

func (f *authzFixture) unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, f.seq.Add(1))
}

// smsCode has a login code sent to phone and returns it, read from the
// sms.Log double the app runs with when no gateway is configured.
func (f *authzFixture) smsCode(phone string) string {
	if err := f.w.phones.SendCode(context.Background(), phone, account.Client{IP: "192.0.2.1"}); err != nil {
		f.t.Fatalf("sms code for %s: %v", phone, err)
	}
	m, ok := f.w.sms.(*sms.Log).Last(phone)
	if !ok {
		f.t.Fatalf("no sms code recorded for %s", phone)
	}
	return m.Params["code"]
}

// freshToken logs w in anew (for the routes that end a session).
func (f *authzFixture) freshToken(w who) string {
	if w == anon {
		return ""
	}
	u, err := f.w.app.accounts.UserByName(context.Background(), account.SystemScope(), demoAccount[w])
	if err != nil {
		f.t.Fatal(err)
	}
	tok, _, _, err := f.w.app.accounts.Login(context.Background(), u.Username, "whistle-demo", account.APISession, account.Client{IP: "127.0.0.1"})
	if err != nil {
		f.t.Fatalf("login %s: %v", w, err)
	}
	return tok
}

func (f *authzFixture) request(w who, method, path string, body io.Reader, ct string) *http.Request {
	return f.withToken(f.tokens[w], method, path, body, ct)
}

func (f *authzFixture) withToken(tok, method, path string, body io.Reader, ct string) *http.Request {
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept-Language", "zh-CN")
	return req
}

func (f *authzFixture) jsonRequest(w who, method, path string, v any) *http.Request {
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.request(w, method, path, bytes.NewReader(b), "application/json")
}

func (f *authzFixture) submissionInput(grid string) casework.SubmitInput {
	p := f.interior[grid]
	lat, lng := p.Lat(), p.Lon()
	return casework.SubmitInput{Category: "ZL0601", Description: "矩阵测试：楼道堆物 " + f.unique("c"), Lat: &lat, Lng: &lng, Address: "测试路 1 号", Visibility: "public"}
}

func (f *authzFixture) submission(grid string) map[string]any {
	in := f.submissionInput(grid)
	return map[string]any{"category": in.Category, "description": in.Description, "lat": *in.Lat, "lng": *in.Lng, "address": in.Address}
}

// freshCase submits a new 红哨 case at the target for an action to act on.
func (f *authzFixture) freshCase(t target) string {
	grid := map[target]string{in: demoGrid, other: otherGrid}[t]
	if t == out {
		grid = firstGridOther(f)
	}
	c, _, err := f.w.cases.Submit(context.Background(), casework.Caller{System: true}, f.submissionInput(grid))
	if err != nil {
		f.t.Fatalf("fresh case at %s: %v", t, err)
	}
	return strconv.FormatInt(c.ID, 10)
}

func (f *authzFixture) locateQuery() string {
	p := f.interior[demoGrid]
	return fmt.Sprintf("/api/v1/regions/locate?lat=%f&lng=%f", p.Lat(), p.Lon())
}

func (f *authzFixture) duplicatesQuery() string {
	p := f.interior[demoGrid]
	return fmt.Sprintf("/api/v1/cases/duplicates?category=ZL0601&lat=%f&lng=%f", p.Lat(), p.Lon())
}

func (f *authzFixture) open311Request(key string) url.Values {
	p := f.interior[demoGrid]
	return url.Values{"api_key": {key}, "service_code": {"ZL0601"}, "lat": {fmt.Sprint(p.Lat())}, "long": {fmt.Sprint(p.Lon())},
		"description": {"矩阵测试：Open311 上报 " + f.unique("o")}}
}

func (f *authzFixture) open311Update(key string) url.Values {
	return url.Values{"api_key": {key}, "service_request_id": {f.verifiedCase()}, "description": {"接入方回访后结案"},
		"updated_datetime": {time.Now().Format(time.RFC3339)}, "status": {"closed"}, "update_id": {f.unique("u")}}
}

// importForm is a people file of one person in the demo grid.
func (f *authzFixture) importForm() (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "people.csv")
	if err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(fw, "姓名,公民身份号码,人员类型,所属网格\n张三,%s,常住,%s\n", validIDNumber("33030319900101001"), demoGrid)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (f *authzFixture) photoForm() (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("photo", "p.jpg")
	if err != nil {
		f.t.Fatal(err)
	}
	fw.Write(jpegBytes(f.t))
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (f *authzFixture) loginForm() *http.Request {
	resp, err := http.Get(f.url + "/login")
	if err != nil {
		f.t.Fatal(err)
	}
	readSome(resp)
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "whistle_login_csrf" {
			csrf = c
		}
	}
	if csrf == nil {
		f.t.Fatal("GET /login set no login CSRF cookie")
	}
	vals := url.Values{"username": {"demo-resident"}, "password": {"whistle-demo"}, "csrf_token": {csrf.Value}}
	req := f.withToken("", "POST", "/login", strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	return req
}

func (f *authzFixture) timeLimit() map[string]any {
	return map[string]any{"workflow": "urban", "stage": "handle", "region_code": f.nextGrid(), "limit": "3wd"}
}

// nextGrid hands out the district's grids in turn, so that the rules and
// time limits the matrix creates never collide.
func (f *authzFixture) nextGrid() string { return f.grids[int(f.seq.Add(1))%len(f.grids)] }

func (f *authzFixture) newTimeLimit() string {
	l, err := f.w.sla.AddTimeLimit(context.Background(), audit.System("authz test"), sla.TimeLimit{Workflow: "urban", Stage: "handle",
		RegionCode: f.nextGrid(), Limit: "3wd"})
	if err != nil {
		f.t.Fatalf("add a time limit: %v", err)
	}
	return strconv.FormatInt(l.ID, 10)
}

func (f *authzFixture) newRule() string {
	r, err := f.w.app.categories.AddRule(context.Background(), audit.System("authz test"), category.Rule{CategoryCode: "BJ01",
		RegionCode: f.nextGrid(), Department: "CG", Priority: 1})
	if err != nil {
		f.t.Fatalf("add a routing rule: %v", err)
	}
	return strconv.FormatInt(r.ID, 10)
}

// landmarkBody is a landmark in the demo grid.
func (f *authzFixture) landmarkBody() map[string]any {
	p := f.interior[demoGrid]
	return map[string]any{"name": f.unique("矩阵地标"), "kind": "landmark", "lat": p.Lat(), "lng": p.Lon()}
}

func (f *authzFixture) newLandmark() string {
	resp, err := http.DefaultClient.Do(f.jsonRequest(admin, "POST", "/api/v1/landmarks", f.landmarkBody()))
	if err != nil || resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("add a landmark: %v %v", err, resp)
	}
	defer resp.Body.Close()
	var l struct{ ID int64 }
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		f.t.Fatal(err)
	}
	return strconv.FormatInt(l.ID, 10)
}

func (f *authzFixture) newAPIKey() string {
	_, k, err := f.w.app.accounts.CreateAPIKey(context.Background(), audit.System("authz test"), f.unique("revocable"))
	if err != nil {
		f.t.Fatal(err)
	}
	return strconv.FormatInt(k.ID, 10)
}

func (f *authzFixture) newCalendarDay() string {
	d := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(f.seq.Add(1)))
	day := d.Format("2006-01-02")
	req := f.jsonRequest(admin, "PUT", "/api/v1/calendar/days/"+day, map[string]string{"kind": "holiday", "name": "矩阵"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("set a calendar day: %v %v", err, resp)
	}
	readSome(resp)
	return day
}

// idNumber completes 17 digits with the GB 11643 check character.
func idNumber(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range first17 {
		sum += int(c-'0') * weights[i]
	}
	return first17 + string("10X98765432"[sum%11])
}

// verifiedCase takes a new 红哨 case to verified, for an Open311 client to
// close, and returns its number.
func (f *authzFixture) verifiedCase() string {
	ctx := context.Background()
	acc, cases := f.w.app.accounts, f.w.cases
	adm, err := acc.UserByName(ctx, account.SystemScope(), "demo-admin")
	if err != nil {
		f.t.Fatal(err)
	}
	handler, err := acc.UserByName(ctx, account.SystemScope(), "demo-dept")
	if err != nil {
		f.t.Fatal(err)
	}
	c, _, err := cases.Submit(ctx, casework.Caller{System: true}, f.submissionInput(demoGrid))
	if err != nil {
		f.t.Fatal(err)
	}
	step := func(u *account.User, a casework.Action, in casework.Input) {
		if _, err := cases.Act(ctx, casework.Caller{User: u}, c.ID, a, in); err != nil {
			f.t.Fatalf("%s: %v", a, err)
		}
	}
	step(adm, casework.ActAccept, casework.Input{})
	step(adm, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
	step(handler, casework.ActStart, casework.Input{})
	p, err := cases.AddPhoto(ctx, casework.Caller{User: handler}, c.ID, "after", bytes.NewReader(jpegBytes(f.t)))
	if err != nil {
		f.t.Fatal(err)
	}
	step(handler, casework.ActResolve, casework.Input{Note: "已清理", Photos: []int64{p.ID}})
	yes := true
	step(adm, casework.ActVerify, casework.Input{Passed: &yes})
	return c.Number
}

// TestFollowingGrantsReadingOnly: following a public case outside one's
// scope lets a user read it (without the reporter's identity) and never
// act on it; a private case cannot be followed from outside.
func TestFollowingGrantsReadingOnly(t *testing.T) {
	f := newAuthzFixture(t)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(req *http.Request) (int, string) {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(readSome(resp))
	}
	id := f.freshCase(out) // public, in another street, reported by the system
	for _, w := range []who{community, resident} {
		if got, body := call(f.request(w, "POST", "/api/v1/cases/"+id+"/follow", nil, "")); got != http.StatusNoContent {
			t.Fatalf("%s follows case %s: %d %s", w, id, got, body)
		}
		got, body := call(f.request(w, "GET", "/api/v1/cases/"+id, nil, ""))
		if got != http.StatusOK || strings.Contains(body, `"actions":[{`) {
			t.Errorf("%s reads the followed case: %d %s, want 200 with no actions", w, got, firstLine([]byte(body)))
		}
		if got, _ := call(f.jsonRequest(w, "POST", "/api/v1/cases/"+id+"/actions/accept", map[string]string{"note": "越权"})); got != http.StatusNotFound {
			t.Errorf("%s accepts a followed case outside their scope: %d, want 404", w, got)
		}
		if got, _ := call(f.request(w, "POST", "/cases/"+id+"/act/accept", strings.NewReader("note=x"), "application/x-www-form-urlencoded")); got != http.StatusNotFound {
			t.Errorf("%s accepts it through the page: %d, want 404", w, got)
		}
		photo, ct := f.photoForm()
		if got, _ := call(f.request(w, "POST", "/api/v1/cases/"+id+"/photos", photo, ct)); got != http.StatusNotFound {
			t.Errorf("%s adds a photo to it: %d, want 404", w, got)
		}
		if got, page := call(f.request(w, "GET", "/cases/"+id, nil, "")); got != http.StatusOK || strings.Contains(page, "/act/accept") {
			t.Errorf("%s opens the followed case's page: %d, offering accept: %v", w, got, strings.Contains(page, "/act/accept"))
		}
	}
	// A private case outside the scope is not there to follow.
	p := f.submissionInput(firstGridOther(f))
	p.Visibility = "private"
	c, _, err := f.w.cases.Submit(context.Background(), casework.Caller{System: true}, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := call(f.request(community, "POST", "/api/v1/cases/"+strconv.FormatInt(c.ID, 10)+"/follow", nil, "")); got != http.StatusNotFound {
		t.Errorf("following a private case outside the scope: %d, want 404", got)
	}
}

// firstGridOther is the grid of the fixture's out-of-scope street.
func firstGridOther(f *authzFixture) string {
	for g := range f.interior {
		if g != demoGrid && g != otherGrid {
			return g
		}
	}
	f.t.Fatal("no out-of-scope grid")
	return ""
}

// fakeWeChatArgs starts a small WeChat API (an openid for any web
// authorisation code, a token, template messages accepted) and answers
// the flags that point the server at it.
func fakeWeChatArgs(t *testing.T) []string {
	t.Helper()
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sns/oauth2/access_token":
			_, _ = io.WriteString(w, `{"access_token":"AT","expires_in":7200,"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","scope":"snsapi_base"}`)
		case "/cgi-bin/token":
			_, _ = io.WriteString(w, `{"access_token":"TOKEN","expires_in":7200}`)
		default:
			_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
		}
	}))
	t.Cleanup(wx.Close)
	return []string{"--wechat-appid", "wx1234567890abcdef", "--wechat-secret", "s", "--wechat-template", "TPL", "--wechat-url", wx.URL, "--wechat-oauth-url", wx.URL}
}
