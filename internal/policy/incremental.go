package policy

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/registry"
)

// ConsumerName keys the eligibility re-check's cursor on the change feed.
const ConsumerName = "eligibility"

// feedFields maps the registry's changed columns (the feed's field names)
// to the policy fields they change, per subject kind. A fact is named by
// its own key. A column missing here changes no policy field.
var feedFields = map[string]map[string][]string{
	KindPerson: {
		"birth_date":   {"age"},
		"sex":          {"sex"},
		"status":       {"status"},
		"groups":       {"groups"},
		"household_id": {"household_size"},
	},
	KindOrganisation: {
		"kind":     {"org_kind"},
		"industry": {"industry"},
		"size":     {"size"},
	},
}

// index is the field → policy index over the last run's compiled
// policies: which positions of a packed result read a field.
type index struct {
	run   int64
	date  time.Time
	comp  []*compiled // by position of the run's header
	by    map[string][]int
	width int
	// memos, by position, keep each condition's value per tuple of the
	// values it reads, as the batch's memo does: a re-check's answers
	// are mostly tuples seen before, and CEL is most of its CPU. A
	// condition reads one or two fields, so its tuples repeat far more
	// often than those of the whole policy.
	memos []outcomeMemo
}

// outcomeMemo is one policy's memo: per condition, its value (1 pass,
// 2 fail, 3 unknown) by the key of the values it reads (memoKey), and
// the policy's letter per combination of the conditions' values; the
// feed's runner and a day's re-check may use it at once.
type outcomeMemo struct {
	mu    sync.Mutex
	conds []map[string]byte
	combo map[int]byte
}

// maxMemo bounds a condition's memo: past it, new tuples are evaluated
// without being kept (distinct incomes and the like).
const maxMemo = 1 << 14

// letter is the policy at position p's letter for the facts, each
// condition's value from the memo when its tuple was seen.
func (ix *index) letter(p int, f facts) byte {
	c := ix.comp[p]
	m := &ix.memos[p]
	var buf [64]byte
	combo := 0
	vals := make([]string, len(c.conds))
	for ci := range c.conds {
		cc := &c.conds[ci]
		key, ok := memoKey(buf[:0], cc.reads, f.known)
		var v byte
		if ok {
			m.mu.Lock()
			if m.conds != nil {
				v = m.conds[ci][string(key)]
			}
			m.mu.Unlock()
		}
		if v == 0 {
			v = condCode(threeValued(evalCEL(cc.prg, cc.reads, f.known)))
			if ok {
				m.mu.Lock()
				if m.conds == nil {
					m.conds = make([]map[string]byte, len(c.conds))
					for i := range m.conds {
						m.conds[i] = map[string]byte{}
					}
				}
				if len(m.conds[ci]) < maxMemo {
					m.conds[ci][string(key)] = v
				}
				m.mu.Unlock()
			}
		}
		vals[ci] = [3]string{Pass, Fail, Unknown}[v-1]
		combo = combo*3 + int(v-1)
	}
	// The combinations are kept for up to maxConds conditions (3^12
	// fits an int); more are combined each time.
	keep := len(c.conds) <= maxConds
	if keep {
		m.mu.Lock()
		b, hit := m.combo[combo]
		m.mu.Unlock()
		if hit {
			return b
		}
	}
	var b byte
	switch c.combine(c.v.Rule, vals, true) {
	case Pass:
		b = letterEligible
	case Fail:
		b = letterNot
	default:
		b = letterMay
	}
	if !keep {
		return b
	}
	m.mu.Lock()
	if m.combo == nil {
		m.combo = map[int]byte{}
	}
	m.combo[combo] = b
	m.mu.Unlock()
	return b
}

