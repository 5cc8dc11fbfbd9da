package calendar

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Store keeps the district's calendar in the database (calendar_days and
// calendar_settings). Every change is audited in its own transaction.
// The Store caches nothing: call Load after a change to get a new Calendar.
type Store struct {
	db *db.DB
}

// NewStore returns a Store on d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

// The sources recorded for days that did not come with one.
const (
	sourceManual = "manual"
	sourceImport = "import"
)

// querier is what *db.DB and *db.Tx have in common for reading.
type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// SeedDefaults writes the official schedules shipped with Whistle for every
// year of which no day is stored yet (so an empty table receives 2025 and
// 2026, a later release's new year is added, and a year an administrator
// has edited or imported is left alone), and the default working hours when
// none are set. It returns the number of days written. Concurrent start-ups
// are safe: rows another replica wrote first are skipped.
func (s *Store) SeedDefaults(ctx context.Context, actor audit.Actor) (n int, err error) {
	defer errs.Wrapf(&err, "calendar.Store.SeedDefaults")
	official, err := Official()
	if err != nil {
		return 0, err
	}
	byYear := map[int][]Day{}
	var years []int
	for _, d := range official {
		if byYear[d.Date.Year] == nil {
			years = append(years, d.Date.Year)
		}
		byYear[d.Date.Year] = append(byYear[d.Date.Year], d)
	}
	sort.Ints(years)
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		n = 0
		var seeded []string
		for _, y := range years {
			var count int
			from, to := yearRange(y)
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM calendar_days WHERE date >= $1 AND date < $2`, from, to).Scan(&count); err != nil {
				return db.Translate(err)
			}
			if count > 0 {
				continue
			}
			wrote := 0
			for _, d := range byYear[y] {
				res, err := tx.Exec(ctx, `INSERT INTO calendar_days (date, kind, name, source, updated_at) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (date) DO NOTHING`, d.Date.String(), string(d.Kind), d.Name, d.Source, tx.Now())
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k > 0 {
					wrote++
				}
			}
			if wrote > 0 {
				n += wrote
				seeded = append(seeded, fmt.Sprintf("%d (%d days)", y, wrote))
			}
		}
		res, err := tx.Exec(ctx, `INSERT INTO calendar_settings (id, work_hours, updated_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
			DefaultWorkHoursSpec, tx.Now())
		if err != nil {
			return err
		}
		hours, _ := res.RowsAffected()
		if n == 0 && hours == 0 {
			return nil
		}
		summary := "official schedules: " + strings.Join(seeded, ", ")
		if len(seeded) == 0 {
			summary = "official schedules: none missing"
		}
		if hours > 0 {
			summary += "; work hours " + DefaultWorkHoursSpec
		}
		return audit.Record(ctx, tx, actor, "calendar.seed", "calendar", summary)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// yearRange returns the text bounds [from, to) of a year's dates.
func yearRange(y int) (string, string) {
	return fmt.Sprintf("%04d-01-01", y), fmt.Sprintf("%04d-01-01", y+1)
}

// Load builds the Calendar from the stored days and working hours
// (DefaultWorkHours when none are set). Each year from ProvisionalFrom to
// ProvisionalThrough without a stored holiday gets its provisional
// holidays (see Provisional).
func (s *Store) Load(ctx context.Context) (c *Calendar, err error) {
	defer errs.Wrapf(&err, "calendar.Store.Load")
	days, err := queryDays(ctx, s.db, "", "")
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return nil, err
	}
	if days, err = WithProvisional(days, ProvisionalThrough(days, s.db.Now().In(loc).Year())); err != nil {
		return nil, err
	}
	hours, err := s.WorkHours(ctx)
	if err != nil {
		return nil, err
	}
	return New(days, hours)
}

// Days lists the stored days of year, in date order.
func (s *Store) Days(ctx context.Context, year int) (days []Day, err error) {
	defer errs.Wrapf(&err, "calendar.Store.Days(%d)", year)
	from, to := yearRange(year)
	return queryDays(ctx, s.db, from, to)
}

// queryDays reads the days in [from, to), or all days when from is empty.
func queryDays(ctx context.Context, q querier, from, to string) ([]Day, error) {
	query := `SELECT date, kind, name, source FROM calendar_days`
	var args []any
	if from != "" {
		query += ` WHERE date >= $1 AND date < $2`
		args = append(args, from, to)
	}
	rows, err := q.Query(ctx, query+` ORDER BY date`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Day
	for rows.Next() {
		var date, kind string
		var d Day
		if err := rows.Scan(&date, &kind, &d.Name, &d.Source); err != nil {
			return nil, err
		}
		if d.Date, err = ParseDate(date); err != nil {
			return nil, err
		}
		d.Kind = Kind(kind)
		out = append(out, d)
	}
	return out, rows.Err()
}

// WorkHours returns the stored working hours, or DefaultWorkHours.
func (s *Store) WorkHours(ctx context.Context) (_ WorkHours, err error) {
	defer errs.Wrapf(&err, "calendar.Store.WorkHours")
	var spec string
	err = s.db.QueryRow(ctx, `SELECT work_hours FROM calendar_settings WHERE id = 1`).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultWorkHours(), nil
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return ParseWorkHours(spec)
}

// checkDay validates the arguments of SetDay with per-field messages.
func checkDay(date Date, kind Kind, name string) error {
	e := errs.E(errs.Invalid, "error.invalid")
	switch {
	case !date.Valid():
		e.Field("date", "calendar.err.date", date.String())
	case date.Year < MinYear || date.Year > MaxYear:
		e.Field("date", "calendar.err.year_range", date.Year, MinYear, MaxYear)
	}
	if !kind.Valid() {
		e.Field("kind", "calendar.err.kind", string(kind))
	}
	if utf8.RuneCountInString(name) > maxName {
		e.Field("name", "field.too_long", maxName)
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// SetDay lists date as a holiday or a workday with a name, replacing any
// entry it had.
func (s *Store) SetDay(ctx context.Context, actor audit.Actor, date Date, kind Kind, name string) (err error) {
	defer errs.Wrapf(&err, "calendar.Store.SetDay(%s)", date)
	name = strings.TrimSpace(name)
	if err := checkDay(date, kind, name); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		old, err := queryDays(ctx, tx, date.String(), date.AddDays(1).String())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO calendar_days (date, kind, name, source, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (date) DO UPDATE SET kind = excluded.kind, name = excluded.name, source = excluded.source, updated_at = excluded.updated_at`,
			date.String(), string(kind), name, sourceManual, tx.Now()); err != nil {
			return err
		}
		summary := describe(Day{Date: date, Kind: kind, Name: name})
		if len(old) > 0 {
			summary += " (was " + describe(old[0]) + ")"
		}
		return audit.Record(ctx, tx, actor, "calendar.set_day", "calendar_days/"+date.String(), summary)
	})
}

// DeleteDay removes date's entry, so that it follows Monday to Friday again.
// A date without an entry is NotFound.
func (s *Store) DeleteDay(ctx context.Context, actor audit.Actor, date Date) (err error) {
	defer errs.Wrapf(&err, "calendar.Store.DeleteDay(%s)", date)
	if !date.Valid() {
		return errs.E(errs.Invalid, "error.invalid").Field("date", "calendar.err.date", date.String())
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		old, err := queryDays(ctx, tx, date.String(), date.AddDays(1).String())
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return errs.E(errs.NotFound, "calendar.day_not_found", date.String())
		}
		if _, err := tx.Exec(ctx, `DELETE FROM calendar_days WHERE date = $1`, date.String()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "calendar.delete_day", "calendar_days/"+date.String(), "removed "+describe(old[0]))
	})
}

// SetWorkHours sets the working periods of a working day from a spec such
// as "08:30-12:00,13:30-17:30" (see ParseWorkHours).
func (s *Store) SetWorkHours(ctx context.Context, actor audit.Actor, spec string) (err error) {
	defer errs.Wrapf(&err, "calendar.Store.SetWorkHours(%q)", spec)
	h, err := ParseWorkHours(spec)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var old string
		err := tx.QueryRow(ctx, `SELECT work_hours FROM calendar_settings WHERE id = 1`).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			old = DefaultWorkHoursSpec + " (default)"
		} else if err != nil {
			return db.Translate(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO calendar_settings (id, work_hours, updated_at) VALUES (1, $1, $2)
			ON CONFLICT (id) DO UPDATE SET work_hours = excluded.work_hours, updated_at = excluded.updated_at`, h.String(), tx.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "calendar.set_work_hours", "calendar_settings", h.String()+" (was "+old+")")
	})
}

// describe writes a day for audit summaries.
func describe(d Day) string {
	s := d.Date.String() + " " + string(d.Kind)
	if d.Name != "" {
		s += " " + d.Name
	}
	return s
}

// Change is one date an import adds, changes or removes.
type Change struct {
	Date Date `json:"date"`
	Old  *Day `json:"old,omitempty"` // nil for an added date
	New  *Day `json:"new,omitempty"` // nil for a removed date
}

// Diff is what an import does to the stored days.
type Diff struct {
	// Years are the years the import replaces: those in which the file has
	// at least one holiday. Their stored days missing from the file are
	// removed. A date in any other year (such as a make-up workday a notice
	// places in the previous December) is added or changed, and the rest of
	// its year is left alone.
	Years   []int    `json:"years"`
	Added   []Change `json:"added"`
	Changed []Change `json:"changed"`
	Removed []Change `json:"removed"`
	// Unchanged counts dates whose kind and name already match; Import
	// leaves them as they are, source included.
	Unchanged int `json:"unchanged"`
}

// Empty reports whether the import would change nothing.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Changed)+len(d.Removed) == 0 }

// String summarises the diff for the audit log.
func (d Diff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "years %v: %d added, %d changed, %d removed, %d unchanged", d.Years, len(d.Added), len(d.Changed), len(d.Removed), d.Unchanged)
	for _, c := range d.Added {
		b.WriteString("; +" + describe(*c.New))
	}
	for _, c := range d.Changed {
		b.WriteString("; ~" + describe(*c.New) + " (was " + describe(*c.Old) + ")")
	}
	for _, c := range d.Removed {
		b.WriteString("; -" + describe(*c.Old))
	}
	return b.String()
}

// Preview validates days and returns what Import would do, without writing.
func (s *Store) Preview(ctx context.Context, days []Day) (d Diff, err error) {
	defer errs.Wrapf(&err, "calendar.Store.Preview")
	if err := validateDays(days); err != nil {
		return Diff{}, err
	}
	return plan(ctx, s.db, days)
}

// Import validates days and writes them in one transaction, all or nothing,
// as Preview describes: it replaces the years in which days has a holiday
// and adds or changes the other dates. It returns what it did.
func (s *Store) Import(ctx context.Context, actor audit.Actor, days []Day) (d Diff, err error) {
	defer errs.Wrapf(&err, "calendar.Store.Import")
	if err := validateDays(days); err != nil {
		return Diff{}, err
	}
	if len(days) == 0 {
		return Diff{}, errs.E(errs.Invalid, "calendar.err.empty")
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		// Planned inside the transaction, so that what is written matches
		// the rows it replaces even if someone edited them since a preview.
		d, err = plan(ctx, tx, days)
		if err != nil {
			return err
		}
		for _, c := range d.Removed {
			if _, err := tx.Exec(ctx, `DELETE FROM calendar_days WHERE date = $1`, c.Date.String()); err != nil {
				return err
			}
		}
		for _, c := range d.Added {
			if _, err := tx.Exec(ctx, `INSERT INTO calendar_days (date, kind, name, source, updated_at) VALUES ($1, $2, $3, $4, $5)`,
				c.Date.String(), string(c.New.Kind), c.New.Name, c.New.Source, tx.Now()); err != nil {
				return err
			}
		}
		for _, c := range d.Changed {
			if _, err := tx.Exec(ctx, `UPDATE calendar_days SET kind = $2, name = $3, source = $4, updated_at = $5 WHERE date = $1`,
				c.Date.String(), string(c.New.Kind), c.New.Name, c.New.Source, tx.Now()); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor, "calendar.import", "calendar_days", d.String())
	})
	if err != nil {
		return Diff{}, err
	}
	return d, nil
}

