package benchmark

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// Draws is the number of Monte Carlo draws behind a composite's rank range.
const Draws = 1000

// seed fixes the Monte Carlo draws, so that the same data gives the same
// ranges on every request.
const seed = 19

// Deps are the Store's dependencies.
type Deps struct {
	DB      *db.DB
	Regions *region.Store
}

// Store keeps indicators, values, published periods and groups, and
// answers the analyses.
type Store struct {
	db      *db.DB
	regions *region.Store
}

// NewStore returns a Store.
func NewStore(d Deps) *Store { return &Store{db: d.DB, regions: d.Regions} }

var periodRE = regexp.MustCompile(`^(\d{4})(-(0[1-9]|1[0-2])|-Q[1-4])?$`)

// ValidPeriod reports whether p is a month ("2026-11"), a quarter
// ("2026-Q3") or a year ("2026").
func ValidPeriod(p string) bool { return periodRE.MatchString(p) }

// periodKind is "m", "q" or "y": periods compare only within a kind.
func periodKind(p string) string {
	switch {
	case len(p) == 4:
		return "y"
	case strings.Contains(p, "Q"):
		return "q"
	}
	return "m"
}

// Indicators lists the indicators, by key.
func (s *Store) Indicators(ctx context.Context) (_ []Indicator, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Indicators")
	rows, err := s.db.Query(ctx, indicatorsSQL)
	if err != nil {
		return nil, err
	}
	return scanIndicators(rows)
}

const indicatorsSQL = `SELECT key, name_zh, name_en, unit, direction, source, definition_version, definition_zh, definition_en, kind
		FROM bm_indicators ORDER BY key`

// indicatorsIn lists the indicators as the transaction tx sees them.
func indicatorsIn(ctx context.Context, tx *db.Tx) ([]Indicator, error) {
	rows, err := tx.Query(ctx, indicatorsSQL)
	if err != nil {
		return nil, err
	}
	return scanIndicators(rows)
}