// memoKey appends to k the known (coerced) values of the fields, in
// order, with their types, an absent field as such; ok is false for a
// value it cannot encode.
func memoKey(k []byte, fields []string, known map[string]any) (_ []byte, ok bool) {
	for _, f := range fields {
		v, has := known[f]
		if !has {
			k = append(k, 0)
			continue
		}
		switch x := v.(type) {
		case int64:
			k = strconv.AppendInt(append(k, 'i'), x, 10)
		case float64:
			k = strconv.AppendFloat(append(k, 'd'), x, 'g', -1, 64)
		case bool:
			k = strconv.AppendBool(append(k, 'b'), x)
		case string:
			k = strconv.AppendQuote(append(k, 's'), x)
		case []string:
			k = append(k, 'l')
			for _, e := range x {
				k = strconv.AppendQuote(k, e)
			}
		default:
			return nil, false
		}
		k = append(k, 1)
	}
	return k, true
}

// indexFor returns the index of the last run on date, built once per run
// and date, and the engine's copy of the stored rows if it is exact (nil
// when it could not be had). Before the first run the index is nil:
// nothing is stored to keep up.
func (e *Engine) indexFor(ctx context.Context, date time.Time) (*index, *storedCache, error) {
	run, gen, err := e.state(ctx)
	if err != nil || run == 0 {
		return nil, nil, err
	}
	ix, err := e.indexOf(ctx, run, date)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.rowsAt(ctx, run, gen)
	return ix, c, err
}

// indexOf returns the field → policy index of run on date.
func (e *Engine) indexOf(ctx context.Context, run int64, date time.Time) (*index, error) {
	e.mu.RLock()
	ix := e.index
	e.mu.RUnlock()
	if ix != nil && ix.run == run && ix.date.Equal(date) {
		return ix, nil
	}
	var raw string
	if err := e.db.QueryRow(db.OnWriter(ctx), `SELECT policies FROM elig_runs WHERE id = $1`, run).Scan(&raw); err != nil {
		return nil, db.Translate(err)
	}
	var h runHeader
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return nil, err
	}
	ps, err := e.load(ctx, "", "")
	if err != nil {
		return nil, err
	}
	byKey := map[string]Policy{}
	for _, p := range ps {
		byKey[p.Key] = p
	}
	ix = &index{run: run, date: date, comp: make([]*compiled, len(h.Keys)), by: map[string][]int{}, width: len(h.Keys),
		memos: make([]outcomeMemo, len(h.Keys))}
	for i, k := range h.Keys {
		p, ok := byKey[k]
		if !ok {
			continue
		}
		for _, v := range p.Versions {
			if v.Version != h.Versions[i] {
				continue
			}
			c, err := e.compiledOf(p, v)
			if err != nil {
				return nil, err
			}
			ix.comp[i] = c
			for _, f := range c.reads {
				ix.by[f] = append(ix.by[f], i)
			}
		}
	}
	e.mu.Lock()
	e.index = ix
	e.mu.Unlock()
	return ix, nil
}

// subjectKey is a subject whose stored results a change concerns.
type subjectKey struct {
	kind string
	id   int64
}

// affected is what a batch of changes asks to re-check: per subject, the
// policy fields changed. Every subject's row is rewritten when its region
// changed (a move to another grid), whatever the fields.
type affected struct {
	fields map[subjectKey]map[string]bool
	order  []subjectKey
}

func (a *affected) add(s subjectKey, fields ...string) {
	m := a.fields[s]
	if m == nil {
		m = map[string]bool{}
		a.fields[s] = m
		a.order = append(a.order, s)
	}
	for _, f := range fields {
		m[f] = true
	}
}

// Recheck keeps the stored results up to date with registry changes from
// the feed: for each changed subject it re-evaluates only the policies
// whose conditions or amount read a changed field (the field → policy
// index), and writes the row when a result changed. A change of a
// person's household re-checks the household size of the members of the
// households left and joined. It is idempotent, so at-least-once delivery
// does no harm. Before the first batch run there is nothing to keep up.
// Its writes commit durably; the feed's consumer (Consumer) commits them
// with its cursor instead, unsynced (Derive).
func (e *Engine) Recheck(ctx context.Context, evs []feed.Event) (err error) {
	defer errs.Wrapf(&err, "policy.Engine.Recheck")
	write, err := e.derive(ctx, evs, false)
	if err != nil || write == nil {
		return err
	}
	return e.db.InTx(ctx, func(tx *db.Tx) error { return write(ctx, tx) })
}

