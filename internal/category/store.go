package category

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Store reads and writes categories and routing rules.
type Store struct {
	db *db.DB
}

// NewStore returns a Store on d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

const cols = `code, COALESCE(parent_code, ''), name, name_en, kind, edition, workflow, department_code, time_limit,
	urgent, auto_dispatch, open311, common, fields, active, sort, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scan(sc scanner) (*Category, error) {
	var c Category
	var fields string
	var created, updated db.Time
	err := sc.Scan(&c.Code, &c.ParentCode, &c.Name, &c.NameEN, &c.Kind, &c.Edition, &c.Workflow, &c.Department, &c.TimeLimit,
		&c.Urgent, &c.AutoDispatch, &c.Open311, &c.Common, &fields, &c.Active, &c.Sort, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return nil, fmt.Errorf("category %s: stored fields: %w", c.Code, err)
	}
	if c.Fields == nil {
		c.Fields = []Field{}
	}
	c.CreatedAt, c.UpdatedAt = created.Time, updated.Time
	return &c, nil
}

func notFound(code string) *errs.Error { return errs.E(errs.NotFound, "category.not_found", code) }

// Get returns one category, active or not, without its children.
func (s *Store) Get(ctx context.Context, code string) (_ *Category, err error) {
	defer errs.Wrapf(&err, "category.Store.Get")
	c, err := scan(s.db.QueryRow(ctx, `SELECT `+cols+` FROM categories WHERE code = $1`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(code)
	}
	return c, db.Translate(err)
}

// List returns every category, active or not, ordered by code (a parent's
// code is a prefix of its children's, so parents come first).
func (s *Store) List(ctx context.Context) (_ []*Category, err error) {
	defer errs.Wrapf(&err, "category.Store.List")
	rows, err := s.db.Query(ctx, `SELECT `+cols+` FROM categories ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Category
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Tree returns the root categories with their Children filled in, siblings
// ordered by Sort and then code. Without includeInactive, an inactive
// category is left out together with everything below it.
func (s *Store) Tree(ctx context.Context, includeInactive bool) (_ []*Category, err error) {
	defer errs.Wrapf(&err, "category.Store.Tree")
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	byCode := link(all, func(c *Category) bool { return includeInactive || c.Active })
	var roots []*Category
	for _, c := range all {
		if _, ok := byCode[c.Code]; ok && c.ParentCode == "" {
			roots = append(roots, c)
		}
	}
	sortSiblings(roots)
	return roots, nil
}

// Subtree returns the category code, active or not, with everything below
// it in Children. Without includeInactive, inactive descendants are left out
// together with everything below them.
func (s *Store) Subtree(ctx context.Context, code string, includeInactive bool) (_ *Category, err error) {
	defer errs.Wrapf(&err, "category.Store.Subtree")
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	byCode := link(all, func(c *Category) bool { return includeInactive || c.Active || c.Code == code })
	c, ok := byCode[code]
	if !ok {
		return nil, notFound(code)
	}
	return c, nil
}

// link fills in the Children of the categories that include accepts and
// returns them by code. A category that is not included is no one's child,
// so the walk down from a root never reaches below it.
func link(all []*Category, include func(*Category) bool) map[string]*Category {
	byCode := make(map[string]*Category, len(all))
	for _, c := range all {
		c.Children = []*Category{}
		if include(c) {
			byCode[c.Code] = c
		}
	}
	for _, c := range all {
		if _, ok := byCode[c.Code]; !ok {
			continue
		}
		if p, ok := byCode[c.ParentCode]; ok {
			p.Children = append(p.Children, c)
		}
	}
	for _, c := range byCode {
		sortSiblings(c.Children)
	}
	return byCode
}

func sortSiblings(cs []*Category) {
	slices.SortFunc(cs, func(a, b *Category) int {
		if a.Sort != b.Sort {
			return a.Sort - b.Sort
		}
		return strings.Compare(a.Code, b.Code)
	})
}

