package sensing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/timer"
)

// Source is the device a reading came from, as the rules see it: its
// type picks the rules, its owner the keys and the alarm's subject.
type Source struct {
	Device     int64
	Type       string
	District   string
	PersonID   int64
	HouseID    int64
	SpaceID    int64
	NoParking  bool
	GridCode   string
	RegionPath string
	Lat, Lng   float64
}

// Reading is one message's values from a device.
type Reading struct {
	Source *Source
	TS     time.Time
	Values map[string]float64
	// Text holds the enumerations ("state": "occupied").
	Text map[string]string
}

// The timer and sweep kinds of this package.
const (
	durationTimer = "sensing.duration"
	ladderTimer   = "sensing.alarm"
	parkingTimer  = "sensing.parking"
	silencePrefix = "sensing.silence."
)

// key is the rule state's key of a reading: per device, person or space
// (a reading without a person or space falls back to its device).
func key(r *Rule, src *Source) string {
	switch {
	case r.KeyBy == "person" && src.PersonID != 0:
		return "p" + strconv.FormatInt(src.PersonID, 10)
	case r.KeyBy == "space" && src.SpaceID != 0:
		return "s" + strconv.FormatInt(src.SpaceID, 10)
	}
	return "d" + strconv.FormatInt(src.Device, 10)
}

// stateKey names a rule's key in the timers and the sweep.
func stateKey(r *Rule, k string) string { return strconv.FormatInt(r.ID, 10) + "|" + k }

// silenceKind is the sweep kind of an absence or low-use rule: each has
// its own silence length.
func silenceKind(id int64) string { return silencePrefix + strconv.FormatInt(id, 10) }

// Evaluate runs the enabled rules over rs inside tx, the transaction that
// stores the readings: rule state, alarms and timers commit with them.
func (s *Service) Evaluate(ctx context.Context, tx *db.Tx, rs []Reading) (err error) {
	defer errs.Wrapf(&err, "sensing.Service.Evaluate(%d)", len(rs))
	rules, err := s.active(ctx)
	if err != nil {
		return err
	}
	byType := map[string][]*Rule{}
	steps := map[string]time.Duration{}
	for _, r := range rules {
		byType[r.DeviceType] = append(byType[r.DeviceType], r)
		if r.Kind == KindAbsence || r.Kind == KindLowUse {
			steps[silenceKind(r.ID)] = touchStep(time.Duration(r.Seconds) * time.Second)
		}
	}
	touches := map[string][]string{}
	for i := range rs {
		rd := &rs[i]
		if rd.Source == nil {
			continue
		}
		if st := rd.Text["state"]; rd.Source.SpaceID != 0 && (st == "occupied" || st == "vacant") {
			if err := s.parking(ctx, tx, rd.Source, st == "occupied", rd.TS); err != nil {
				return err
			}
		}
		for _, r := range byType[rd.Source.Type] {
			if err := s.apply(ctx, tx, r, rd, touches); err != nil {
				return err
			}
		}
	}
	for kind, keys := range touches {
		if err := s.seen.TouchRounded(ctx, tx, kind, keys, tx.Now(), steps[kind]); err != nil {
			return err
		}
	}
	return nil
}

// touchStep is the rounding of the touches of a silence of length after
// (timer.TouchRounded): a sixtieth of it, from a second to a minute. The
// silence fires up to that much after its exact time (a minute late at
// most for "no data for 12 hours"), and a key's touches within one step
// cost one statement (timer.Seen).
func touchStep(after time.Duration) time.Duration {
	return min(max(after/60, time.Second), time.Minute)
}