func scanIndicators(rows *sql.Rows) ([]Indicator, error) {
	defer rows.Close()
	out := []Indicator{}
	for rows.Next() {
		var in Indicator
		var kind string
		if err := rows.Scan(&in.Key, &in.Name.ZH, &in.Name.EN, &in.Unit, &in.Direction, &in.Source, &in.DefinitionVersion,
			&in.Definition.ZH, &in.Definition.EN, &kind); err != nil {
			return nil, err
		}
		in.Context = kind == kindContext
		out = append(out, in)
	}
	return out, rows.Err()
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// check validates an indicator's declaration, naming each bad field.
func (in *Indicator) check() *errs.Error {
	bad := errs.E(errs.Invalid, "error.invalid")
	if !keyRE.MatchString(in.Key) || len(in.Key) > 64 {
		bad.Field("key", "benchmark.bad_key")
	}
	if strings.TrimSpace(in.Name.ZH) == "" && strings.TrimSpace(in.Name.EN) == "" {
		bad.Field("name", "field.required")
	}
	if strings.TrimSpace(in.Unit) == "" || len(in.Unit) > 32 {
		bad.Field("unit", "field.required")
	}
	if in.Direction != HigherBetter && in.Direction != LowerBetter {
		bad.Field("direction", "benchmark.bad_direction")
	}
	if in.Name.ZH == "" {
		in.Name.ZH = in.Name.EN
	}
	if in.Name.EN == "" {
		in.Name.EN = in.Name.ZH
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	return nil
}

// DeclareIndicator adds an indicator or updates one of the same source.
// A changed definition (or unit or direction) raises its
// DefinitionVersion, which starts a new series. An indicator of another
// source is a Conflict: an import cannot redefine the platform's own.
func (s *Store) DeclareIndicator(ctx context.Context, in Indicator) (_ Indicator, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.DeclareIndicator(%s)", in.Key)
	if bad := in.check(); bad != nil {
		return Indicator{}, bad
	}
	if in.Source == "" {
		in.Source = "import"
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		out, err := declare(ctx, tx, in)
		in = out.Indicator
		return err
	})
	return in, err
}

// declared is an indicator as declare left it: created (new), changed (its
// definition changed: a new series) or neither.
type declared struct {
	Indicator
	created, changed bool
}

// declare is DeclareIndicator inside a transaction.
func declare(ctx context.Context, tx *db.Tx, in Indicator) (declared, error) {
	var old Indicator
	var oldKind string
	err := tx.QueryRow(ctx, `SELECT unit, direction, source, definition_version, definition_zh, definition_en, kind FROM bm_indicators WHERE key = $1`, in.Key).
		Scan(&old.Unit, &old.Direction, &old.Source, &old.DefinitionVersion, &old.Definition.ZH, &old.Definition.EN, &oldKind)
	old.Context = oldKind == kindContext
	switch {
	case errors.Is(err, sql.ErrNoRows):
		in.DefinitionVersion = 1
		_, err = tx.Exec(ctx, `INSERT INTO bm_indicators (key, name_zh, name_en, unit, direction, source, definition_version, definition_zh, definition_en, updated_at, kind)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			in.Key, in.Name.ZH, in.Name.EN, in.Unit, in.Direction, in.Source, in.DefinitionVersion, in.Definition.ZH, in.Definition.EN, tx.Now(), kindOf(in))
		return declared{in, true, false}, db.Translate(err)
	case err != nil:
		return declared{Indicator: in}, err
	}
	if old.Source != in.Source {
		return declared{Indicator: in}, errs.E(errs.Conflict, "benchmark.other_source", in.Key).Field("key", "benchmark.other_source", in.Key)
	}
	in.DefinitionVersion = old.DefinitionVersion
	changed := old.Unit != in.Unit || old.Direction != in.Direction || old.Definition != in.Definition || old.Context != in.Context
	if changed {
		in.DefinitionVersion++
	}
	_, err = tx.Exec(ctx, `UPDATE bm_indicators SET name_zh = $2, name_en = $3, unit = $4, direction = $5, definition_version = $6,
		definition_zh = $7, definition_en = $8, updated_at = $9, kind = $10 WHERE key = $1`,
		in.Key, in.Name.ZH, in.Name.EN, in.Unit, in.Direction, in.DefinitionVersion, in.Definition.ZH, in.Definition.EN, tx.Now(), kindOf(in))
	return declared{in, false, changed}, err
}

// PublishPeriod publishes a period: from now on every caller's analysis
// compares against its peers' values of that period. 考核's
// freeze-and-publish calls it; publishing twice is harmless.
func (s *Store) PublishPeriod(ctx context.Context, period string) (err error) {
	defer errs.Wrapf(&err, "benchmark.Store.PublishPeriod(%s)", period)
	if !ValidPeriod(period) {
		return errs.E(errs.Invalid, "error.invalid").Field("period", "benchmark.bad_period")
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bm_published (period, published_at) VALUES ($1, $2) ON CONFLICT (period) DO NOTHING`, period, tx.Now())
		return err
	})
}

// Value is the stored value of an indicator for a unit in a period, read
// without a scope (for the assessors' scores, which compare it with a
// target rather than with peers); ok is false when there is none.
func (s *Store) Value(ctx context.Context, indicator, unit, period string) (_ float64, ok bool, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Value(%s, %s, %s)", indicator, unit, period)
	var v float64
	err = s.db.QueryRow(ctx, `SELECT value FROM bm_values WHERE indicator = $1 AND period = $2 AND unit_code = $3`, indicator, period, unit).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return v, true, nil
}