// plan computes the Diff of importing days over what q reads.
func plan(ctx context.Context, q querier, days []Day) (Diff, error) {
	var d Diff
	if len(days) == 0 {
		return d, nil
	}
	replace := map[int]bool{}
	lo, hi := days[0].Date.Year, days[0].Date.Year
	for _, day := range days {
		y := day.Date.Year
		lo, hi = min(lo, y), max(hi, y)
		if day.Kind == Holiday && !replace[y] {
			replace[y] = true
			d.Years = append(d.Years, y)
		}
	}
	sort.Ints(d.Years)
	from, _ := yearRange(lo)
	_, to := yearRange(hi)
	stored, err := queryDays(ctx, q, from, to)
	if err != nil {
		return Diff{}, err
	}
	old := make(map[Date]Day, len(stored))
	for _, s := range stored {
		old[s.Date] = s
	}
	incoming := make(map[Date]bool, len(days))
	for _, day := range days {
		day.Line = 0
		if day.Source == "" {
			day.Source = sourceImport
		}
		incoming[day.Date] = true
		o, ok := old[day.Date]
		switch {
		case !ok:
			d.Added = append(d.Added, Change{Date: day.Date, New: &day})
		case o.Kind != day.Kind || o.Name != day.Name:
			d.Changed = append(d.Changed, Change{Date: day.Date, Old: &o, New: &day})
		default:
			d.Unchanged++
		}
	}
	for _, s := range stored {
		if replace[s.Date.Year] && !incoming[s.Date] {
			d.Removed = append(d.Removed, Change{Date: s.Date, Old: &s})
		}
	}
	for _, cs := range [][]Change{d.Added, d.Changed, d.Removed} {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Date.Before(cs[j].Date) })
	}
	return d, nil
}
