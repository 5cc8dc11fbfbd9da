package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Subject kinds of a fact (issue 18). A household's facts are keyed by
// the person id of its head (与户主关系 "head").
const (
	FactPerson       = "person"
	FactHousehold    = "household"
	FactOrganisation = "organisation"
)

// Fact is a verified (or declared) fact of a person, household or
// organisation that the registry's own columns do not hold: income per
// head, 低保 status, a disability certificate's grade, an enterprise's R&D
// spend … A fact without a row is unknown.
type Fact struct {
	SubjectKind string    `json:"subject_kind"`
	SubjectID   int64     `json:"subject_id"`
	Key         string    `json:"key"`
	Value       any       `json:"value"`
	Verified    bool      `json:"verified"`
	Source      string    `json:"source"`
	Masked      bool      `json:"masked"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// FactInput sets a fact; a nil Value removes it (it becomes unknown).
type FactInput struct {
	Key      string `json:"key"`
	Value    any    `json:"value"`
	Verified bool   `json:"verified"`
	Source   string `json:"source"`
}

var factKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// subjectPath returns the region path of a fact's subject in scope, or
// NotFound.
func (s *Store) subjectPath(ctx context.Context, q rowQuerier, sc account.Scope, kind string, id int64) (string, string, error) {
	switch kind {
	case FactPerson, FactHousehold:
		p, err := s.personIn(ctx, q, sc, id)
		if err != nil {
			return "", "", err
		}
		return p.RegionPath, TablePeople, nil
	case FactOrganisation:
		var w db.Where
		w.Add("o.id = ?", id)
		sc.Apply(&w, Columns("o"))
		var path string
		if err := q.QueryRow(ctx, `SELECT o.region_path FROM reg_organisations o`+w.SQL(), w.Args()...).Scan(&path); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return "", "", notFound(keyOrgNotFound, id)
			}
			return "", "", db.Translate(err)
		}
		return path, TableOrganisations, nil
	}
	return "", "", invalid().Field("subject_kind", "registry.err.fact_kind")
}

// SetFact sets (or with a nil value removes) a fact of a subject in scope,
// with its history row (the value masked: facts are personal data), its
// audit entry and its change-feed event, in one transaction.
func (s *Store) SetFact(ctx context.Context, sc account.Scope, actor audit.Actor, kind string, id int64, in FactInput) (err error) {
	defer errs.Wrapf(&err, "registry.Store.SetFact(%s %d %s)", kind, id, in.Key)
	return s.SetFacts(ctx, sc, actor, kind, id, []FactInput{in})
}

// SetFacts sets (or removes) several facts of a subject in scope in one
// transaction: all of them or, when one is refused, none. Each changed
// fact has its history row, audit entry and change-feed event, as
// SetFact's; an unchanged one has none.
func (s *Store) SetFacts(ctx context.Context, sc account.Scope, actor audit.Actor, kind string, id int64, ins []FactInput) (err error) {
	defer errs.Wrapf(&err, "registry.Store.SetFacts(%s %d, %d)", kind, id, len(ins))
	e := invalid()
	values := make([][]byte, len(ins))
	for i := range ins {
		in := &ins[i]
		field := func(f string) string {
			if len(ins) == 1 {
				return f
			}
			return "facts." + in.Key + "." + f
		}
		if !factKey.MatchString(in.Key) {
			e.Field(field("key"), "registry.err.fact_key")
		}
		text(e, field("source"), &in.Source, false, maxAddress)
		if in.Value != nil {
			switch in.Value.(type) {
			case bool, string, float64, float32, int, int64, int32, []string, []any, json.Number:
			default:
				e.Field(field("value"), "registry.err.fact_value")
			}
			values[i], _ = json.Marshal(in.Value)
		}
	}
	if err := failed(e); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		path, table, err := s.subjectPath(ctx, tx, sc, kind, id)
		if err != nil {
			return err
		}
		for i, in := range ins {
			if err := setFact(ctx, tx, actor, kind, id, path, table, in, values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// setFact writes one fact (value is its JSON, nil to remove it) of a
// subject whose path and table the caller found in scope.
func setFact(ctx context.Context, tx *db.Tx, actor audit.Actor, kind string, id int64, path, table string, in FactInput, value []byte) error {
	var old string
	var oldVerified int
	err := tx.QueryRow(ctx, `SELECT value, verified FROM reg_facts WHERE subject_kind = $1 AND subject_id = $2 AND key = $3`, kind, id, in.Key).Scan(&old, &oldVerified)
	had := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return db.Translate(err)
	}
	verified := 0
	if in.Verified {
		verified = 1
	}
	c := Change{}
	switch {
	case value == nil && !had:
		return nil
	case value == nil:
		if _, err := tx.Exec(ctx, `DELETE FROM reg_facts WHERE subject_kind = $1 AND subject_id = $2 AND key = $3`, kind, id, in.Key); err != nil {
			return db.Translate(err)
		}
		c = Change{Old: "***"}
	default:
		if had && old == string(value) && oldVerified == verified {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reg_facts (subject_kind, subject_id, key, value, verified, source, region_path, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (subject_kind, subject_id, key) DO UPDATE SET value = excluded.value, verified = excluded.verified,
			source = excluded.source, region_path = excluded.region_path, updated_at = excluded.updated_at`,
			kind, id, in.Key, string(value), verified, in.Source, path, tx.Now()); err != nil {
			return db.Translate(err)
		}
		c = Change{New: "*** (" + verifiedWord(in.Verified) + ")"}
		if had {
			c.Old = "***"
		}
	}
	return record(ctx, tx, actor, histRow{table: table, id: id, action: "fact", path: path,
		changes: map[string]Change{"fact:" + in.Key: c}})
}

func verifiedWord(v bool) string {
	if v {
		return "verified"
	}
	return "declared"
}

// Facts returns the facts of a subject in scope, by key; values are masked
// (nil) unless clear (after account.Store.Reveal).
func (s *Store) Facts(ctx context.Context, sc account.Scope, kind string, id int64, clear bool) (_ []Fact, err error) {
	defer errs.Wrapf(&err, "registry.Store.Facts(%s %d)", kind, id)
	if _, _, err := s.subjectPath(ctx, s.db, sc, kind, id); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT key, value, verified, source, updated_at FROM reg_facts
		WHERE subject_kind = $1 AND subject_id = $2 ORDER BY key`, kind, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Fact{}
	for rows.Next() {
		f := Fact{SubjectKind: kind, SubjectID: id}
		var raw string
		var verified int
		var at db.Time
		if err := rows.Scan(&f.Key, &raw, &verified, &f.Source, &at); err != nil {
			return nil, db.Translate(err)
		}
		f.Verified, f.UpdatedAt = verified != 0, at.Time
		if clear {
			f.Value = decodeFact(raw)
		} else {
			f.Masked = true
		}
		out = append(out, f)
	}
	return out, db.Translate(rows.Err())
}

// decodeFact decodes a stored value: numbers as float64 or int64 (whole
// numbers), strings, booleans and lists.
func decodeFact(raw string) any {
	// The common values without the JSON decoder: the batch decodes
	// millions.
	switch raw {
	case "true":
		return true
	case "false":
		return false
	}
	if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return i
	}
	if raw != "" && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		if f, err := strconv.ParseFloat(raw, 64); err == nil {
			return f
		}
	}
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	return normalise(v)
}

func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalise(x[i])
		}
	}
	return v
}
