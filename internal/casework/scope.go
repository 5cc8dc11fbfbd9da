package casework

import "whistle/internal/account"

// ScopeColumns names the columns of cases that data scope tests, for a query
// that calls the cases table alias: a case is visible by its grid's region
// path, its current department, or to its reporter. It is the one
// declaration of them; every scoped query of cases, in any package, applies
// a scope through it.
func ScopeColumns(alias string) account.Columns {
	p := alias + "."
	return account.Columns{Path: p + "region_path", Department: p + "department_id", User: p + "reporter_id"}
}