// Published reports whether a period is published.
func (s *Store) Published(ctx context.Context, period string) (_ bool, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Published(%s)", period)
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bm_published WHERE period = $1`, period).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// unit is a unit as the analysis sees it: its region node, or for an
// imported unit outside the region tree its code only.
type unit struct {
	code, parent, level, path string
}

// unitOf finds a unit: a region node, or a unit that has values (an
// imported district of the city). Neither is NotFound.
func (s *Store) unitOf(ctx context.Context, code string) (unit, error) {
	n, err := s.regions.Get(ctx, code)
	if err == nil {
		return unit{code: n.Code, parent: n.ParentCode, level: string(n.Level), path: n.Path}, nil
	}
	if !errs.Is(err, errs.NotFound) {
		return unit{}, err
	}
	var k int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM bm_values WHERE unit_code = $1`, code).Scan(&k); err != nil {
		return unit{}, err
	}
	if k == 0 {
		return unit{}, errs.E(errs.NotFound, "benchmark.unit_not_found", code)
	}
	return unit{code: code, parent: parentPrefix(code)}, nil
}

// parentPrefix is the parent's code by the statistical code's structure
// (6 county, 9 street, 12 community, 15 grid digits), for imported units
// outside the region tree.
func parentPrefix(code string) string {
	switch len(code) {
	case 6:
		return code[:4]
	case 9:
		return code[:6]
	case 12:
		return code[:9]
	case 15:
		return code[:12]
	}
	return ""
}

// Peers returns the peer group of a unit, itself included, its codes
// sorted: group "" or "level" is the units of its level under the same
// parent, "similar" its nearest neighbours on context variables (with
// their distances and values, see PeerQuery), a number a hand-picked
// group's members.
func (s *Store) Peers(ctx context.Context, sc account.Scope, q PeerQuery) (_ *PeerList, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Peers(%s, %s)", q.Unit, q.Group)
	if q.Unit == "" || len(q.Unit) > 32 {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("unit", "field.required")
	}
	u, err := s.unitOf(ctx, q.Unit)
	if err != nil {
		return nil, err
	}
	var l *PeerList
	if q.Group == "similar" {
		if l, err = s.similar(ctx, sc, u, q); err != nil {
			return nil, err
		}
	} else {
		ps, err := s.peers(ctx, sc, u, q)
		if err != nil {
			return nil, err
		}
		l = &PeerList{Unit: u.code, Group: cmp.Or(q.Group, "level"), Peers: ps}
	}
	nodes, err := s.regions.All(ctx, false)
	if err != nil {
		return nil, err
	}
	l.Names = map[string]string{}
	for _, n := range nodes {
		if slices.Contains(l.Peers, n.Code) {
			l.Names[n.Code] = n.Name
		}
	}
	for i := range l.Neighbours {
		l.Neighbours[i].Name = l.Names[l.Neighbours[i].Unit]
	}
	return l, nil
}

