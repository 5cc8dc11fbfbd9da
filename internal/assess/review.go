package assess

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// CaseFact is what assessment needs of a case, read through casework's
// API (never by SQL on the cases table from this package).
type CaseFact struct {
	ID         int64
	Number     string
	StreetCode string
	// DeptCode is the department the case was dispatched to ("" if none).
	DeptCode   string
	RegionPath string
	CreatedAt  time.Time
	ClosedAt   time.Time
	// Rating is the reporter's rating, 0 when not rated.
	Rating int
	// Events and Stages are filled in by CasesOf only.
	Events []EventFact
	Stages []StageFact
}

// EventFact is one step of a case's timeline.
type EventFact struct {
	At     time.Time
	Action string
	// Staff says the actor held a staff role (not a resident).
	Staff bool
	// Dept is the department a dispatch sent the case to.
	Dept string
}

// StageFact is one time-limited stage of a case.
type StageFact struct {
	Deadline time.Time
	EndedAt  time.Time
}

// Cases reads cases through casework's API.
type Cases interface {
	// Case returns one case; an unknown id is NotFound.
	Case(ctx context.Context, id int64) (CaseFact, error)
	// CasesOf returns the cases of a unit (its region subtree, or
	// dispatched to the department) reported in [from, to), with their
	// timelines and stages.
	CasesOf(ctx context.Context, un Unit, from, to time.Time) ([]CaseFact, error)
}

// Mark is a case marked unreasonable (无理诉求): excluded from its units'
// rates once a second reviewer confirmed it.
type Mark struct {
	CaseID      int64     `json:"case_id"`
	CaseNumber  string    `json:"case_number"`
	StreetCode  string    `json:"street,omitempty"`
	DeptCode    string    `json:"department,omitempty"`
	Reason      string    `json:"reason"`
	MarkedBy    int64     `json:"marked_by"`
	MarkedAt    time.Time `json:"marked_at"`
	ConfirmedBy int64     `json:"confirmed_by,omitempty"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	RegionPath  string    `json:"-"`
}

// Confirmed reports whether a second reviewer confirmed the mark.
func (m Mark) Confirmed() bool { return m.ConfirmedBy != 0 }

func (s *Service) needCases() error {
	if s.d.Cases == nil {
		return errs.E(errs.Unavailable, "assess.err.no_cases")
	}
	return nil
}

// MarkUnreasonable marks a case unreasonable with a reason; a reviewer (an
// assessor) marks, and the mark counts only when a second one confirms.
func (s *Service) MarkUnreasonable(ctx context.Context, u *account.User, caseID int64, reason string) (_ *Mark, err error) {
	defer errs.Wrapf(&err, "assess.Service.MarkUnreasonable(%d)", caseID)
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	reason = checkText(e, "reason", reason, 500, true)
	if err := failed(e); err != nil {
		return nil, err
	}
	if err := s.needCases(); err != nil {
		return nil, err
	}
	c, err := s.d.Cases.Case(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !account.ScopeOf(u).Covers(c.RegionPath) {
		return nil, errs.E(errs.NotFound, "case.not_found")
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO assess_unreasonable (case_id, case_number, street_code, dept_code, region_path, case_created, reason, marked_by, marked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, c.Number, c.StreetCode, c.DeptCode, c.RegionPath, c.CreatedAt.UTC(), reason, u.ID, tx.Now())
		return db.Translate(err)
	})
	if duplicate(err) {
		return nil, errs.E(errs.Conflict, "assess.err.marked")
	}
	if err != nil {
		return nil, err
	}
	return s.mark(ctx, caseID)
}

// ConfirmUnreasonable confirms a mark; the confirming reviewer must not
// be the one who marked (Forbidden), and a mark is confirmed once
// (Conflict).
func (s *Service) ConfirmUnreasonable(ctx context.Context, u *account.User, caseID int64) (_ *Mark, err error) {
	defer errs.Wrapf(&err, "assess.Service.ConfirmUnreasonable(%d)", caseID)
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	m, err := s.mark(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !account.ScopeOf(u).Covers(m.RegionPath) {
		return nil, errs.E(errs.NotFound, "assess.err.mark", caseID)
	}
	if m.MarkedBy == u.ID {
		return nil, errs.E(errs.Forbidden, "assess.err.second_reviewer")
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE assess_unreasonable SET confirmed_by = $2, confirmed_at = $3 WHERE case_id = $1 AND confirmed_by IS NULL AND marked_by <> $2`,
			caseID, u.ID, tx.Now())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.E(errs.Conflict, "assess.err.confirmed")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.mark(ctx, caseID)
}

