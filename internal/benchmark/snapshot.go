package benchmark

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
	"whistle/internal/timer"
)

// SubjectRegion is the indicator registry's subject kind of a region node
// (its code): the kind every module's Source answers for streets and
// communities.
const SubjectRegion = "region"

// Snapshots materialise the platform's own indicators — every indicator of
// the kernel's registry that ranks (higher or lower is better) and has a
// value for a month — as benchmarking values of the district's streets
// and communities, one month at a time.
//
// The registry computes on demand, over live data (the rollups, visits,
// disputes…); benchmarking compares series over months, publishes them
// and keeps them when a definition changes, so it keeps its own copy,
// measured under the definition version of its day.
type Snapshots struct {
	store *Store
	reg   *indicator.Registry
	loc   *time.Location
}

// NewSnapshots returns the Snapshots of the indicators in reg into store.
// Months are calendar months in the district's time zone.
func NewSnapshots(store *Store, reg *indicator.Registry) (*Snapshots, error) {
	loc, err := time.LoadLocation(calendar.Zone)
	if err != nil {
		return nil, err
	}
	return &Snapshots{store: store, reg: reg, loc: loc}, nil
}

// SnapshotReport says what a snapshot wrote.
type SnapshotReport struct {
	Period string `json:"period"`
	// Units are the streets and communities computed.
	Units int `json:"units"`
	// Declared are the indicators written, each with the definition
	// version its values took; Changed counts those whose definition
	// changed since the last snapshot (a new series).
	Declared []Indicator `json:"declared"`
	Changed  int         `json:"changed"`
	Values   int         `json:"values"`
	// Skipped are the registry's indicators left out, with why.
	Skipped []Skipped `json:"skipped"`
}

// Skipped is a registry indicator a snapshot left out.
type Skipped struct {
	Indicator string `json:"indicator"`
	// Reason is "neutral" (neither higher nor lower is better: nothing
	// to rank), "current" (the state now: a month does not apply),
	// "no_data" (no street or community has a value this month: its
	// Source does not cover them, or nothing happened), or "taken" (an
	// imported indicator has the key).
	Reason string `json:"reason"`
}

// The reasons of Skipped.
const (
	SkipNeutral = "neutral"
	SkipCurrent = "current"
	SkipNoData  = "no_data"
	SkipTaken   = "taken"
)

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// Month returns the instants a month period ("2026-11") spans in loc:
// from its first day's start to the next month's.
func Month(period string, loc *time.Location) (indicator.Period, bool) {
	if !monthRE.MatchString(period) {
		return indicator.Period{}, false
	}
	y, _ := strconv.Atoi(period[:4])
	m, _ := strconv.Atoi(period[5:])
	from := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, loc)
	return indicator.Period{From: from, To: from.AddDate(0, 1, 0)}, true
}

// unitOf maps the registry's unit to benchmarking's,
// and the factor its values take: a registry share in [0, 1] is a
// percentage here, as imported rates are.
func unitOf(u indicator.Unit) (string, float64) {
	if u == indicator.Percent {
		return "percent", 100
	}
	return string(u), 1
}

// Snapshot computes every rankable registry indicator for each street and
// community over the month period ("2026-11") and stores them as the
// platform's indicators (Source "platform"), in one transaction: each is
// declared with the registry's name, unit, direction and definition (a
// changed definition raises its DefinitionVersion, a new series), and the
// month's platform values are replaced by the new ones, so that running a
// month again gives the same rows. Imported indicators and other months
// are untouched. A value with no data (a rate over no cases) is not
// stored: missing, not 0. Values follow the ordinary scope rules: peers
// outside a caller's scope see them once the period is published.
func (p *Snapshots) Snapshot(ctx context.Context, period string) (_ *SnapshotReport, err error) {
	defer errs.Wrapf(&err, "benchmark.Snapshots.Snapshot(%s)", period)
	c, err := p.compute(ctx, period)
	if err != nil {
		return nil, err
	}
	err = p.store.db.InTx(ctx, func(tx *db.Tx) error { return c.write(ctx, tx) })
	if err != nil {
		return nil, err
	}
	return c.rep, nil
}

// computed is a month's snapshot before it is written.
type computed struct {
	rep  *SnapshotReport
	ins  []Indicator
	vals map[string][]Value // by indicator key
}

