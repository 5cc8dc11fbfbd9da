package benchmark

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// DefaultContext are the context variables of the "similar" peer group
// when the caller names none: resident population, area in km² and the
// share of residents aged 60 or over (percent), the variables Scotland's
// family groups and LG Inform's nearest neighbours start from. They are
// ordinary indicators, imported like any other (the demo declares them).
var DefaultContext = []string{"population", "area_km2", "elderly_share"}

// The size of a similar group: DefaultK units (the unit itself
// included) unless the caller asks for 1 to MaxK; MaxContext variables
// at most.
const (
	DefaultK   = 10
	MaxK       = 50
	MaxContext = 8
)

// PeerQuery asks for a unit's peer group. Period, On and K matter only
// for Group "similar": the context variables' values are the latest at or
// before Period, On names them (DefaultContext when empty) and K is the
// group's size, the unit itself included (DefaultK when 0).
type PeerQuery struct {
	Unit   string
	Group  string
	Period string
	On     []string
	K      int
}

// Neighbour is a unit of a similar group: its distance to the unit on the
// z-scored context variables, and the variables' values (and the period
// each was taken from) that put it there.
type Neighbour struct {
	Unit     string             `json:"unit"`
	Name     string             `json:"name,omitempty"`
	Distance float64            `json:"distance"`
	Values   map[string]float64 `json:"values"`
	Periods  map[string]string  `json:"periods"`
}

// PeerList is a unit's peer group, by code. For a similar group it also
// says on what: the period, the variables, K, how many candidates had
// every variable, and the neighbours nearest first (the unit first).
type PeerList struct {
	Unit       string      `json:"unit"`
	Group      string      `json:"group"`
	Peers      []string    `json:"peers"`
	Period     string      `json:"period,omitempty"`
	On         []string    `json:"on,omitempty"`
	K          int         `json:"k,omitempty"`
	Candidates int         `json:"candidates,omitempty"`
	Neighbours []Neighbour `json:"neighbours,omitempty"`
	// Names are the peers' names, by code (a unit outside the region
	// tree has none).
	Names map[string]string `json:"names"`
}