// Derive is Recheck without its transaction: it re-evaluates, pays what
// a 免申即享 policy now owes (durably, once per period whoever runs it),
// and returns the writes of the changed results, or nil if none changed,
// for the caller to run in a transaction of its own — the feed's runner
// runs them with its cursor (feed.Consumer.Derive).
//
// On PostgreSQL it trusts the engine's copy of the stored rows without
// reading elig_gen's counter (a round trip), and returns writes even when
// no result changed: they check the counter with the commit (guardedGen),
// which fails with a Conflict if another writer (a batch run, another
// replica) moved it since, so that nothing decided on a stale copy or a
// stale run's index is stored, nor its cursor moved.
func (e *Engine) Derive(ctx context.Context, evs []feed.Event) (_ func(context.Context, *db.Tx) error, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Derive(%d)", len(evs))
	return e.derive(ctx, evs, e.db.Dialect() == db.Postgres)
}

// derive is Derive, trusting the copy when trust is set (guard).
func (e *Engine) derive(ctx context.Context, evs []feed.Event, trust bool) (_ func(context.Context, *db.Tx) error, err error) {
	date := chinaDate(e.db.Now())
	guard := int64(-1) // the counter the commit must find, when the copy is trusted
	var ix *index
	var c *storedCache
	if run, gen, ok := e.stored.trusted(); trust && ok {
		if ix, err = e.indexOf(ctx, run, date); err != nil {
			return nil, err
		}
		c, guard = &e.stored, gen
	} else if ix, c, err = e.indexFor(ctx, date); err != nil || ix == nil {
		return nil, err
	}
	a := &affected{fields: map[subjectKey]map[string]bool{}}
	for _, ev := range evs {
		kind := ev.SubjectKind
		if kind != KindPerson && kind != KindOrganisation {
			continue
		}
		e.stats.Changes.Add(1)
		var fc registry.FieldsChanged
		if err := json.Unmarshal(ev.Payload, &fc); err != nil {
			continue // not a registry change
		}
		s := subjectKey{kind, ev.SubjectID}
		a.add(s)
		for _, f := range fc.Fields {
			switch {
			case feedFields[kind][f] != nil:
				a.add(s, feedFields[kind][f]...)
			default:
				a.add(s, f) // a fact's key; unknown keys match no policy
			}
		}
		if fc.Private != nil {
			for _, h := range fc.Private.Households {
				ids, err := e.registry.HouseholdMembers(db.OnWriter(ctx), h)
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					a.add(subjectKey{KindPerson, id}, "household_size")
				}
			}
		}
	}
	var w rewrites
	for _, s := range a.order {
		if err := e.recheckOne(ctx, ix, c, date, s, a.fields[s], &w); err != nil {
			return nil, err
		}
	}
	return e.settle(ctx, ix, &w, guard)
}

// RecheckDate re-checks the policies reading age for the people whose
// birthday is date: the daily timer's task, since no feed event says that
// someone turned 60.
func (e *Engine) RecheckDate(ctx context.Context, date time.Time) (n int, err error) {
	defer errs.Wrapf(&err, "policy.Engine.RecheckDate(%s)", date.Format(time.DateOnly))
	ix, c, err := e.indexFor(ctx, date)
	if err != nil || ix == nil {
		return 0, err
	}
	ids, err := e.registry.BornOn(ctx, date)
	if err != nil {
		return 0, err
	}
	var w rewrites
	for _, id := range ids {
		if err := e.recheckOne(ctx, ix, c, date, subjectKey{KindPerson, id}, map[string]bool{"age": true}, &w); err != nil {
			return n, err
		}
	}
	// No cursor remembers a day's re-check: its writes commit durably.
	write, err := e.settle(ctx, ix, &w, -1)
	if err != nil || write == nil {
		return len(ids), err
	}
	return len(ids), e.db.InTx(ctx, func(tx *db.Tx) error { return write(ctx, tx) })
}

