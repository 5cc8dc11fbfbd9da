// Package dict keeps the dictionaries (字典管理): value lists such as case
// sources or resident types that a district customises without a release.
// A dictionary type holds items; an item is retired by disabling it, never
// deleted, so values already stored keep their label. Every change is
// audited.
package dict

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// Type is a dictionary: a named list of items.
type Type struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
	Sort   int    `json:"sort"`
	// Items is filled in by Store.Get only.
	Items []Item `json:"items,omitempty"`
}

// Item is one value of a dictionary.
type Item struct {
	Code    string `json:"code"`
	Label   string `json:"label"`
	LabelEN string `json:"label_en"`
	Sort    int    `json:"sort"`
	Enabled bool   `json:"enabled"`
}

// LabelIn is the item's label in lang: the English label in English when
// there is one, the Chinese label otherwise.
func (it Item) LabelIn(lang i18n.Lang) string {
	if lang == i18n.EN && it.LabelEN != "" {
		return it.LabelEN
	}
	return it.Label
}

// Patch changes an item; nil members stay unchanged.
type Patch struct {
	Label   *string
	LabelEN *string
	Sort    *int
	Enabled *bool
}

const (
	maxLabel = 64
	maxSort  = 1_000_000
)

// codeRe: item codes are stored in other tables, so keep them plain.
var codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Store reads and writes dictionaries.
type Store struct {
	db *db.DB
}

// NewStore returns a Store on d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

func notFound(typ string) *errs.Error { return errs.E(errs.NotFound, "dict.not_found", typ) }

// Types returns every dictionary type, without items, in display order.
func (s *Store) Types(ctx context.Context) (_ []Type, err error) {
	defer errs.Wrapf(&err, "dict.Store.Types")
	rows, err := s.db.Query(ctx, `SELECT code, name, name_en, sort FROM dict_types ORDER BY sort, code`)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Type{}
	for rows.Next() {
		var t Type
		if err := rows.Scan(&t.Code, &t.Name, &t.NameEN, &t.Sort); err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, t)
	}
	return out, db.Translate(rows.Err())
}

// Get returns the dictionary typ with all its items, enabled or not.
func (s *Store) Get(ctx context.Context, typ string) (_ *Type, err error) {
	defer errs.Wrapf(&err, "dict.Store.Get")
	var t Type
	err = s.db.QueryRow(ctx, `SELECT code, name, name_en, sort FROM dict_types WHERE code = $1`, typ).Scan(&t.Code, &t.Name, &t.NameEN, &t.Sort)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(typ)
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	if t.Items, err = s.items(ctx, typ, false); err != nil {
		return nil, err
	}
	return &t, nil
}

// Active returns the enabled items of the dictionary typ in display order:
// the options of the forms that use it.
func (s *Store) Active(ctx context.Context, typ string) (_ []Item, err error) {
	defer errs.Wrapf(&err, "dict.Store.Active(%s)", typ)
	return s.items(ctx, typ, true)
}

// items returns the items of typ in display order, only the enabled ones
// when active is set.
func (s *Store) items(ctx context.Context, typ string, active bool) ([]Item, error) {
	q := `SELECT code, label, label_en, sort, enabled FROM dict_items WHERE type_code = $1`
	if active {
		q += ` AND enabled`
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY sort, code`, typ)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.Code, &it.Label, &it.LabelEN, &it.Sort, &it.Enabled); err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, it)
	}
	return out, db.Translate(rows.Err())
}

func checkItem(e *errs.Error, it *Item) {
	checkText(e, "label", it.Label, true)
	checkText(e, "label_en", it.LabelEN, false)
	if it.Sort < 0 || it.Sort > maxSort {
		e.Field("sort", "field.range", 0, maxSort)
	}
}

func checkText(e *errs.Error, field, s string, required bool) {
	switch {
	case required && s == "":
		e.Field(field, "field.required")
	case utf8.RuneCountInString(s) > maxLabel:
		e.Field(field, "field.too_long", maxLabel)
	}
}

// typeExists reports a NotFound error when typ names no dictionary.
func typeExists(ctx context.Context, tx *db.Tx, typ string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM dict_types WHERE code = $1`, typ).Scan(&n); err != nil {
		return db.Translate(err)
	}
	if n == 0 {
		return notFound(typ)
	}
	return nil
}

