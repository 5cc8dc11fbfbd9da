package assess

import (
	"context"
	"sort"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/benchmark"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Practice is a note in the experience library (经验库): what a unit did,
// tagged and linked to the indicators and period it improved.
type Practice struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	Tags        []string  `json:"tags"`
	Unit        string    `json:"unit,omitempty"`
	Indicators  []string  `json:"indicators"`
	Period      string    `json:"period,omitempty"`
	Attachments []string  `json:"attachments"`
	CreatedBy   int64     `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewPractice is a practice note as written. Attachments are media blob
// keys of files uploaded before.
type NewPractice struct {
	Title       string   `json:"title"`
	Body        string   `json:"body"`
	Tags        []string `json:"tags"`
	Unit        string   `json:"unit"`
	Indicators  []string `json:"indicators"`
	Period      string   `json:"period"`
	Attachments []string `json:"attachments"`
}

// cleanList trims, drops blanks and duplicates, and checks each entry.
func cleanList(e *errs.Error, field string, in []string, max int, ok func(string) bool) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || seen[v] {
			continue
		}
		if !ok(v) || strings.Contains(v, ",") {
			e.Field(field, "assess.err.list_entry", v)
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	if len(out) > max {
		e.Field(field, "assess.err.list_long", max)
	}
	return out
}

// AddPractice adds a practice note. Staff write notes of their own units
// (an assessor of any); a note without a unit is an assessor's.
func (s *Service) AddPractice(ctx context.Context, u *account.User, np NewPractice) (_ *Practice, err error) {
	defer errs.Wrapf(&err, "assess.Service.AddPractice")
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	if np.Unit != "" {
		if _, err := s.readUnit(ctx, u, np.Unit); err != nil {
			return nil, err
		}
	} else if err := needAssessor(u); err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	np.Title = checkText(e, "title", np.Title, 200, true)
	np.Body = checkText(e, "body", np.Body, 20000, true)
	np.Tags = cleanList(e, "tags", np.Tags, 20, func(v string) bool { return len([]rune(v)) <= 30 })
	np.Indicators = cleanList(e, "indicators", np.Indicators, 20, codeRE.MatchString)
	np.Attachments = cleanList(e, "attachments", np.Attachments, 20, func(v string) bool { return len(v) <= 200 })
	if np.Period != "" && !codeRE.MatchString(np.Period) {
		e.Field("period", "assess.err.code")
	}
	if err := failed(e); err != nil {
		return nil, err
	}
	var id int64
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO assess_practices (title, body, tags, unit_code, indicators, period, attachments, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, np.Title, np.Body, joinList(np.Tags), np.Unit, joinList(np.Indicators), np.Period,
			joinList(np.Attachments), u.ID, tx.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Practice{ID: id, Title: np.Title, Body: np.Body, Tags: np.Tags, Unit: np.Unit, Indicators: np.Indicators, Period: np.Period,
		Attachments: np.Attachments, CreatedBy: u.ID, CreatedAt: s.d.DB.Now()}, nil
}

// joinList stores a list as ",a,b," so that one entry is a LIKE '%,a,%'.
func joinList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return "," + strings.Join(l, ",") + ","
}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// PracticeFilter selects practice notes.
type PracticeFilter struct {
	Indicator string
	Unit      string
	Tag       string
	Limit     int
}

// Practices lists practice notes, newest first. The library is shared:
// any staff member reads every note (notes are what units chose to share).
func (s *Service) Practices(ctx context.Context, u *account.User, f PracticeFilter) (_ []Practice, err error) {
	defer errs.Wrapf(&err, "assess.Service.Practices")
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	return s.practices(ctx, f)
}

func (s *Service) practices(ctx context.Context, f PracticeFilter) ([]Practice, error) {
	var w db.Where
	if f.Indicator != "" {
		w.Add(`indicators LIKE ? ESCAPE '\'`, "%,"+likeEscape(f.Indicator)+",%")
	}
	if f.Tag != "" {
		w.Add(`tags LIKE ? ESCAPE '\'`, "%,"+likeEscape(f.Tag)+",%")
	}
	if f.Unit != "" {
		w.Add("unit_code = ?", f.Unit)
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.d.DB.Query(ctx, `SELECT id, title, body, tags, unit_code, indicators, period, attachments, created_by, created_at FROM assess_practices`+
		w.SQL()+` ORDER BY id DESC LIMIT `+w.Arg(limit), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Practice
	for rows.Next() {
		var p Practice
		var tags, inds, atts string
		if err := rows.Scan(&p.ID, &p.Title, &p.Body, &tags, &p.Unit, &inds, &p.Period, &atts, &p.CreatedBy, &p.CreatedAt); err != nil {
			return nil, err
		}
		p.Tags, p.Indicators, p.Attachments, p.CreatedAt = splitList(tags), splitList(inds), splitList(atts), p.CreatedAt.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// likeEscape makes a list entry a literal LIKE pattern: its wildcards
// escaped (keys have underscores: satisfaction_rate), the list's
// separator dropped.
func likeEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`, ",", "").Replace(v)
}

// Improver is a peer that improved on an indicator, as the benchmark
// module measured it.
type Improver struct {
	Unit   string  `json:"unit"`
	Name   string  `json:"name,omitempty"`
	Change float64 `json:"change"`
	Value  float64 `json:"value"`
}

// WeakPoint is one of a unit's weak points (短板), where it stands on it
// and the peers that improved most on it, best first.
type WeakPoint struct {
	Indicator  string     `json:"indicator"`
	Rank       int        `json:"rank"`
	RankRange  [2]int     `json:"rank_range"`
	Peers      int        `json:"peers"`
	Percentile float64    `json:"percentile"`
	Trend      string     `json:"trend,omitempty"`
	Suggested  []Improver `json:"suggested_peers"`
}

// Peers is what learning from peers needs of the benchmark module: a
// unit's weak points in a period, each with the peers that improved most.
type Peers interface {
	WeakPoints(ctx context.Context, sc account.Scope, unit, period string) ([]WeakPoint, error)
	// Standing is where a unit stands on an indicator ("composite" for
	// the composite score); ok is false when the caller may not see it
	// or the unit has no value.
	Standing(ctx context.Context, sc account.Scope, unit, indicator, period string) (st BenchStanding, ok bool, err error)
}

// BenchStanding is a unit's place in a benchmark league: its rank, the
// range its rank may take, its value and the trend of its gap to the
// leader (pulling_away, closing_in, stable, noisy).
type BenchStanding struct {
	Unit      Unit     `json:"unit"`
	Rank      int      `json:"rank"`
	RankRange [2]int   `json:"rank_range"`
	Peers     int      `json:"peers"`
	Value     *float64 `json:"value"`
	Trend     string   `json:"trend"`
	// Leader (标兵) and GapToLeader: the best peer's code and how far
	// ahead it is (0 for the leader itself); Chaser (追兵) and
	// ChaserDistance: the peer just below and how far behind it is, with
	// the trend of that distance (nil and "" for the last).
	Leader         string   `json:"leader,omitempty"`
	GapToLeader    *float64 `json:"gap_to_leader"`
	Chaser         string   `json:"chaser,omitempty"`
	ChaserDistance *float64 `json:"chaser_distance"`
	ChaserTrend    string   `json:"chaser_trend,omitempty"`
}

// BenchLeague ranks the units of a type on an indicator in a period, as
// the benchmark analyses them, with rank ranges and trends: the units the
// caller may see (every peer once the period is published).
func (s *Service) BenchLeague(ctx context.Context, u *account.User, unitType, indicator, period string) (_ []BenchStanding, err error) {
	defer errs.Wrapf(&err, "assess.Service.BenchLeague(%s, %s, %s)", unitType, indicator, period)
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	if unitType != Street && unitType != Community {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("type", "assess.err.unit_type")
	}
	out := []BenchStanding{}
	if s.d.Peers == nil {
		return out, nil
	}
	units, err := s.units(ctx, unitType)
	if err != nil {
		return nil, err
	}
	sc := account.ScopeOf(u)
	for _, un := range units {
		st, ok, err := s.d.Peers.Standing(ctx, sc, un.Code, indicator, period)
		if err != nil {
			return nil, err
		}
		if ok {
			st.Unit = un
			out = append(out, st)
		}
	}
	if indicator == benchmark.Composite && unitType == Street && len(out) > 1 {
		// The composite's analysis has no gaps nor trends: derived from
		// the streets' composites over the last periods (for the streets
		// only: a league of every community would analyse each of them
		// boardWindow times).
		rows := make([]*BenchStanding, len(out))
		for i := range out {
			rows[i] = &out[i]
		}
		if err := s.compositeGaps(ctx, sc, period, rows); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rank < out[j].Rank })
	return out, nil
}

// Lesson is a weak point and whom to learn from on it.
type Lesson struct {
	WeakPoint WeakPoint       `json:"weak_point"`
	Peers     []PeerPractices `json:"peers"`
}

// PeerPractices is a peer that improved, with its practices on the
// indicator.
type PeerPractices struct {
	Improver  Improver   `json:"peer"`
	Practices []Practice `json:"practices"`
}

// LearnFrom returns, for each of the unit's weak points, the peers that
// improved most on the indicator and their practice notes on it.
func (s *Service) LearnFrom(ctx context.Context, u *account.User, unit, period string) (_ []Lesson, err error) {
	defer errs.Wrapf(&err, "assess.Service.LearnFrom(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	if s.d.Peers == nil {
		return []Lesson{}, nil
	}
	sc := account.ScopeOf(u)
	if IsAssessor(u) {
		sc = account.SystemScope()
	}
	weak, err := s.d.Peers.WeakPoints(ctx, sc, un.Code, period)
	if err != nil {
		return nil, err
	}
	out := []Lesson{}
	for _, wp := range weak {
		l := Lesson{WeakPoint: wp, Peers: []PeerPractices{}}
		for _, im := range wp.Suggested[:min(3, len(wp.Suggested))] {
			if pu, err := s.unit(ctx, im.Unit); err == nil {
				im.Name = pu.Name
			}
			ps, err := s.practices(ctx, PracticeFilter{Indicator: wp.Indicator, Unit: im.Unit, Limit: 5})
			if err != nil {
				return nil, err
			}
			if ps == nil {
				ps = []Practice{}
			}
			l.Peers = append(l.Peers, PeerPractices{Improver: im, Practices: ps})
		}
		out = append(out, l)
	}
	return out, nil
}

// Visit is one stop of a study-tour plan: a unit to visit and what to ask
// it, per indicator.
type Visit struct {
	Unit      string   `json:"unit"`
	Name      string   `json:"name,omitempty"`
	Indicator string   `json:"indicator"`
	Questions []string `json:"questions"`
}

// StudyPlan is a 考察方案: the units to visit and the questions per
// indicator, from the unit's lessons.
type StudyPlan struct {
	Unit   Unit    `json:"unit"`
	Period string  `json:"period"`
	Visits []Visit `json:"visits"`
}

// Plan drafts the study-tour plan of a unit: each weak point's best
// improver, with questions drawn from its practice notes (one per note,
// and a general one when it has none).
func (s *Service) Plan(ctx context.Context, u *account.User, unit, period string, ask func(indicator, practice string) string) (_ *StudyPlan, err error) {
	defer errs.Wrapf(&err, "assess.Service.Plan(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	lessons, err := s.LearnFrom(ctx, u, unit, period)
	if err != nil {
		return nil, err
	}
	p := &StudyPlan{Unit: un, Period: period, Visits: []Visit{}}
	for _, l := range lessons {
		if len(l.Peers) == 0 {
			continue
		}
		best := l.Peers[0]
		v := Visit{Unit: best.Improver.Unit, Name: best.Improver.Name, Indicator: l.WeakPoint.Indicator}
		for _, pr := range best.Practices {
			v.Questions = append(v.Questions, ask(l.WeakPoint.Indicator, pr.Title))
		}
		if len(v.Questions) == 0 {
			v.Questions = append(v.Questions, ask(l.WeakPoint.Indicator, ""))
		}
		p.Visits = append(p.Visits, v)
	}
	return p, nil
}