// apply runs one rule on one reading.
func (s *Service) apply(ctx context.Context, tx *db.Tx, r *Rule, rd *Reading, touches map[string][]string) error {
	k := key(r, rd.Source)
	switch r.Kind {
	case KindThreshold:
		if s.prgs.holds(r, rd) {
			return s.fire(ctx, tx, r, k, rd.Source, s.firstValue(r, rd.Values), "")
		}
	case KindRepeat:
		st, err := loadState(ctx, tx, r.ID, k)
		if err != nil {
			return err
		}
		if !s.prgs.holds(r, rd) {
			if st.n == 0 {
				return nil
			}
			st.n = 0
			return st.save(ctx, tx)
		}
		st.n++
		if st.n >= r.Count {
			st.n = 0
			if err := s.fire(ctx, tx, r, k, rd.Source, s.firstValue(r, rd.Values), ""); err != nil {
				return err
			}
		}
		return st.save(ctx, tx)
	case KindDuration:
		on := s.prgs.holds(r, rd)
		st, err := loadState(ctx, tx, r.ID, k)
		if err != nil {
			return err
		}
		tk := timer.Key{Kind: durationTimer, Subject: stateKey(r, k), Name: "on"}
		switch {
		case on && st.mark == "":
			st.mark = rd.TS.UTC().Format(time.RFC3339Nano)
			p, _ := json.Marshal(rd.Source)
			if err := timer.Arm(ctx, tx, tk, rd.TS.Add(time.Duration(r.Seconds)*time.Second), p); err != nil {
				return err
			}
			return st.save(ctx, tx)
		case !on && st.mark != "":
			st.mark = ""
			if err := timer.Cancel(ctx, tx, tk); err != nil {
				return err
			}
			return st.save(ctx, tx)
		}
	case KindAbsence:
		kind := silenceKind(r.ID)
		touches[kind] = append(touches[kind], stateKey(r, k)+"|"+sourceRef(rd.Source))
	case KindLowUse:
		v, ok := rd.Values[r.Field]
		if !ok {
			return nil
		}
		st, err := loadState(ctx, tx, r.ID, k)
		if err != nil {
			return err
		}
		st.acc += v
		// The window restarts whenever use reaches the limit (and at the
		// key's first reading): a silence is then "less than the limit
		// since the window started, for Seconds".
		if st.fresh || st.acc >= r.Limit {
			st.acc = 0
			kind := silenceKind(r.ID)
			touches[kind] = append(touches[kind], stateKey(r, k)+"|"+sourceRef(rd.Source))
		}
		return st.save(ctx, tx)
	case KindHighUse:
		v, ok := rd.Values[r.Field]
		if !ok {
			return nil
		}
		st, err := loadState(ctx, tx, r.ID, k)
		if err != nil {
			return err
		}
		day := rd.TS.In(s.d.Location).Format(time.DateOnly)
		if st.mark != day {
			st.mark, st.acc, st.n = day, 0, 0
		}
		st.acc += v
		if st.acc > r.Limit && st.n == 0 {
			st.n = 1
			if err := s.fire(ctx, tx, r, k, rd.Source, st.acc, ""); err != nil {
				return err
			}
		}
		return st.save(ctx, tx)
	case KindBaseline:
		v, ok := rd.Values[r.Field]
		if !ok {
			return nil
		}
		hk := k + "#h" + strconv.Itoa(rd.TS.In(s.d.Location).Hour())
		st, err := loadState(ctx, tx, r.ID, hk)
		if err != nil {
			return err
		}
		if st.n >= baselineSamples && v < r.Limit*st.acc {
			if err := s.fire(ctx, tx, r, k, rd.Source, v, ""); err != nil {
				return err
			}
		}
		st.acc = learnMedian(st.acc, st.n, v)
		st.n++
		return st.save(ctx, tx)
	}
	return nil
}

// baselineSamples is how many readings of an hour a key needs before its
// learned median is trusted.
const baselineSamples = 7

// learnMedian moves a streaming median estimate m (of n samples) toward
// v: by a twentieth of m per sample, the frugal estimator, which needs
// one number per key and hour instead of the samples.
func learnMedian(m float64, n int, v float64) float64 {
	if n == 0 {
		return v
	}
	step := math.Max(math.Abs(m)/20, 1e-9)
	switch {
	case v > m:
		return math.Min(m+step, v)
	case v < m:
		return math.Max(m-step, v)
	}
	return m
}

// firstValue is the value an alarm shows: the rule's field, or the
// first field the condition names.
func (s *Service) firstValue(r *Rule, vals map[string]float64) float64 {
	if v, ok := vals[r.Field]; ok {
		return v
	}
	for _, f := range s.prgs.ft.names(r.DeviceType) {
		if strings.Contains(r.Expr, f) {
			if v, ok := vals[f]; ok {
				return v
			}
		}
	}
	return 0
}

// sourceRef carries the source's device id on a sweep key, so that a
// silence knows whose alarm it raises.
func sourceRef(src *Source) string { return strconv.FormatInt(src.Device, 10) }

// state is one key's counters of a rule.
type state struct {
	rule  int64
	key   string
	n     int
	acc   float64
	mark  string
	fresh bool
}

func loadState(ctx context.Context, tx *db.Tx, rule int64, k string) (*state, error) {
	st := &state{rule: rule, key: k}
	err := tx.QueryRow(ctx, `SELECT n, acc, mark FROM sensing_state WHERE rule_id = $1 AND key = $2`, rule, k).Scan(&st.n, &st.acc, &st.mark)
	if errors.Is(err, sql.ErrNoRows) {
		st.fresh = true
		return st, nil
	}
	return st, db.Translate(err)
}