// Consumer is the change feed's consumer that re-checks (Derive): the
// results are derived from the registry, so they commit with the
// consumer's cursor without waiting for the flush, and a crash that
// loses them hands their events over again.
func (e *Engine) Consumer() feed.Consumer {
	return feed.Consumer{Name: ConsumerName, Derive: e.Derive}
}

// rewrites are what a batch of re-checks writes: the rows whose results
// changed, the rows of subjects gone, and the subjects a 免申即享 policy
// may now pay. They are written in one transaction (one commit, one
// fsync, for a batch of changes), then paid.
type rewrites struct {
	rows []storedRow
	gone []subjectKey
	pay  []subjectKey
}

type storedRow struct {
	s      subjectKey
	path   string
	packed string
}

// recheckOne re-evaluates the positions of a subject's stored row that
// read the fields, or every position when it has no row yet, and adds
// what is to be written to w. The stored row comes from the engine's
// copy c when it has one, else from the table.
func (e *Engine) recheckOne(ctx context.Context, ix *index, c *storedCache, date time.Time, s subjectKey, fields map[string]bool, w *rewrites) error {
	var old, oldPath string
	var had, known bool
	if c != nil {
		var v storedVal
		v, had, known = c.row(s)
		old, oldPath = v.packed, v.path
	}
	// The reads follow a write (the change): on SQLite the writer's
	// page cache has their pages, a reader's was emptied by the write.
	rctx := db.OnWriter(ctx)
	if !known {
		es, err := readBlock(rctx, e.db, s.kind, blockOf(s.id))
		if err != nil {
			return err
		}
		for _, en := range es {
			if en.id == s.id {
				old, oldPath, had = en.packed, en.path, true
			}
		}
	}
	factKind := s.kind
	if factKind == KindPerson {
		factKind = KindHousehold
	}
	packed := []byte(old)
	var positions []int
	if !had || len(packed) != ix.width {
		packed = make([]byte, ix.width)
		for p, c := range ix.comp {
			packed[p] = letterNone
			if c != nil && appliesTo(c, s.kind) {
				positions = append(positions, p)
			}
		}
	} else {
		seen := map[int]bool{}
		for f := range fields {
			for _, p := range ix.by[f] {
				if !seen[p] && appliesTo(ix.comp[p], s.kind) {
					seen[p] = true
					positions = append(positions, p)
				}
			}
		}
		sort.Ints(positions)
	}
	// A person's household size and groups are lookups of their own in
	// the fact set's query: left out when no condition re-evaluated
	// reads them (the letters depend on the conditions alone).
	var parts registry.FactSetParts
	if s.kind == KindPerson {
		parts = registry.FactSetParts{NoHouseholdSize: true, NoGroups: true}
		for _, p := range positions {
			for _, f := range ix.comp[p].condReads {
				switch f {
				case "household_size":
					parts.NoHouseholdSize = false
				case "groups":
					parts.NoGroups = false
				}
			}
		}
	}
	fs, err := e.registry.FactSetWithout(rctx, account.SystemScope(), factKind, s.id, date, parts)
	if errs.Is(err, errs.NotFound) {
		if had {
			w.gone = append(w.gone, s)
		}
		return nil
	}
	if err != nil {
		return err
	}
	pay := false
	// A policy's fields are its target's: the facts are coerced once a
	// target, not once a policy.
	var byTarget [2]struct {
		target string
		f      facts
	}
	for _, p := range positions {
		c := ix.comp[p]
		var f facts
		for i := range byTarget {
			if byTarget[i].target == c.v.Target {
				f = byTarget[i].f
				break
			}
			if byTarget[i].target == "" {
				f = newFacts(fs.Values, fs.Verified, c.fields)
				byTarget[i].target, byTarget[i].f = c.v.Target, f
				break
			}
		}
		if f.known == nil {
			f = newFacts(fs.Values, fs.Verified, c.fields)
		}
		packed[p] = ix.letter(p, f)
		// A fact a 免申即享 policy reads changed (its value, or that it is
		// now verified) and the policy is eligible: pay what is due.
		pay = pay || packed[p] == letterEligible && c.v.AutoPay
	}
	e.stats.Rechecks.Add(int64(len(positions)))
	// Nothing changed: nothing to write (and no commit to wait for).
	if !had || string(packed) != old || fs.RegionPath != oldPath {
		w.rows = append(w.rows, storedRow{s: s, path: fs.RegionPath, packed: string(packed)})
	}
	if pay {
		w.pay = append(w.pay, s)
	}
	return nil
}

