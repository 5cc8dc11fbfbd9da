package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	err = tx.QueryRow(ctx, `SELECT status, sla_state, supervised FROM rollup_open_cases WHERE case_id = $1`, id).Scan(&m.status, &m.sla, &m.supervised)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	return m, err == nil, db.Translate(err)
}

// remember records what case id is counted with now: its memory while it
// is open, nothing once it has finished.
func remember(ctx context.Context, tx *db.Tx, id int64, f *facts, had bool, old memory) error {
	if !isOpen(f.status) {
		if !had {
			return nil
		}
		return tx.Queue(ctx, `DELETE FROM rollup_open_cases WHERE case_id = $1`, id)
	}
	m := memoryOf(f)
	if had && m == old {
		return nil
	}
	// Queued (db.Tx.Queue): a new case's statements need no answer.
	return tx.Queue(ctx, `INSERT INTO rollup_open_cases (case_id, status, sla_state, supervised) VALUES ($1, $2, $3, $4)
		ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, sla_state = excluded.sla_state, supervised = excluded.supervised`,
		id, m.status, m.sla, b2i(m.supervised))
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
// it moves the case's counts from what it contributed before to what it
// contributes now.
func (s *Store) CaseChanged(ctx context.Context, tx *db.Tx, ch casework.Change) (err error) {
	defer errs.Wrapf(&err, "stats.Store.CaseChanged")
	if ch.After == nil {
		return nil
	}
	id := ch.After.ID
	defer errs.Wrapf(&err, "stats.CaseChanged(%d, %s)", id, ch.Action)
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
	d := newCounts()
	d.add(&now, +1, partAll)
	var mem memory
	var had bool
	if ch.Before != nil {
		before := s.caseFacts(ch.Before, &now)
		d.add(&before, -1, partFlow|partStatus|partSource)
		if mem, had, err = loadMemory(ctx, tx, id); err != nil {
			return err
		}
		if had {
			d.addState(before.path, before.category, mem, -1)
		} else {
			d.add(&before, -1, partState)
		}
	}
	applyLater(tx, d)
	return remember(ctx, tx, id, &now, had, mem)
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
