package stats

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
)

// Deps are the Store's collaborators.
type Deps struct {
	DB      *db.DB
	Regions *region.Store
	// Categories names the categories in answers; optional.
	Categories *category.Store
	// Calendar returns the working calendar for handling times, the same
	// one the SLA engine uses (pass (*sla.Engine).Calendar); nil counts
	// natural hours.
	Calendar func() *calendar.Calendar
	// Indicators is the registry the Store registers its Sources and the
	// case indicators in (CaseIndicators); nil gives the Store its own.
	Indicators *indicator.Registry
	// Accounts names the departments, the subjects of kind department;
	// optional (without it departments have no data).
	Accounts *account.Store
}

// Store maintains the rollups and answers queries on them. It is the case
// service's casework.Rollups (casework.Deps.Rollups or UseRollups), which
// casework calls after the deadline computation, and safe for concurrent
// use.
type Store struct {
	db       *db.DB
	regions  *region.Store
	cats     *category.Store
	calendar func() *calendar.Calendar
	loc      *time.Location
	reg      *indicator.Registry
	accounts *account.Store

	tree     atomic.Pointer[tree]
	treeMu   sync.Mutex
	catNames atomic.Pointer[catCache]
}

// New returns a Store.
func New(d Deps) (*Store, error) {
	if d.DB == nil || d.Regions == nil {
		return nil, fmt.Errorf("stats.New: DB and Regions are required")
	}
	loc, err := time.LoadLocation(calendar.Zone)
	if err != nil {
		return nil, err
	}
	s := &Store{db: d.DB, regions: d.Regions, cats: d.Categories, calendar: d.Calendar, loc: loc, reg: d.Indicators, accounts: d.Accounts}
	if s.reg == nil {
		s.reg = indicator.New()
	}
	if err := s.registerIndicators(s.reg); err != nil {
		return nil, fmt.Errorf("stats.New: %w", err)
	}
	return s, nil
}

// memory is what an open case is counted with in rollup_state.
type memory struct {
	status, sla string
	supervised  bool
}

func memoryOf(f *facts) memory { return memory{f.status, f.sla, f.supervised} }

// loadRow reads one case's row inside tx.
func loadRow(ctx context.Context, tx *db.Tx, id int64) (row, error) {
	r, err := scanRow(tx.QueryRow(ctx, `SELECT `+rowCols()+` FROM cases c WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errs.E(errs.NotFound, "case.not_found")
	}
	return r, db.Translate(err)
}

// loadMemory reads what an open case is counted with; ok is false when
// the store holds nothing for it.
func loadMemory(ctx context.Context, tx *db.Tx, id int64) (m memory, ok bool, err error) {
	ms, err := loadMemories(ctx, tx, []int64{id})
	m, ok = ms[id]
	return m, ok, err
}

// loadMemories reads what the open cases ids are counted with, in one
// query; a case the store holds nothing for is absent.
func loadMemories(ctx context.Context, tx *db.Tx, ids []int64) (map[int64]memory, error) {
	out := map[int64]memory{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := db.InList(tx.Dialect(), 0, ids)
	rows, err := tx.Query(ctx, `SELECT case_id, status, sla_state, supervised FROM rollup_open_cases WHERE case_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var m memory
		if err := rows.Scan(&id, &m.status, &m.sla, &m.supervised); err != nil {
			return nil, db.Translate(err)
		}
		out[id] = m
	}
	return out, db.Translate(rows.Err())
}

// remembered is what a case is to be remembered with (remember).
type remembered struct {
	id  int64
	now *facts
	had bool
	old memory
}

// remember records what case id is counted with now: its memory while it
// is open, nothing once it has finished.
func remember(ctx context.Context, tx *db.Tx, id int64, f *facts, had bool, old memory) error {
	return rememberAll(ctx, tx, []remembered{{id: id, now: f, had: had, old: old}})
}

// rememberAll records what cases (each once) are counted with now, as
// remember does for one: one DELETE for those that finished, one upsert
// for those whose memory changed, in case id order.
func rememberAll(ctx context.Context, tx *db.Tx, rs []remembered) error {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b remembered) int { return cmp.Compare(a.id, b.id) })
	var gone []int64
	var args []any
	for _, r := range rs {
		if !isOpen(r.now.status) {
			if r.had {
				gone = append(gone, r.id)
			}
			continue
		}
		m := memoryOf(r.now)
		if r.had && m == r.old {
			continue
		}
		args = append(args, r.id, m.status, m.sla, b2i(m.supervised))
	}
	if len(gone) > 0 {
		in, ids := db.InList(tx.Dialect(), 0, gone)
		if err := tx.Queue(ctx, `DELETE FROM rollup_open_cases WHERE case_id IN (`+in+`)`, ids...); err != nil {
			return err
		}
	}
	if len(args) == 0 {
		return nil
	}
	// Queued (db.Tx.Queue): nothing in the change needs its answer.
	return tx.Queue(ctx, `INSERT INTO rollup_open_cases (case_id, status, sla_state, supervised) VALUES `+db.Placeholders(tx.Dialect(), len(args)/4, 4)+`
		ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, sla_state = excluded.sla_state, supervised = excluded.supervised`, args...)
}