// ParseOn splits a comma-separated list of context variables ("" is
// none: the default).
func ParseOn(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkSimilar validates a similar query's period, variables and K, and
// fills the defaults.
func checkSimilar(q *PeerQuery) error {
	bad := errs.E(errs.Invalid, "error.invalid")
	if !ValidPeriod(q.Period) {
		bad.Field("period", "benchmark.bad_period")
	}
	if len(q.On) == 0 {
		q.On = slices.Clone(DefaultContext)
	}
	var on []string
	for _, v := range q.On {
		if !keyRE.MatchString(v) || len(v) > 64 {
			bad.Field("on", "benchmark.bad_key")
			break
		}
		if !slices.Contains(on, v) {
			on = append(on, v)
		}
	}
	if len(on) > MaxContext {
		bad.Field("on", "benchmark.bad_on", MaxContext)
	}
	q.On = on
	if q.K == 0 {
		q.K = DefaultK
	}
	if q.K < 1 || q.K > MaxK {
		bad.Field("k", "benchmark.bad_k", MaxK)
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	return nil
}

// similar finds the unit's nearest neighbours on the context variables,
// the unit itself included, as LG Inform and Scotland's family groups
// do. Candidates are the units of its level in its district (for a
// district, those of its city; for an imported unit, its level group);
// each variable's value is its latest at or before the period that the
// caller may see (a unit in its scope, else a published period), and a
// candidate lacking one is left out. Each variable is z-scored over the
// candidates (a variable equal for all adds nothing), the distance is
// Euclidean, and the K-1 nearest others join the unit, ties broken by
// code. The unit lacking a variable is Invalid, naming each.
func (s *Store) similar(ctx context.Context, sc account.Scope, u unit, q PeerQuery) (*PeerList, error) {
	if err := checkSimilar(&q); err != nil {
		return nil, err
	}
	all, err := s.Indicators(ctx)
	if err != nil {
		return nil, err
	}
	bad := errs.E(errs.Invalid, "error.invalid")
	for _, v := range q.On {
		if !slices.ContainsFunc(all, func(in Indicator) bool { return in.Key == v }) {
			bad.Field("on."+v, "benchmark.unknown_variable", v)
		}
	}
	if len(bad.Fields) > 0 {
		return nil, bad
	}
	cands, err := s.levelCandidates(ctx, u)
	if err != nil {
		return nil, err
	}
	vals, err := s.contextValues(ctx, sc, q.On, cands, q.Period)
	if err != nil {
		return nil, err
	}
	for _, v := range q.On {
		if _, ok := vals[u.code][v]; !ok {
			bad.Field("on."+v, "benchmark.similar_missing", u.code, v, q.Period)
		}
	}
	if len(bad.Fields) > 0 {
		return nil, bad
	}
	var units []string
	for _, c := range cands {
		if len(vals[c]) == len(q.On) {
			units = append(units, c)
		}
	}
	// z-scores: (x − mean) / sd over the candidates, the population sd.
	z := make(map[string][]float64, len(units))
	for _, c := range units {
		z[c] = make([]float64, len(q.On))
	}
	for j, v := range q.On {
		var sum, sq float64
		for _, c := range units {
			sum += vals[c][v].value
		}
		mean := sum / float64(len(units))
		for _, c := range units {
			d := vals[c][v].value - mean
			sq += d * d
		}
		sd := math.Sqrt(sq / float64(len(units)))
		for _, c := range units {
			if sd > 0 {
				z[c][j] = (vals[c][v].value - mean) / sd
			}
		}
	}
	ns := make([]Neighbour, 0, len(units))
	for _, c := range units {
		var d2 float64
		for j := range q.On {
			d := z[c][j] - z[u.code][j]
			d2 += d * d
		}
		// Rounded to 1e-9, so that units equally far apart tie exactly
		// (and go by code) whatever the rounding of their sums.
		n := Neighbour{Unit: c, Distance: math.Round(math.Sqrt(d2)*1e9) / 1e9, Values: map[string]float64{}, Periods: map[string]string{}}
		for _, v := range q.On {
			n.Values[v], n.Periods[v] = vals[c][v].value, vals[c][v].period
		}
		ns = append(ns, n)
	}
	slices.SortFunc(ns, func(a, b Neighbour) int {
		switch {
		case a.Unit == u.code:
			return -1
		case b.Unit == u.code:
			return 1
		case a.Distance < b.Distance:
			return -1
		case a.Distance > b.Distance:
			return 1
		}
		return strings.Compare(a.Unit, b.Unit)
	})
	ns = ns[:min(q.K, len(ns))]
	out := &PeerList{Unit: u.code, Group: "similar", Period: q.Period, On: q.On, K: q.K, Candidates: len(units), Neighbours: ns}
	for _, n := range ns {
		out.Peers = append(out.Peers, n.Unit)
	}
	slices.Sort(out.Peers)
	return out, nil
}

// levelCandidates lists the units a similar group is drawn from: the
// region nodes of the unit's level in its district (the level group
// widened from the parent to the district), for a district or a unit
// above one the nodes of its level under its parent, and for an imported
// unit outside the region tree its level group.
func (s *Store) levelCandidates(ctx context.Context, u unit) ([]string, error) {
	if u.path == "" {
		return s.peers(ctx, account.SystemScope(), u, PeerQuery{Group: "level"})
	}
	nodes, err := s.regions.All(ctx, false)
	if err != nil {
		return nil, err
	}
	byCode := make(map[string]region.Node, len(nodes))
	for _, n := range nodes {
		byCode[n.Code] = n
	}
	within := ""
	if p, ok := byCode[u.parent]; ok {
		within = p.Path
	}
	for _, c := range strings.Split(strings.Trim(u.path, "/"), "/") {
		if n, ok := byCode[c]; ok && n.Level == region.District && c != u.code {
			within = n.Path
		}
	}
	var out []string
	for _, n := range nodes {
		if string(n.Level) == u.level && strings.HasPrefix(n.Path, within) {
			out = append(out, n.Code)
		}
	}
	if !slices.Contains(out, u.code) {
		out = append(out, u.code)
	}
	slices.Sort(out)
	return out, nil
}

// dated is a value and its period.
type dated struct {
	value  float64
	period string
}

// contextValues reads, for each unit and variable, the latest value at
// or before period that the caller may see: any period of a unit in its
// scope, a published period of another. A period is at or before another
// when it starts no later (a year starts in January, a quarter in its
// first month); of two starting together the finer wins.
func (s *Store) contextValues(ctx context.Context, sc account.Scope, on, units []string, period string) (map[string]map[string]dated, error) {
	out := map[string]map[string]dated{}
	if len(units) == 0 {
		return out, nil
	}
	var w db.Where
	sc.Apply(&w, account.Columns{Path: "r.path"})
	cond := strings.TrimPrefix(w.SQL(), " WHERE ")
	if cond == "" {
		cond = "1 = 1"
	}
	q := `SELECT v.indicator, v.unit_code, v.period, v.value FROM bm_values v
		LEFT JOIN regions r ON r.code = v.unit_code
		LEFT JOIN bm_published pub ON pub.period = v.period
		WHERE (pub.period IS NOT NULL OR ` + cond + `)`
	var ks, us []string
	for _, k := range on {
		ks = append(ks, w.Arg(k))
	}
	for _, u := range units {
		us = append(us, w.Arg(u))
	}
	q += ` AND v.indicator IN (` + strings.Join(ks, ",") + `) AND v.unit_code IN (` + strings.Join(us, ",") + `)`
	rows, err := s.db.Query(ctx, q, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	limit := periodStart(period)
	for rows.Next() {
		var ind, unit, p string
		var v float64
		if err := rows.Scan(&ind, &unit, &p, &v); err != nil {
			return nil, err
		}
		if periodStart(p) > limit {
			continue
		}
		if out[unit] == nil {
			out[unit] = map[string]dated{}
		}
		if old, ok := out[unit][ind]; ok && !laterPeriod(p, old.period) {
			continue
		}
		out[unit][ind] = dated{v, p}
	}
	return out, rows.Err()
}

// periodStart is the month a period starts in, as months since year 0.
func periodStart(p string) int {
	y, _ := strconv.Atoi(p[:4])
	m := 1
	switch periodKind(p) {
	case "m":
		m, _ = strconv.Atoi(p[5:])
	case "q":
		q, _ := strconv.Atoi(p[6:])
		m = 3*(q-1) + 1
	}
	return 12*y + m - 1
}

// laterPeriod reports whether a starts after b, or with b and is finer.
func laterPeriod(a, b string) bool {
	sa, sb := periodStart(a), periodStart(b)
	if sa != sb {
		return sa > sb
	}
	fine := map[string]int{"y": 0, "q": 1, "m": 2}
	return fine[periodKind(a)] > fine[periodKind(b)]
}
