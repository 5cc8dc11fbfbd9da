package registry

import (
	"context"
	"database/sql"
	"errors"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Contact returns the phone the registry holds for a subject (a person's
// phone, an organisation's contact phone; "" when it has none) and its
// region path, for the eligibility notices (a system task: no scope). A
// subject that is gone is NotFound.
func (s *Store) Contact(ctx context.Context, kind string, id int64) (phone, regionPath string, err error) {
	defer errs.Wrapf(&err, "registry.Store.Contact(%s %d)", kind, id)
	var q string
	switch kind {
	case FactPerson:
		q = `SELECT phone, region_path FROM reg_people WHERE id = $1`
	case FactOrganisation:
		q = `SELECT contact_phone, region_path FROM reg_organisations WHERE id = $1`
	default:
		return "", "", invalid().Field("subject_kind", "registry.err.fact_kind")
	}
	err = s.db.QueryRow(ctx, q, id).Scan(&phone, &regionPath)
	if errors.Is(err, sql.ErrNoRows) {
		if kind == FactOrganisation {
			return "", "", notFound(keyOrgNotFound, id)
		}
		return "", "", personNotFound(id)
	}
	return phone, regionPath, db.Translate(err)
}