// compute reads the registry for the month; nothing is written.
func (p *Snapshots) compute(ctx context.Context, period string) (*computed, error) {
	per, ok := Month(period, p.loc)
	if !ok {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("period", "benchmark.bad_month")
	}
	nodes, err := p.store.regions.All(ctx, false)
	if err != nil {
		return nil, err
	}
	var subjects []indicator.Subject
	for _, n := range nodes {
		if n.Level == region.Street || n.Level == region.Community {
			subjects = append(subjects, indicator.Subject{Kind: SubjectRegion, Code: n.Code})
		}
	}
	slices.SortFunc(subjects, func(a, b indicator.Subject) int {
		switch {
		case a.Code < b.Code:
			return -1
		case a.Code > b.Code:
			return 1
		}
		return 0
	})
	c := &computed{rep: &SnapshotReport{Period: period, Units: len(subjects), Declared: []Indicator{}, Skipped: []Skipped{}}, vals: map[string][]Value{}}
	var names []string
	var ranked []indicator.Indicator
	for _, in := range p.reg.List() {
		switch {
		case in.Direction == indicator.Neutral:
			c.rep.Skipped = append(c.rep.Skipped, Skipped{in.Name, SkipNeutral})
		case in.Current:
			c.rep.Skipped = append(c.rep.Skipped, Skipped{in.Name, SkipCurrent})
		default:
			names = append(names, in.Name)
			ranked = append(ranked, in)
		}
	}
	if len(names) == 0 || len(subjects) == 0 {
		return c, nil
	}
	t, err := p.reg.Batch(ctx, names, subjects, per)
	if err != nil {
		return nil, err
	}
	for _, in := range ranked {
		unit, factor := unitOf(in.Unit)
		var vals []Value
		for _, s := range subjects {
			v := t[s][in.Name]
			if !v.HasData() {
				continue
			}
			vals = append(vals, Value{Indicator: in.Name, Unit: s.Code, Period: period, Value: *v.Value * factor})
		}
		if len(vals) == 0 {
			c.rep.Skipped = append(c.rep.Skipped, Skipped{in.Name, SkipNoData})
			continue
		}
		c.ins = append(c.ins, Indicator{Key: in.Name, Name: in.Label, Unit: unit, Direction: string(in.Direction), Source: SourcePlatform,
			Definition: in.Definition})
		c.vals[in.Name] = vals
	}
	return c, nil
}

// write declares the indicators and replaces the month's platform values
// inside tx.
func (c *computed) write(ctx context.Context, tx *db.Tx) error {
	period := c.rep.Period
	if _, err := tx.Exec(ctx, `DELETE FROM bm_values WHERE period = $1 AND indicator IN (SELECT key FROM bm_indicators WHERE source = $2)`,
		period, SourcePlatform); err != nil {
		return err
	}
	var all []Value
	for _, in := range c.ins {
		if bad := in.check(); bad != nil {
			return fmt.Errorf("registry indicator %s: %w", in.Key, bad)
		}
		out, err := declare(ctx, tx, in)
		if errs.Is(err, errs.Conflict) {
			c.rep.Skipped = append(c.rep.Skipped, Skipped{in.Key, SkipTaken})
			continue
		}
		if err != nil {
			return err
		}
		if out.changed {
			c.rep.Changed++
		}
		c.rep.Declared = append(c.rep.Declared, out.Indicator)
		for _, v := range c.vals[in.Key] {
			v.DefinitionVersion = out.DefinitionVersion
			all = append(all, v)
		}
	}
	c.rep.Values = len(all)
	slices.SortFunc(c.rep.Skipped, func(a, b Skipped) int {
		switch {
		case a.Indicator < b.Indicator:
			return -1
		case a.Indicator > b.Indicator:
			return 1
		}
		return 0
	})
	return put(ctx, tx, all)
}

// TimerKind is the kind of the monthly snapshot's timer.
const TimerKind = "benchmark.snapshot"

// timerKey is the one monthly timer.
var timerKey = timer.Key{Kind: TimerKind, Subject: "platform", Name: "monthly"}

// snapshotHour is when, on the first day of a month (district time), the
// timer snapshots the month that just ended: late enough for the last
// day's closings to be counted, early enough to be there in the morning.
const snapshotHour = 1

// nextDue is the first day of the month after t's, at snapshotHour.
func (p *Snapshots) nextDue(t time.Time) time.Time {
	l := t.In(p.loc)
	return time.Date(l.Year(), l.Month(), 1, snapshotHour, 0, 0, 0, p.loc).AddDate(0, 1, 0)
}

// RegisterTimers makes r fire the monthly snapshot: on the first day of
// each month it snapshots the month before its due time and arms the
// next month's. The registry's reads run beside the timer's transaction,
// which writes the values.
func (p *Snapshots) RegisterTimers(r *timer.Runner) {
	r.Handle(TimerKind, func(ctx context.Context, tx *db.Tx, t timer.Timer) error {
		month := t.Due.In(p.loc).AddDate(0, 0, -1).Format("2006-01")
		c, err := p.compute(ctx, month)
		if err != nil {
			return err
		}
		if err := c.write(ctx, tx); err != nil {
			return err
		}
		at := t.Due
		if now := tx.Now(); now.After(at) {
			at = now
		}
		return timer.Arm(ctx, tx, timerKey, p.nextDue(at), nil)
	})
}

// Start arms the monthly timer when none is pending (a first start, or
// a database the timer was never armed in): it fires on the first day of
// next month.
func (p *Snapshots) Start(ctx context.Context) (err error) {
	defer errs.Wrapf(&err, "benchmark.Snapshots.Start")
	return p.store.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := timer.Pending(ctx, tx, timerKey)
		if err == nil {
			return nil
		}
		if !errs.Is(err, errs.NotFound) {
			return err
		}
		return timer.Arm(ctx, tx, timerKey, p.nextDue(tx.Now()), nil)
	})
}