func (st *state) save(ctx context.Context, tx *db.Tx) error {
	_, err := tx.Exec(ctx, `INSERT INTO sensing_state (rule_id, key, n, acc, mark) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (rule_id, key) DO UPDATE SET n = excluded.n, acc = excluded.acc, mark = excluded.mark`, st.rule, st.key, st.n, st.acc, st.mark)
	return db.Translate(err)
}

// registerSilences gives the runner the silence of each absence and
// low-use rule (called with s.mu held).
func (s *Service) registerSilences(rs []*Rule) {
	if s.runner == nil {
		return
	}
	for _, r := range rs {
		if r.Kind != KindAbsence && r.Kind != KindLowUse {
			continue
		}
		kind := silenceKind(r.ID)
		after := time.Duration(r.Seconds) * time.Second
		if s.silence[kind] == after {
			continue
		}
		s.silence[kind] = after
		s.runner.HandleSilence(kind, after, s.silent)
	}
}

// RegisterTimers gives r the handlers of this package's timers (the
// duration rules, the alarm ladder, the parking ladder) and, from now on,
// the silences of the absence and low-use rules.
func (s *Service) RegisterTimers(r *timer.Runner) {
	r.Handle(durationTimer, s.durationDue)
	r.Handle(ladderTimer, s.ladderDue)
	r.Handle(parkingTimer, s.parkingDue)
	s.mu.Lock()
	s.runner = r
	s.stale = true
	s.mu.Unlock()
}

// durationDue fires a duration rule whose condition has held for its
// seconds.
func (s *Service) durationDue(ctx context.Context, tx *db.Tx, t timer.Timer) error {
	r, k, ok := s.ruleOf(ctx, tx, t.Subject)
	if !ok {
		return nil
	}
	var src Source
	if err := json.Unmarshal(t.Payload, &src); err != nil {
		return nil // a malformed payload never heals
	}
	st, err := loadState(ctx, tx, r.ID, k)
	if err != nil {
		return err
	}
	if st.mark == "" {
		return nil
	}
	return s.fire(ctx, tx, r, k, &src, float64(r.Seconds), "")
}

// silent fires an absence or low-use rule whose key fell silent.
func (s *Service) silent(ctx context.Context, tx *db.Tx, t timer.Timer) error {
	i := strings.LastIndexByte(t.Subject, '|')
	if i < 0 {
		return nil
	}
	r, k, ok := s.ruleOf(ctx, tx, t.Subject[:i])
	if !ok || !r.Enabled {
		return nil
	}
	dev, err := strconv.ParseInt(t.Subject[i+1:], 10, 64)
	if err != nil {
		return nil
	}
	src, err := s.sourceOf(ctx, tx, dev)
	if err != nil || src == nil {
		return err
	}
	if err := s.fire(ctx, tx, r, k, src, float64(r.Seconds), ""); err != nil {
		return err
	}
	due := t.Due
	tx.AfterCommit(func() { s.late.add(s.d.DB.Now().Sub(due)) })
	return nil
}

// lateness keeps how late the silences fired: from the moment a key had
// been silent for the rule's time to the commit of its firing.
type lateness struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *lateness) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ds) < 1_000_000 {
		l.ds = append(l.ds, d)
	}
}

// SilenceStats are how late the absence and low-use rules fired in this
// process: how many fired, and the median, 99th percentile and largest
// delay between "silent for the rule's time" and the committed alarm.
type SilenceStats struct {
	Fired         int
	P50, P99, Max time.Duration
}

// SilenceStats reports the silences fired since the process started.
func (s *Service) SilenceStats() SilenceStats {
	s.late.mu.Lock()
	ds := slices.Clone(s.late.ds)
	s.late.mu.Unlock()
	if len(ds) == 0 {
		return SilenceStats{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return SilenceStats{Fired: len(ds), P50: at(0.5), P99: at(0.99), Max: ds[len(ds)-1]}
}

// ruleOf reads the rule and key of a state key "rule|key".
func (s *Service) ruleOf(ctx context.Context, tx *db.Tx, sk string) (*Rule, string, bool) {
	id, k, ok := strings.Cut(sk, "|")
	if !ok {
		return nil, "", false
	}
	rid, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, "", false
	}
	r, err := scanRule(tx.QueryRow(ctx, `SELECT `+ruleCols+` FROM sensing_rules WHERE id = $1`, rid))
	if err != nil {
		return nil, "", false
	}
	return r, k, true
}

// sourceOf finds a device's Source for a silence: the device package's
// resolver when wired, else the last alarm or firing of the device.
func (s *Service) sourceOf(ctx context.Context, tx *db.Tx, dev int64) (*Source, error) {
	if s.d.Resolve != nil {
		return s.d.Resolve(ctx, tx, dev)
	}
	return &Source{Device: dev, RegionPath: "/"}, nil
}