func (s *Store) peers(ctx context.Context, sc account.Scope, u unit, pq PeerQuery) ([]string, error) {
	var out []string
	switch pq.Group {
	case "", "level":
		if u.path != "" && u.parent != "" {
			kids, err := s.regions.Children(ctx, u.parent, false)
			if err != nil {
				return nil, err
			}
			for _, k := range kids {
				if string(k.Level) == u.level {
					out = append(out, k.Code)
				}
			}
			break
		}
		rows, err := s.db.Query(ctx, `SELECT DISTINCT unit_code FROM bm_values WHERE unit_code LIKE $1 AND length(unit_code) = $2`,
			u.parent+"%", len(u.code))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	case "similar":
		l, err := s.similar(ctx, sc, u, pq)
		if err != nil {
			return nil, err
		}
		return l.Peers, nil
	default:
		id, perr := strconv.ParseInt(pq.Group, 10, 64)
		if perr != nil || id <= 0 {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("group", "benchmark.bad_group")
		}
		g, err := s.Group(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		out = g.Units
	}
	if !slices.Contains(out, u.code) {
		out = append(out, u.code)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Group returns a hand-picked group the caller may see (one created in
// its scope).
func (s *Store) Group(ctx context.Context, sc account.Scope, id int64) (_ *Group, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Group(%d)", id)
	var w db.Where
	sc.Apply(&w, account.Columns{Path: "owner_path"})
	w.Add("id = ?", id)
	g := &Group{}
	err = s.db.QueryRow(ctx, `SELECT id, name FROM bm_groups`+w.SQL(), w.Args()...).Scan(&g.ID, &g.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "benchmark.group_not_found", id)
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT unit_code FROM bm_group_members WHERE group_id = $1 ORDER BY unit_code`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		g.Units = append(g.Units, c)
	}
	return g, rows.Err()
}

// load reads the values of the indicators for the units in the periods of
// p's kind up to p, those the caller may see: values of units in its
// scope, and any value of a published period. It returns them as a Data
// and the index of p in it.
func (s *Store) load(ctx context.Context, sc account.Scope, ins []Indicator, units []string, p string, window int) (*Data, int, error) {
	var w db.Where
	sc.Apply(&w, account.Columns{Path: "r.path"})
	cond := strings.TrimPrefix(w.SQL(), " WHERE ")
	if cond == "" {
		cond = "1 = 1"
	}
	q := `SELECT v.indicator, v.unit_code, v.period, v.value, v.definition_version FROM bm_values v
		LEFT JOIN regions r ON r.code = v.unit_code
		LEFT JOIN bm_published pub ON pub.period = v.period
		WHERE (pub.period IS NOT NULL OR ` + cond + `) AND v.period <= ` + w.Arg(p) + ` AND length(v.period) = ` + w.Arg(len(p))
	var ks []string
	for _, in := range ins {
		ks = append(ks, w.Arg(in.Key))
	}
	q += ` AND v.indicator IN (` + strings.Join(ks, ",") + `)`
	var us []string
	for _, u := range units {
		us = append(us, w.Arg(u))
	}
	q += ` AND v.unit_code IN (` + strings.Join(us, ",") + `)`
	rows, err := s.db.Query(ctx, q, w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var vals []Value
	kind := periodKind(p)
	for rows.Next() {
		var v Value
		if err := rows.Scan(&v.Indicator, &v.Unit, &v.Period, &v.Value, &v.DefinitionVersion); err != nil {
			return nil, 0, err
		}
		if periodKind(v.Period) == kind {
			vals = append(vals, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	d, per := build(ins, units, vals, p, window)
	return d, per, nil
}

// build lays values out as a Data over the last window periods up to p
// (every period of p's kind between the earliest value and p, p included).
func build(ins []Indicator, units []string, vals []Value, p string, window int) (*Data, int) {
	d := &Data{Units: slices.Clone(units)}
	slices.Sort(d.Units)
	ps := periodsUpTo(p, window)
	d.Periods = ps
	pi := map[string]int{}
	for i, x := range ps {
		pi[x] = i
	}
	ui := map[string]int{}
	for i, u := range d.Units {
		ui[u] = i
	}
	si := map[string]int{}
	for i, in := range ins {
		si[in.Key] = i
		ser := Series{Key: in.Key, Lower: in.Direction == LowerBetter, Weight: 1, Version: make([]int, len(ps)), Values: make([][]float64, len(ps))}
		for k := range ps {
			ser.Values[k] = make([]float64, len(d.Units))
			for u := range ser.Values[k] {
				ser.Values[k][u] = math.NaN()
			}
		}
		d.Series = append(d.Series, ser)
	}
	for _, v := range vals {
		s, ok1 := si[v.Indicator]
		k, ok2 := pi[v.Period]
		u, ok3 := ui[v.Unit]
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		d.Series[s].Values[k][u] = v.Value
		d.Series[s].Version[k] = max(d.Series[s].Version[k], v.DefinitionVersion)
	}
	// A period without values takes its neighbour's version, so that a gap
	// in the data is not taken for a change of definition.
	for s := range d.Series {
		ver := d.Series[s].Version
		last := ins[s].DefinitionVersion
		for k := len(ver) - 1; k >= 0; k-- {
			if ver[k] == 0 {
				ver[k] = last
			}
			last = ver[k]
		}
	}
	return d, len(ps) - 1
}

// periodsUpTo lists the n periods of p's kind ending with p.
func periodsUpTo(p string, n int) []string {
	y, _ := strconv.Atoi(p[:4])
	kind := periodKind(p)
	var sub, per int
	switch kind {
	case "m":
		sub, _ = strconv.Atoi(p[5:])
		per = 12
	case "q":
		sub, _ = strconv.Atoi(p[6:])
		per = 4
	default:
		sub, per = 1, 1
	}
	out := make([]string, n)
	for i := n - 1; i >= 0; i-- {
		switch kind {
		case "m":
			out[i] = strconv.Itoa(y) + "-" + pad2(sub)
		case "q":
			out[i] = strconv.Itoa(y) + "-Q" + strconv.Itoa(sub)
		default:
			out[i] = strconv.Itoa(y)
		}
		sub--
		if sub == 0 {
			sub = per
			y--
		}
	}
	return out
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// kindContext is bm_indicators.kind of a context variable ("ranked" of
// the others).
const kindContext = "context"

func kindOf(in Indicator) string {
	if in.Context {
		return kindContext
	}
	return "ranked"
}

// ranked lists the indicators that rank units: all but the context
// variables, which describe a unit (its population, its area) and so
// belong in no composite and are no weak point.
func (s *Store) ranked(ctx context.Context) ([]Indicator, error) {
	all, err := s.Indicators(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(in Indicator) bool { return in.Context }), nil
}

// indicator returns the indicator called key, NotFound when there is none.
func (s *Store) indicator(ctx context.Context, key string) (Indicator, error) {
	all, err := s.Indicators(ctx)
	if err != nil {
		return Indicator{}, err
	}
	for _, in := range all {
		if in.Key == key {
			return in, nil
		}
	}
	return Indicator{}, errs.E(errs.NotFound, "benchmark.indicator_not_found", key)
}

// visible checks that the caller may see unit u's analysis in period p: a
// unit in its scope always, another unit once p is published.
func (s *Store) visible(ctx context.Context, sc account.Scope, code, p string) (unit, bool, error) {
	u, err := s.unitOf(ctx, code)
	if err != nil {
		return unit{}, false, err
	}
	pub, err := s.Published(ctx, p)
	if err != nil {
		return unit{}, false, err
	}
	if !pub && !sc.Covers(u.path) {
		return unit{}, false, errs.E(errs.NotFound, "benchmark.unit_not_found", code)
	}
	return u, pub, nil
}

// checkQuery validates the unit, indicator and period of a query.
func checkQuery(unit, ind, period string, needInd bool) error {
	bad := errs.E(errs.Invalid, "error.invalid")
	if unit == "" || len(unit) > 32 {
		bad.Field("unit", "field.required")
	}
	if needInd && ind == "" {
		bad.Field("indicator", "field.required")
	}
	if !ValidPeriod(period) {
		bad.Field("period", "benchmark.bad_period")
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	return nil
}

// Analyse answers where a unit stands on one indicator (or Composite) in
// one period among its peers, with the trends over the last q.Window
// periods. Peers outside the caller's scope count only in published
// periods; a unit outside the scope is NotFound unless the period is
// published.
func (s *Store) Analyse(ctx context.Context, sc account.Scope, q Query) (_ *Analysis, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Analyse(%s, %s, %s)", q.Unit, q.Indicator, q.Period)
	if err := checkQuery(q.Unit, q.Indicator, q.Period, true); err != nil {
		return nil, err
	}
	if q.Window <= 0 {
		q.Window = 6
	}
	if q.Window > 60 {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("window", "benchmark.bad_window")
	}
	u, pub, err := s.visible(ctx, sc, q.Unit, q.Period)
	if err != nil {
		return nil, err
	}
	var ins []Indicator
	if q.Indicator == Composite {
		if ins, err = s.ranked(ctx); err != nil {
			return nil, err
		}
	} else {
		in, err := s.indicator(ctx, q.Indicator)
		if err != nil {
			return nil, err
		}
		ins = []Indicator{in}
	}
	units, err := s.peers(ctx, sc, u, PeerQuery{Group: q.Group, Period: q.Period, On: q.On, K: q.K})
	if err != nil {
		return nil, err
	}
	d, per, err := s.load(ctx, sc, ins, units, q.Period, q.Window)
	if err != nil {
		return nil, err
	}
	draws := 0
	if q.Indicator == Composite {
		draws = Draws
	}
	r := Analyse(d, per, q.Window, draws, seed)
	ui, _ := slices.BinarySearch(d.Units, u.code)
	var a Analysis
	if q.Indicator == Composite {
		a = r.Of(-1, per, ui)
	} else {
		a = r.Of(0, per, ui)
	}
	a.Published = pub
	return &a, nil
}

// WeakPoints lists a unit's weak points (短板) in a period among its level
// peers: the indicators on which its percentile is at least WeakBy below
// its overall one (its composite's, or without a composite the median of
// its indicators'), worst first, each with the peers that improved most
// on it.
func (s *Store) WeakPoints(ctx context.Context, sc account.Scope, code, period string) (_ []WeakPoint, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.WeakPoints(%s, %s)", code, period)
	weak, _, err := s.profile(ctx, sc, code, period)
	return weak, err
}

// Strengths lists a unit's strengths: the indicators on which its
// percentile is at least WeakBy above its overall one, best first.
func (s *Store) Strengths(ctx context.Context, sc account.Scope, code, period string) (_ []WeakPoint, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Strengths(%s, %s)", code, period)
	_, strong, err := s.profile(ctx, sc, code, period)
	return strong, err
}

func (s *Store) profile(ctx context.Context, sc account.Scope, code, period string) (weak, strong []WeakPoint, err error) {
	if err := checkQuery(code, "", period, false); err != nil {
		return nil, nil, err
	}
	u, _, err := s.visible(ctx, sc, code, period)
	if err != nil {
		return nil, nil, err
	}
	ins, err := s.ranked(ctx)
	if err != nil {
		return nil, nil, err
	}
	units, err := s.peers(ctx, sc, u, PeerQuery{})
	if err != nil {
		return nil, nil, err
	}
	const window = 6
	d, per, err := s.load(ctx, sc, ins, units, period, window)
	if err != nil {
		return nil, nil, err
	}
	r := Analyse(d, per, window, 0, seed)
	ui, _ := slices.BinarySearch(d.Units, u.code)
	weak, strong = r.Profile(per, ui)
	return weak, strong, nil
}

// CreateGroup stores a hand-picked peer group of units (2 to 200 of them,
// each a region node or a unit with values), owned by the caller's scope:
// callers whose scope covers the owner's region see it.
func (s *Store) CreateGroup(ctx context.Context, sc account.Scope, ownerPath string, by int64, name string, units []string) (_ *Group, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.CreateGroup(%s)", name)
	bad := errs.E(errs.Invalid, "error.invalid")
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 100 {
		bad.Field("name", "field.required")
	}
	us := slices.Clone(units)
	slices.Sort(us)
	us = slices.Compact(us)
	if len(us) < 2 || len(us) > 200 {
		bad.Field("units", "benchmark.bad_units")
	}
	if len(bad.Fields) > 0 {
		return nil, bad
	}
	for _, u := range us {
		if _, err := s.unitOf(ctx, u); errs.Is(err, errs.NotFound) {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("units", "benchmark.unit_not_found", u)
		} else if err != nil {
			return nil, err
		}
	}
	if !sc.Covers(ownerPath) {
		return nil, errs.E(errs.Forbidden, "error.forbidden")
	}
	g := &Group{Name: name, Units: us}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		id, err := tx.InsertID(ctx, `INSERT INTO bm_groups (name, owner_path, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			name, ownerPath, by, tx.Now())
		if err != nil {
			return err
		}
		g.ID = id
		for _, u := range us {
			if _, err := tx.Exec(ctx, `INSERT INTO bm_group_members (group_id, unit_code) VALUES ($1, $2)`, id, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}