const markCols = `case_id, case_number, street_code, dept_code, reason, marked_by, marked_at, confirmed_by, confirmed_at, region_path`

func scanMark(r rowScanner) (*Mark, error) {
	var m Mark
	var by *int64
	var at *time.Time
	if err := r.Scan(&m.CaseID, &m.CaseNumber, &m.StreetCode, &m.DeptCode, &m.Reason, &m.MarkedBy, &m.MarkedAt, &by, &at, &m.RegionPath); err != nil {
		return nil, err
	}
	if by != nil {
		m.ConfirmedBy = *by
	}
	m.MarkedAt, m.ConfirmedAt = m.MarkedAt.UTC(), nullTime(at)
	return &m, nil
}

func (s *Service) mark(ctx context.Context, caseID int64) (*Mark, error) {
	m, err := scanMark(s.d.DB.QueryRow(ctx, `SELECT `+markCols+` FROM assess_unreasonable WHERE case_id = $1`, caseID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "assess.err.mark", caseID)
	}
	return m, err
}

// unitWhere selects the rows of a unit: its region subtree or its
// department.
func unitWhere(w *db.Where, un Unit, pathCol, deptCol string) {
	if un.Type == Department {
		w.Add(deptCol+" = ?", un.Code)
		return
	}
	w.Add("("+pathCol+" >= ? AND "+pathCol+" < ?)", un.Path, db.PathUpper(un.Path))
}

