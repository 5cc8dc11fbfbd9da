package category

import (
	"context"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// PageFilter selects one page of the flat category list (admin page).
type PageFilter struct {
	// Sort is one of SortKeys, "-" first for descending; "" is by code
	// (parents before their children).
	Sort string
	// English sorts "name" by the English name (the Chinese one where
	// there is none), as the page shows it.
	English       bool
	Limit, Offset int // Limit 0: all
}

// sortCols maps each sort key to its column: the whitelist of Sort.
var sortCols = map[string]string{"code": "code", "name": "name", "workflow": "workflow", "department": "department_code", "active": "active"}

// SortKeys lists the keys PageFilter.Sort accepts.
func SortKeys() []string { return []string{"code", "name", "workflow", "department", "active"} }

// Page returns one page of categories, active or not, and how many there
// are in all. An unknown sort key is Invalid on field sort.
func (s *Store) Page(ctx context.Context, f PageFilter) (_ []*Category, total int, err error) {
	defer errs.Wrapf(&err, "category.Store.Page")
	keys := sortCols
	if f.English {
		keys = map[string]string{}
		for k, v := range sortCols {
			keys[k] = v
		}
		keys["name"] = "COALESCE(NULLIF(name_en, ''), name)"
	}
	order := " ORDER BY code"
	if f.Sort != "" {
		var ok bool
		if order, ok = db.OrderBy(f.Sort, keys, "code"); !ok {
			return nil, 0, errs.E(errs.Invalid, "error.invalid").Field("sort", "field.unknown_sort", f.Sort)
		}
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM categories`).Scan(&total); err != nil {
		return nil, 0, db.Translate(err)
	}
	q, args := `SELECT `+cols+` FROM categories`+order, []any{}
	if f.Limit > 0 {
		q += ` LIMIT $1 OFFSET $2`
		args = append(args, f.Limit, f.Offset)
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, db.Translate(err)
	}
	defer rows.Close()
	var out []*Category
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, total, db.Translate(rows.Err())
}
