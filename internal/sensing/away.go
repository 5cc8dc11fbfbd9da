package sensing

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/registry"
)

// Away is a period in which a person is away from home (entered by the
// family through staff, or by staff): their devices' firings are recorded
// but raise no alarm.
type Away struct {
	ID       int64     `json:"id"`
	PersonID int64     `json:"person_id"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Note     string    `json:"note,omitempty"`
}

// AwayInput is a new away period.
type AwayInput struct {
	PersonID int64     `json:"person_id"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Note     string    `json:"note"`
}

// personPath returns the region path of a person of the caller's scope;
// anyone else is NotFound (out of scope, as if it did not exist).
func (s *Service) personPath(ctx context.Context, c Caller, id int64) (string, error) {
	var path string
	err := s.d.DB.QueryRow(ctx, `SELECT region_path FROM reg_people WHERE id = $1`, id).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !c.IsSystem() && (c.User == nil || c.User.Disabled || !isStaff(c.User) || !c.Scope().Covers(path))) {
		return "", errs.E(errs.NotFound, "sensing.err.person")
	}
	return path, db.Translate(err)
}

// AddAway records an away period for a person of the caller's scope.
func (s *Service) AddAway(ctx context.Context, c Caller, in AwayInput) (_ *Away, err error) {
	defer errs.Wrapf(&err, "sensing.Service.AddAway")
	path, err := s.personPath(ctx, c, in.PersonID)
	if err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	in.Note = strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(in.Note) > 500 {
		e.Field("note", "field.too_long", 500)
	}
	if in.From.IsZero() || !in.To.After(in.From) || in.To.Sub(in.From) > 366*24*time.Hour {
		e.Field("to", "sensing.err.period")
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	a := &Away{PersonID: in.PersonID, From: in.From.UTC().Truncate(time.Second), To: in.To.UTC().Truncate(time.Second), Note: in.Note}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		id, err := tx.InsertID(ctx, `INSERT INTO sensing_away (person_id, region_path, from_at, to_at, note, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, a.PersonID, path, a.From, a.To, a.Note, c.UserID(), tx.Now())
		a.ID = id
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Aways lists the away periods of the caller's scope that have not ended.
func (s *Service) Aways(ctx context.Context, c Caller) (_ []Away, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Aways")
	w := scopedAlarms(c)
	w.Add("to_at > ?", s.d.DB.Now())
	rows, err := s.d.DB.Query(ctx, `SELECT id, person_id, from_at, to_at, note FROM sensing_away`+w.SQL()+` ORDER BY from_at LIMIT 500`, w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []Away
	for rows.Next() {
		var a Away
		var from, to db.Time
		if err := rows.Scan(&a.ID, &a.PersonID, &from, &to, &a.Note); err != nil {
			return nil, db.Translate(err)
		}
		a.From, a.To = from.Time, to.Time
		out = append(out, a)
	}
	return out, db.Translate(rows.Err())
}

// Contact is a family contact of a person, told first when an alarm is
// raised.
type Contact struct {
	ID       int64  `json:"id"`
	PersonID int64  `json:"person_id"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Relation string `json:"relation,omitempty"`
}

// AddContact records a family contact for a person of the caller's
// scope; the answer shows the phone masked.
func (s *Service) AddContact(ctx context.Context, c Caller, in Contact) (_ *Contact, err error) {
	defer errs.Wrapf(&err, "sensing.Service.AddContact")
	if _, err := s.personPath(ctx, c, in.PersonID); err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	in.Name, in.Relation = strings.TrimSpace(in.Name), strings.TrimSpace(in.Relation)
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		e.Field("name", "field.required")
	case n > 50:
		e.Field("name", "field.too_long", 50)
	}
	if utf8.RuneCountInString(in.Relation) > 20 {
		e.Field("relation", "field.too_long", 20)
	}
	if !account.ValidPhone(in.Phone) {
		e.Field("phone", "sensing.err.phone")
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		id, err := tx.InsertID(ctx, `INSERT INTO sensing_contacts (person_id, name, phone, relation, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			in.PersonID, in.Name, in.Phone, in.Relation, tx.Now())
		in.ID = id
		return err
	})
	if err != nil {
		return nil, err
	}
	in.Phone = registry.MaskPhone(in.Phone)
	return &in, nil
}

// awayNow reports whether person is away at now.
func awayNow(ctx context.Context, tx *db.Tx, person int64, now time.Time) (bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM sensing_away WHERE person_id = $1 AND from_at <= $2 AND to_at > $2 LIMIT 1`, person, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, db.Translate(err)
}