// rowOf is a case's row as casework wrote it (with the deadline and SLA
// state the deadline computation returned). Its lateness is left false: it
// is read from the stages for closed cases only.
func rowOf(c *casework.Case) row {
	return row{id: c.ID, path: c.RegionPath, category: c.CategoryCode, source: c.Source, status: string(c.Status), sla: c.SLAState,
		supervised: c.Supervised, created: c.CreatedAt, closed: c.ClosedAt, rating: c.Rating, revisit: c.RevisitResult,
		dept: c.DepartmentID, rework: c.Rework, returns: c.Returns}
}

// caseFacts derives the contribution of a case as casework saw it before
// a change; its lateness, handling time and first stage, which do not
// change once a case is closed, come from now (the same case after the
// change).
func (s *Store) caseFacts(c *casework.Case, now *facts) facts {
	f := s.factsOf(rowOf(c))
	if f.closedDay != "" && now.closedDay != "" {
		f.onTime, f.handled, f.handlingS = now.onTime, now.handled, now.handlingS
		f.firstDue, f.firstMet = now.firstDue, now.firstMet
	}
	return f
}

// CaseChanged implements casework.Rollups: inside the change's transaction
// it moves the case's counts from what it was to what it is now. It is
// CasesChanged with one change.
func (s *Store) CaseChanged(ctx context.Context, tx *db.Tx, ch casework.Change) (err error) {
	defer errs.Wrapf(&err, "stats.CaseChanged(%s)", ch.Action)
	if ch.After == nil {
		return nil
	}
	return s.CasesChanged(ctx, tx, []casework.Change{ch})
}

// CasesChanged implements casework.RollupsBatch: CaseChanged for a group
// of changes, in their order (a case may change more than once), with what
// the cases were counted with read in one query, the counts added up and
// applied once (at the end of the transaction, as always), and what the
// cases are now counted with written in one statement or two.
func (s *Store) CasesChanged(ctx context.Context, tx *db.Tx, chs []casework.Change) (err error) {
	defer errs.Wrapf(&err, "stats.Store.CasesChanged(%d)", len(chs))
	var ids []int64
	for _, ch := range chs {
		if ch.After != nil && ch.Before != nil {
			ids = append(ids, ch.After.ID)
		}
	}
	stored, err := loadMemories(ctx, tx, ids)
	if err != nil {
		return err
	}
	type counted struct {
		mem memory
		had bool
	}
	cur := map[int64]counted{} // what each case is counted with, as the changes go
	last := map[int64]int{}    // each case's entry in rs
	var rs []remembered
	d := newCounts()
	for _, ch := range chs {
		if ch.After == nil {
			continue
		}
		id := ch.After.ID
		var r row
		if ch.After.Status != "closed" {
			// ch.After is the case as casework wrote it, SLA state included:
			// its row, without a read. Only a closed case's lateness is read
			// from its stages.
			r = rowOf(ch.After)
		} else if r, err = loadRow(ctx, tx, id); err != nil {
			return err
		}
		now := s.factsOf(r)
		d.add(&now, +1, partAll)
		was, seen := cur[id]
		if !seen && ch.Before != nil {
			was.mem, was.had = stored[id]
		}
		if ch.Before != nil {
			before := s.caseFacts(ch.Before, &now)
			d.add(&before, -1, partFlow|partStatus|partSource)
			if was.had {
				d.addState(before.path, before.category, was.mem, -1)
			} else {
				d.add(&before, -1, partState)
			}
		}
		if i, ok := last[id]; ok {
			rs[i].now = &now
		} else {
			last[id] = len(rs)
			rs = append(rs, remembered{id: id, now: &now, had: was.had, old: was.mem})
		}
		cur[id] = counted{memoryOf(&now), isOpen(now.status)}
	}
	applyLater(tx, d)
	return rememberAll(ctx, tx, rs)
}

// Sync brings one case's counts in rollup_state up to date with its row
// inside tx: a repair for a row changed outside casework's change path
// (every change through it is counted by CaseChanged). It moves the count
// from what the case is remembered with to what its row says, so it is
// idempotent.
func (s *Store) Sync(ctx context.Context, tx *db.Tx, caseID int64) (err error) {
	defer errs.Wrapf(&err, "stats.Sync(%d)", caseID)
	r, err := loadRow(ctx, tx, caseID)
	if err != nil {
		return err
	}
	now := s.factsOf(r)
	mem, had, err := loadMemory(ctx, tx, caseID)
	if err != nil {
		return err
	}
	if !had {
		// Counted before the store remembered it (an installation from
		// before the rollups, until `whistle rollup rebuild`): take the row
		// as what it is counted with.
		return remember(ctx, tx, caseID, &now, false, memory{})
	}
	d := newCounts()
	d.addState(now.path, now.category, mem, -1)
	d.add(&now, +1, partState)
	applyLater(tx, d)
	return remember(ctx, tx, caseID, &now, true, mem)
}
