package web

import "whistle/internal/account"

// registerPages declares the HTML pages of the resident, staff and admin
// consoles. registerRoutes calls it, so every route still goes through
// s.handle with its access rule.
func (s *Server) registerPages() {
	// Residents (and anyone reporting).
	s.handle("GET /report", authed, s.pageReport)
	s.handle("GET /my", authed, s.pageMy)
	s.handle("GET /nearby", public, s.pageNearby)
	s.handle("GET /public/cases/{id}", public, s.pagePublicCase)

	// Staff console.
	s.handle("GET /cases", authed, s.pageCases)
	s.handle("POST /cases/dispatch", authed, s.pageBulkDispatch)
	s.handle("GET /cases/export.xlsx", authed, s.pageExportXLSX)
	s.handle("GET /cases/export.csv", authed, s.pageExportCSV)
	s.handle("GET /cases/{id}", authed, s.pageCase)
	s.handle("POST /cases/{id}/act/{action}", authed, s.pageCaseAct)
	s.handle("GET /inbox", authed, s.pageInbox)
	s.handle("POST /inbox/read", authed, s.pageInboxRead)

	// Administration.
	s.handle("GET /admin", authed, s.pageAdmin)
	s.handle("GET /admin/users", needs(account.PermUserRead), s.pageAdminUsers)
	s.handle("POST /admin/users", needs(account.PermUserWrite), s.pageAdminUserAdd)
	s.handle("POST /admin/users/{id}/password", needs(account.PermUserWrite), s.pageAdminUserPassword)
	s.handle("GET /admin/regions", needs(account.PermRegionWrite), s.pageAdminRegions)
	s.handle("GET /admin/categories", needs(account.PermCategoryWrite), s.pageAdminCategories)
	s.handle("POST /admin/categories/auto-dispatch", needs(account.PermCategoryWrite), s.pageAdminCategoryAutoDispatch)
	s.handle("POST /admin/routing-rules", needs(account.PermCategoryWrite), s.pageAdminRuleAdd)
	s.handle("POST /admin/routing-rules/{id}/delete", needs(account.PermCategoryWrite), s.pageAdminRuleDelete)
	s.handle("GET /admin/sla", needs(account.PermSLAWrite), s.pageAdminSLA)
	s.handle("GET /admin/apikeys", needs(account.PermAPIKeys), s.pageAdminKeys)
	s.handle("POST /admin/apikeys", needs(account.PermAPIKeys), s.pageAdminKeyAdd)
	s.handle("POST /admin/apikeys/{id}/revoke", needs(account.PermAPIKeys), s.pageAdminKeyRevoke)
	s.handle("GET /admin/audit", needs(account.PermAuditRead), s.pageAdminAudit)
	s.handle("GET /admin/logins", needs(account.PermLoginLogRead), s.pageAdminLogins)
}