// Create adds a category and returns it. A new category is active (in.Active
// is ignored) and in.Children are ignored. Kind, edition and workflow default
// to the parent's; a child's code must start with its parent's code.
func (s *Store) Create(ctx context.Context, actor audit.Actor, in Category) (_ *Category, err error) {
	defer errs.Wrapf(&err, "category.Store.Create")
	in.Active, in.Children = true, nil
	in.Code = strings.TrimSpace(in.Code)
	in.ParentCode = strings.TrimSpace(in.ParentCode)
	in.Name, in.NameEN = strings.TrimSpace(in.Name), strings.TrimSpace(in.NameEN)
	if in.Fields == nil {
		in.Fields = []Field{}
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		e := invalid()
		if !codeRe.MatchString(in.Code) {
			e.Field("code", "category.err.code")
		}
		if in.ParentCode != "" {
			var kind Kind
			var edition string
			var wf Workflow
			err := tx.QueryRow(ctx, `SELECT kind, edition, workflow FROM categories WHERE code = $1`, in.ParentCode).Scan(&kind, &edition, &wf)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				e.Field("parent_code", "category.err.unknown_parent", in.ParentCode)
			case err != nil:
				return db.Translate(err)
			default:
				if in.Kind == "" {
					in.Kind = kind
				} else if in.Kind != kind {
					e.Field("kind", "category.err.kind_parent", string(kind))
				}
				if in.Edition == "" {
					in.Edition = edition
				}
				if in.Workflow == "" {
					in.Workflow = wf
				}
				if !strings.HasPrefix(in.Code, in.ParentCode) || in.Code == in.ParentCode {
					e.Field("code", "category.err.code_prefix", in.ParentCode)
				}
			}
		}
		if in.Edition == "" {
			in.Edition = EditionWhistle
		}
		if !in.Kind.Valid() {
			e.Field("kind", "category.err.kind")
		}
		checkText(e, "edition", in.Edition, true, maxEdition)
		checkAttrs(e, &in)
		if err := checkDepartment(ctx, tx, e, "department", in.Department); err != nil {
			return err
		}
		if len(e.Fields) > 0 {
			return e
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM categories WHERE code = $1`, in.Code).Scan(&n); err != nil {
			return db.Translate(err)
		}
		if n > 0 {
			return errs.E(errs.Conflict, "category.duplicate", in.Code).Field("code", "field.taken")
		}
		sortFields(in.Fields)
		if err := insert(ctx, tx, &in); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "category.create", "category:"+in.Code,
			fmt.Sprintf("name=%s parent=%s kind=%s workflow=%s department=%s time_limit=%s auto_dispatch=%t", in.Name, in.ParentCode, in.Kind, in.Workflow, in.Department, in.TimeLimit, in.AutoDispatch))
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, in.Code)
}

// insertIfAbsent writes c as a new row; it reports whether a row was
// written (false when the code exists already).
func insertIfAbsent(ctx context.Context, tx *db.Tx, c *Category) (bool, error) {
	fields, err := json.Marshal(c.Fields)
	if err != nil {
		return false, err
	}
	var parent any
	if c.ParentCode != "" {
		parent = c.ParentCode
	}
	res, err := tx.Exec(ctx, `INSERT INTO categories (code, parent_code, name, name_en, kind, edition, workflow, department_code, time_limit,
		urgent, auto_dispatch, open311, common, fields, active, sort, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
		ON CONFLICT (code) DO NOTHING`,
		c.Code, parent, c.Name, c.NameEN, string(c.Kind), c.Edition, string(c.Workflow), c.Department, c.TimeLimit,
		c.Urgent, c.AutoDispatch, c.Open311, c.Common, string(fields), c.Active, c.Sort, tx.Now())
	if err != nil {
		return false, fmt.Errorf("category %s: %w", c.Code, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// insert writes c as a new row; an existing code is a conflict.
func insert(ctx context.Context, tx *db.Tx, c *Category) error {
	ok, err := insertIfAbsent(ctx, tx, c)
	if err == nil && !ok {
		return errs.E(errs.Conflict, "category.duplicate", c.Code).Field("code", "field.taken")
	}
	return err
}

// checkDepartment adds a field error when code is set and names no
// department.
func checkDepartment(ctx context.Context, tx *db.Tx, e *errs.Error, field, code string) error {
	if code == "" {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM departments WHERE code = $1`, code).Scan(&n); err != nil {
		return db.Translate(err)
	}
	if n == 0 {
		e.Field(field, "field.unknown_department", code)
	}
	return nil
}

// Update applies p to the category code and returns it. Deactivating
// (Active=false) is how a category is retired; nothing is ever deleted.
func (s *Store) Update(ctx context.Context, actor audit.Actor, code string, p Patch) (_ *Category, err error) {
	defer errs.Wrapf(&err, "category.Store.Update")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		c, err := scan(tx.QueryRow(ctx, `SELECT `+cols+` FROM categories WHERE code = $1`, code))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(code)
		}
		if err != nil {
			return db.Translate(err)
		}
		var changed []string
		set := func(name string, v any) { changed = append(changed, fmt.Sprintf("%s=%v", name, v)) }
		if p.Name != nil {
			c.Name = strings.TrimSpace(*p.Name)
			set("name", c.Name)
		}
		if p.NameEN != nil {
			c.NameEN = strings.TrimSpace(*p.NameEN)
			set("name_en", c.NameEN)
		}
		if p.Workflow != nil {
			c.Workflow = *p.Workflow
			set("workflow", c.Workflow)
		}
		if p.Department != nil {
			c.Department = strings.TrimSpace(*p.Department)
			set("department", c.Department)
		}
		if p.TimeLimit != nil {
			c.TimeLimit = strings.TrimSpace(*p.TimeLimit)
			set("time_limit", c.TimeLimit)
		}
		if p.Urgent != nil {
			c.Urgent = *p.Urgent
			set("urgent", c.Urgent)
		}
		if p.AutoDispatch != nil {
			c.AutoDispatch = *p.AutoDispatch
			set("auto_dispatch", c.AutoDispatch)
		}
		if p.Open311 != nil {
			c.Open311 = *p.Open311
			set("open311", c.Open311)
		}
		if p.Common != nil {
			c.Common = *p.Common
			set("common", c.Common)
		}
		if p.Sort != nil {
			c.Sort = *p.Sort
			set("sort", c.Sort)
		}
		if p.Active != nil {
			c.Active = *p.Active
			set("active", c.Active)
		}
		if p.Fields != nil {
			c.Fields = slices.Clone(*p.Fields)
			if c.Fields == nil {
				c.Fields = []Field{}
			}
			set("fields", len(c.Fields))
		}
		e := invalid()
		checkAttrs(e, c)
		if p.Department != nil {
			if err := checkDepartment(ctx, tx, e, "department", c.Department); err != nil {
				return err
			}
		}
		if len(e.Fields) > 0 {
			return e
		}
		if len(changed) == 0 {
			return nil
		}
		sortFields(c.Fields)
		fields, err := json.Marshal(c.Fields)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE categories SET name = $2, name_en = $3, workflow = $4, department_code = $5, time_limit = $6,
			urgent = $7, open311 = $8, common = $9, sort = $10, active = $11, fields = $12, updated_at = $13, auto_dispatch = $14 WHERE code = $1`,
			code, c.Name, c.NameEN, string(c.Workflow), c.Department, c.TimeLimit, c.Urgent, c.Open311, c.Common, c.Sort, c.Active, string(fields), tx.Now(),
			c.AutoDispatch)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "category.update", "category:"+code, strings.Join(changed, " "))
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, code)
}

// ValidateFields checks a report's extra-field values against the
// category code's definitions (see the package function ValidateFields).
// An unknown code is errs.NotFound.
func (s *Store) ValidateFields(ctx context.Context, code string, values map[string]string) (err error) {
	defer errs.Wrapf(&err, "category.Store.ValidateFields")
	c, err := s.Get(ctx, code)
	if err != nil {
		return err
	}
	return ValidateFields(c, values)
}