// Exclusions lists the unit's cases reported in the period that were
// marked unreasonable, confirmed or not (the confirmed ones are excluded
// from its rates). The unit's own staff and the assessors see it.
func (s *Service) Exclusions(ctx context.Context, u *account.User, unit, period string) (_ []Mark, err error) {
	defer errs.Wrapf(&err, "assess.Service.Exclusions(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	return s.marksOf(ctx, un, *p)
}

func (s *Service) marksOf(ctx context.Context, un Unit, p Period) ([]Mark, error) {
	from, to := p.span()
	var w db.Where
	unitWhere(&w, un, "region_path", "dept_code")
	w.Add("case_created >= ? AND case_created < ?", from, to)
	rows, err := s.d.DB.Query(ctx, `SELECT `+markCols+` FROM assess_unreasonable`+w.SQL()+` ORDER BY case_id`, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mark
	for rows.Next() {
		m, err := scanMark(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// The directions of the two-way rating (街乡吹哨、部门报到).
const (
	// StreetRatesDept: a street rates the department that answered its
	// whistle (a case of the street dispatched to the department).
	StreetRatesDept = "street_to_department"
	// DeptRatesStreet: the department rates the street's request.
	DeptRatesStreet = "department_to_street"
)

// NewRating is one side's rating of a case dispatched from a street to a
// department.
type NewRating struct {
	Period    string `json:"period"`
	CaseID    int64  `json:"case_id"`
	Direction string `json:"direction"`
	Score     int    `json:"score"`
	Comment   string `json:"comment"`
}

// Rating is a stored rating.
type Rating struct {
	ID        int64     `json:"id"`
	Period    string    `json:"period"`
	CaseID    int64     `json:"case_id"`
	Direction string    `json:"direction"`
	Street    string    `json:"street"`
	Dept      string    `json:"department"`
	Score     int       `json:"score"`
	Comment   string    `json:"comment,omitempty"`
	RatedAt   time.Time `json:"rated_at"`
	RatedBy   int64     `json:"rated_by"`
	Excluded  bool      `json:"excluded,omitempty"`
	ByStaffOf string    `json:"-"`
}

// Rate records one side's rating of a case that a street dispatched to a
// department: street staff over the case's street rate the department,
// handlers of that department rate the street. Each side rates a case
// once, in an open period.
func (s *Service) Rate(ctx context.Context, u *account.User, nr NewRating) (_ *Rating, err error) {
	defer errs.Wrapf(&err, "assess.Service.Rate(%d)", nr.CaseID)
	if u == nil {
		return nil, errs.E(errs.Unauthorized, "error.unauthorized")
	}
	e := errs.E(errs.Invalid, "error.invalid")
	if nr.Score < 1 || nr.Score > 5 {
		e.Field("score", "assess.err.stars")
	}
	if !contains([]string{StreetRatesDept, DeptRatesStreet}, nr.Direction) {
		e.Field("direction", "assess.err.direction")
	}
	if nr.CaseID <= 0 {
		e.Field("case_id", "field.required")
	}
	nr.Comment = checkText(e, "comment", nr.Comment, 500, false)
	if err := failed(e); err != nil {
		return nil, err
	}
	if err := s.needCases(); err != nil {
		return nil, err
	}
	c, err := s.d.Cases.Case(ctx, nr.CaseID)
	if err != nil {
		return nil, err
	}
	if c.DeptCode == "" || c.StreetCode == "" {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("case_id", "assess.err.not_dispatched")
	}
	switch nr.Direction {
	case StreetRatesDept:
		street, err := s.unit(ctx, c.StreetCode)
		if err != nil {
			return nil, err
		}
		if !u.Has(account.StreetStaff) || !ownUnit(u, street) {
			return nil, errs.E(errs.Forbidden, "assess.err.rater")
		}
	case DeptRatesStreet:
		if !u.Has(account.DepartmentHandler) || u.DepartmentCode != c.DeptCode {
			return nil, errs.E(errs.Forbidden, "assess.err.rater")
		}
	}
	var id int64
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		st, err := s.lockPeriod(ctx, tx, nr.Period)
		if err != nil {
			return err
		}
		if st != PeriodOpen {
			return errs.E(errs.Conflict, "assess.err.period_closed", nr.Period)
		}
		id, err = tx.InsertID(ctx, `INSERT INTO assess_ratings (period, case_id, direction, street_code, dept_code, score, comment, rated_by, rated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, nr.Period, c.ID, nr.Direction, c.StreetCode, c.DeptCode, nr.Score, nr.Comment, u.ID, tx.Now())
		return db.Translate(err)
	})
	if duplicate(err) {
		return nil, errs.E(errs.Conflict, "assess.err.rated")
	}
	if err != nil {
		return nil, err
	}
	return &Rating{ID: id, Period: nr.Period, CaseID: c.ID, Direction: nr.Direction, Street: c.StreetCode, Dept: c.DeptCode, Score: nr.Score,
		Comment: nr.Comment, RatedBy: u.ID, RatedAt: s.d.DB.Now()}, nil
}

// RatingSummary is the two-way rating a unit received in a period: the
// mean of the ratings, cases confirmed unreasonable left out and listed.
type RatingSummary struct {
	Unit     Unit     `json:"unit"`
	Period   string   `json:"period"`
	Count    int      `json:"count"`
	Mean     *float64 `json:"mean,omitempty"`
	Excluded []int64  `json:"excluded_cases"`
	Ratings  []Rating `json:"ratings"`
}

// Ratings returns the ratings a unit received in a period: a department
// those of the streets, a street those of the departments.
func (s *Service) Ratings(ctx context.Context, u *account.User, unit, period string) (_ *RatingSummary, err error) {
	defer errs.Wrapf(&err, "assess.Service.Ratings(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	if _, err := s.period(ctx, s.d.DB, period); err != nil {
		return nil, err
	}
	return s.ratingsOf(ctx, un, period)
}

func (s *Service) ratingsOf(ctx context.Context, un Unit, period string) (*RatingSummary, error) {
	var w db.Where
	w.Add("r.period = ?", period)
	switch un.Type {
	case Department:
		w.Add("r.direction = ? AND r.dept_code = ?", StreetRatesDept, un.Code)
	case Street:
		w.Add("r.direction = ? AND r.street_code = ?", DeptRatesStreet, un.Code)
	default:
		return &RatingSummary{Unit: un, Period: period, Excluded: []int64{}}, nil
	}
	rows, err := s.d.DB.Query(ctx, `SELECT r.id, r.case_id, r.direction, r.street_code, r.dept_code, r.score, r.comment, r.rated_by, r.rated_at,
		CASE WHEN m.confirmed_by IS NULL THEN 0 ELSE 1 END
		FROM assess_ratings r LEFT JOIN assess_unreasonable m ON m.case_id = r.case_id`+w.SQL()+` ORDER BY r.id`, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &RatingSummary{Unit: un, Period: period, Excluded: []int64{}}
	var sum int
	for rows.Next() {
		r := Rating{Period: period}
		var excl int
		if err := rows.Scan(&r.ID, &r.CaseID, &r.Direction, &r.Street, &r.Dept, &r.Score, &r.Comment, &r.RatedBy, &r.RatedAt, &excl); err != nil {
			return nil, err
		}
		r.RatedAt, r.Excluded = r.RatedAt.UTC(), excl == 1
		out.Ratings = append(out.Ratings, r)
		if r.Excluded {
			out.Excluded = append(out.Excluded, r.CaseID)
			continue
		}
		out.Count++
		sum += r.Score
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if out.Count > 0 {
		m := round2(float64(sum) / float64(out.Count))
		out.Mean = &m
	}
	return out, nil
}

// The indicators this package computes itself, usable in items.
const (
	// IndRating is the mean two-way rating a unit received (1–5).
	IndRating = "assess.rating"
	// IndSatisfaction is the share of a unit's rated cases rated 4 or 5
	// stars (满意率), in percent.
	IndSatisfaction = "assess.satisfaction"
)

// value is an indicator's value for a unit in a period: the package's own
// indicators, else the Values source. Cases confirmed unreasonable are
// left out of the own indicators.
func (s *Service) value(ctx context.Context, indicator string, un Unit, p Period) (float64, bool, error) {
	switch indicator {
	case IndRating:
		rs, err := s.ratingsOf(ctx, un, p.Code)
		if err != nil || rs.Mean == nil {
			return 0, false, err
		}
		return *rs.Mean, true, nil
	case IndSatisfaction:
		r, err := s.rates(ctx, un, p)
		if err != nil || r.Rated == 0 {
			return 0, false, err
		}
		return r.Satisfaction, true, nil
	}
	if s.d.Values == nil {
		return 0, false, nil
	}
	return s.d.Values.Value(ctx, indicator, un.Code, p.Code)
}

// Rates are a unit's case rates in a period, cases confirmed unreasonable
// left out (and listed).
type Rates struct {
	Cases        int     `json:"cases"`
	Closed       int     `json:"closed"`
	Rated        int     `json:"rated"`
	Satisfied    int     `json:"satisfied"`
	Satisfaction float64 `json:"satisfaction"`
	Resolution   float64 `json:"resolution"`
	Excluded     []int64 `json:"excluded_cases"`
}

// rates counts a unit's cases reported in the period.
func (s *Service) rates(ctx context.Context, un Unit, p Period) (*Rates, error) {
	r := &Rates{Excluded: []int64{}}
	if s.d.Cases == nil {
		return r, nil
	}
	from, to := p.span()
	cases, err := s.d.Cases.CasesOf(ctx, un, from, to)
	if err != nil {
		return nil, err
	}
	marks, err := s.marksOf(ctx, un, p)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, m := range marks {
		if m.Confirmed() {
			out[m.CaseID] = true
		}
	}
	for _, c := range cases {
		if out[c.ID] {
			r.Excluded = append(r.Excluded, c.ID)
			continue
		}
		r.Cases++
		if !c.ClosedAt.IsZero() {
			r.Closed++
		}
		if c.Rating > 0 {
			r.Rated++
			if c.Rating >= 4 {
				r.Satisfied++
			}
		}
	}
	if r.Rated > 0 {
		r.Satisfaction = round2(100 * float64(r.Satisfied) / float64(r.Rated))
	}
	if r.Cases > 0 {
		r.Resolution = round2(100 * float64(r.Closed) / float64(r.Cases))
	}
	return r, nil
}

// Rates returns a unit's case rates in a period, the cases confirmed
// unreasonable left out and listed.
func (s *Service) Rates(ctx context.Context, u *account.User, unit, period string) (_ *Rates, err error) {
	defer errs.Wrapf(&err, "assess.Service.Rates(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	return s.rates(ctx, un, *p)
}