// AddItem adds an enabled item to the dictionary typ and returns it. Bad
// input is an Invalid error with one field error per field, an existing
// code a Conflict; neither writes anything.
func (s *Store) AddItem(ctx context.Context, actor audit.Actor, typ string, in Item) (_ *Item, err error) {
	defer errs.Wrapf(&err, "dict.Store.AddItem")
	in.Code = strings.TrimSpace(in.Code)
	in.Label, in.LabelEN = strings.TrimSpace(in.Label), strings.TrimSpace(in.LabelEN)
	in.Enabled = true
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := typeExists(ctx, tx, typ); err != nil {
			return err
		}
		e := errs.E(errs.Invalid, "error.invalid")
		if !codeRe.MatchString(in.Code) {
			e.Field("code", "dict.err.code")
		}
		checkItem(e, &in)
		if len(e.Fields) > 0 {
			return e
		}
		res, err := tx.Exec(ctx, `INSERT INTO dict_items (type_code, code, label, label_en, sort, enabled) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (type_code, code) DO NOTHING`, typ, in.Code, in.Label, in.LabelEN, in.Sort, in.Enabled)
		if err != nil {
			return db.Translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return db.Translate(err)
		} else if n == 0 {
			return errs.E(errs.Conflict, "dict.duplicate", in.Code).Field("code", "field.taken")
		}
		return audit.Record(ctx, tx, actor, "dict.item.create", "dict:"+typ+"/"+in.Code,
			fmt.Sprintf("label=%s label_en=%s sort=%d", in.Label, in.LabelEN, in.Sort))
	})
	if err != nil {
		return nil, err
	}
	return &in, nil
}

// UpdateItem applies p to the item code of the dictionary typ and returns
// it. Disabling (Enabled=false) is how an item is retired.
func (s *Store) UpdateItem(ctx context.Context, actor audit.Actor, typ, code string, p Patch) (_ *Item, err error) {
	defer errs.Wrapf(&err, "dict.Store.UpdateItem")
	var it Item
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := typeExists(ctx, tx, typ); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT code, label, label_en, sort, enabled FROM dict_items WHERE type_code = $1 AND code = $2`, typ, code).
			Scan(&it.Code, &it.Label, &it.LabelEN, &it.Sort, &it.Enabled)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "dict.item_not_found", code)
		}
		if err != nil {
			return db.Translate(err)
		}
		var changed []string
		set := func(name string, v any) { changed = append(changed, fmt.Sprintf("%s=%v", name, v)) }
		if p.Label != nil {
			it.Label = strings.TrimSpace(*p.Label)
			set("label", it.Label)
		}
		if p.LabelEN != nil {
			it.LabelEN = strings.TrimSpace(*p.LabelEN)
			set("label_en", it.LabelEN)
		}
		if p.Sort != nil {
			it.Sort = *p.Sort
			set("sort", it.Sort)
		}
		if p.Enabled != nil {
			it.Enabled = *p.Enabled
			set("enabled", it.Enabled)
		}
		e := errs.E(errs.Invalid, "error.invalid")
		checkItem(e, &it)
		if len(e.Fields) > 0 {
			return e
		}
		if len(changed) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE dict_items SET label = $1, label_en = $2, sort = $3, enabled = $4 WHERE type_code = $5 AND code = $6`,
			it.Label, it.LabelEN, it.Sort, it.Enabled, typ, code); err != nil {
			return db.Translate(err)
		}
		return audit.Record(ctx, tx, actor, "dict.item.update", "dict:"+typ+"/"+code, strings.Join(changed, " "))
	})
	if err != nil {
		return nil, err
	}
	return &it, nil
}
