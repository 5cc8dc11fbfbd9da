package casework

import (
	"context"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// OpenCasesUnder counts the open cases under a region path (a grid's, for
// the registry's grid summary) within the scope: other modules ask here
// instead of reading the cases table.
func (s *Service) OpenCasesUnder(ctx context.Context, sc account.Scope, regionPath string) (_ int, err error) {
	defer errs.Wrapf(&err, "casework.Service.OpenCasesUnder")
	var w db.Where
	w.Add("c.region_path >= ? AND c.region_path < ?", regionPath, db.PathUpper(regionPath))
	w.Add(OpenSQL("c.status"))
	sc.Apply(&w, ScopeColumns("c"))
	var n int
	err = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM cases c`+w.SQL(), w.Args()...).Scan(&n)
	return n, db.Translate(err)
}