// settle pays what the re-checks found due, then returns the writes of
// the rewrites (one transaction, one commit, for a batch of changes), or
// nil if there are none. Paying first keeps a failed payment retried
// with the batch: the results are not stored, so its events come again.
//
// guard, when not -1, is the counter at which the re-checks trusted the
// copy: the writes check it with the commit (guardedGen), and there are
// writes, the check alone, even when no result changed.
func (e *Engine) settle(ctx context.Context, ix *index, w *rewrites, guard int64) (func(context.Context, *db.Tx) error, error) {
	if len(w.pay) > 0 {
		e.mu.RLock()
		autoPay := e.autoPay
		e.mu.RUnlock()
		// The payout is written once per period whoever runs it
		// (benefit's constraint): a repeat of this event pays nothing
		// more.
		for _, s := range w.pay {
			if autoPay == nil {
				break
			}
			if err := autoPay(ctx, Subject{Kind: s.kind, ID: s.id}); err != nil {
				return nil, err
			}
		}
	}
	if len(w.rows) == 0 && len(w.gone) == 0 {
		if guard < 0 {
			return nil, nil
		}
		return func(ctx context.Context, tx *db.Tx) error {
			e.stored.confirm(false)
			tx.AfterCommit(func() { e.stored.confirm(true) })
			return guardedGen(ctx, tx, guard, false)
		}, nil
	}
	return func(ctx context.Context, tx *db.Tx) error {
		var gen int64
		if guard >= 0 {
			e.stored.confirm(false)
			tx.AfterCommit(func() { e.stored.confirm(true) })
			if err := guardedGen(ctx, tx, guard, true); err != nil {
				return err
			}
			gen = guard + 1
		} else {
			var err error
			if gen, err = bumpGen(ctx, tx); err != nil {
				return err
			}
		}
		// The counter holds every other writer of the blocks off until
		// this commit: the copy, if it was exact at the counter's last
		// value, is what the blocks hold, and saves reading them.
		known := func(kind string, block int64) ([]blockEntry, bool) { return e.stored.block(ix.run, gen-1, kind, block) }
		if err := rewriteBlocks(ctx, tx, w.rows, w.gone, known); err != nil {
			return err
		}
		tx.AfterCommit(func() {
			e.stats.Commits.Add(1)
			e.stored.wrote(ix.run, gen, w.rows, w.gone)
		})
		return nil
	}, nil
}

// RunDaily re-checks the birthdays of each new day in China (RecheckDate)
// until ctx ends: today's at once, then each day's as it begins. A day's
// error is logged and retried at the next look.
func (e *Engine) RunDaily(ctx context.Context, logger *slog.Logger, every time.Duration) {
	var done time.Time
	for {
		if today := chinaDate(e.db.Now()); !today.Equal(done) {
			if _, err := e.RecheckDate(ctx, today); err != nil {
				if ctx.Err() != nil {
					return
				}
				logger.Warn("eligibility: birthday re-check", "date", today.Format(time.DateOnly), "err", err)
			} else {
				done = today
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
