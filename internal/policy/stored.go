package policy

import (
	"context"
	"strings"
	"sync"

	"whistle/internal/db"
)

// storedCache is the engine's copy of elig_blocks, so that a re-check
// does not read the changed subject's stored row (a query a change).
// The table stays the truth: the copy is trusted only while elig_gen's
// counter, which every transaction writing elig_blocks or elig_runs
// moves on first (bumpGen), is where the copy was loaded or where this
// engine's own last write left it. A write of another Engine or process
// moves the counter past that, and the next re-check loads the table
// again. See docs/DECISIONS.md, "The re-check keeps the stored rows".
type storedCache struct {
	mu sync.Mutex
	// run and gen are the last run and elig_gen's counter at which rows
	// equal the table; ok is false when there is no copy.
	run, gen int64
	ok       bool
	// unconfirmed is set while a commit that trusted the copy without
	// reading the counter (guardedGen) has not been seen to succeed.
	unconfirmed bool
	rows        map[subjectKey]storedVal
	// paths interns region paths: a few thousand grids for a million
	// subjects.
	paths map[string]string
}

// storedVal is a subject's stored row.
type storedVal struct {
	packed, path string
}

// state reads the last run's id (0 before the first) and elig_gen's
// counter in one statement, so that the two are of one moment.
func (e *Engine) state(ctx context.Context) (run, gen int64, err error) {
	err = e.db.QueryRow(db.OnWriter(ctx), `SELECT COALESCE((SELECT MAX(id) FROM elig_runs), 0), gen FROM elig_gen WHERE id = 1`).Scan(&run, &gen)
	return run, gen, db.Translate(err)
}

// bumpGen moves elig_gen's counter on in tx and returns its new value.
// Every transaction that writes elig_blocks or elig_runs calls it
// first: on PostgreSQL it then holds the counter's row lock to its
// commit, so such transactions commit one after the other and the value
// returned is exactly one more than the last committed one.
// guardedGen is bumpGen (bump) or only a check of the counter, for a
// commit that trusted the copy at counter expect without reading it
// (PostgreSQL): queued with the commit, it refuses the transaction with a
// Conflict when another writer moved the counter since.
func guardedGen(ctx context.Context, tx *db.Tx, expect int64, bump bool) error {
	return tx.Queue(ctx, `SELECT elig_gen_check($1, $2)`, expect, bump)
}

// bumpOwnGen is bumpGen for a write of this engine that does not keep
// the copy up to date (a batch run): the copy is no longer trusted
// without reading the counter, so the next re-check reloads it rather
// than find the counter moved with its commit.
func (e *Engine) bumpOwnGen(ctx context.Context, tx *db.Tx) (int64, error) {
	e.stored.confirm(false)
	return bumpGen(ctx, tx)
}

func bumpGen(ctx context.Context, tx *db.Tx) (int64, error) {
	var g int64
	err := tx.QueryRow(ctx, `UPDATE elig_gen SET gen = gen + 1 WHERE id = 1 RETURNING gen`).Scan(&g)
	return g, db.Translate(err)
}

// rowsAt returns the copy of the stored rows if it is exact at run and
// gen, loading the table when it is not; nil when the table changed
// while it loaded (the caller then reads the rows it needs).
func (e *Engine) rowsAt(ctx context.Context, run, gen int64) (*storedCache, error) {
	c := &e.stored
	c.mu.Lock()
	if c.ok && c.run == run && c.gen == gen {
		c.unconfirmed = false // the counter was just read
		c.mu.Unlock()
		return c, nil
	}
	c.unconfirmed = false
	c.ok, c.rows = false, nil
	c.mu.Unlock()
	rows := map[subjectKey]storedVal{}
	paths := map[string]string{}
	var kinds = map[string]string{KindPerson: KindPerson, KindOrganisation: KindOrganisation}
	err := e.eachStored(db.OnWriter(ctx), "", func(kind string, en blockEntry) error {
		if s, ok := kinds[kind]; ok {
			kind = s
		}
		rows[subjectKey{kind, en.id}] = storedVal{packed: en.packed, path: intern(paths, en.path)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The rows are of one moment; they are that of gen if the counter
	// did not move while they were read (every writer moves it).
	run2, gen2, err := e.state(ctx)
	if err != nil || run2 != run || gen2 != gen {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run, c.gen, c.ok, c.rows, c.paths = run, gen, true, rows, paths
	return c, nil
}

// intern returns the one copy of s kept in m.
func intern(m map[string]string, s string) string {
	if x, ok := m[s]; ok {
		return x
	}
	s = strings.Clone(s)
	m[s] = s
	return s
}

// row returns the copy's row of s and whether there is one; valid is
// false when the copy was dropped meanwhile (the caller reads the row).
// An own write applied meanwhile only makes the copy newer.
func (c *storedCache) row(s subjectKey) (v storedVal, has, valid bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok {
		return storedVal{}, false, false
	}
	v, has = c.rows[s]
	return v, has, true
}

// block returns the entries of kind's block as the copy has them, if the
// copy is exact at run and gen.
func (c *storedCache) block(run, gen int64, kind string, block int64) ([]blockEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok || c.run != run || c.gen != gen {
		return nil, false
	}
	es := []blockEntry{}
	for i := range int64(1) << blockShift {
		id := block<<blockShift | i
		if v, ok := c.rows[subjectKey{kind, id}]; ok {
			es = append(es, blockEntry{id: id, path: v.path, packed: v.packed})
		}
	}
	return es, true
}

// wrote applies a committed write of this engine to the copy: gen is the
// counter the write's transaction took (bumpGen). It applies only if the
// copy was exact just before (gen-1) at run; otherwise another writer
// came between, and the copy is dropped, to be loaded again.
func (c *storedCache) wrote(run, gen int64, rows []storedRow, gone []subjectKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok || c.run != run || c.gen != gen-1 {
		c.ok, c.rows = false, nil
		return
	}
	for _, s := range gone {
		delete(c.rows, s)
	}
	for _, r := range rows {
		c.rows[r.s] = storedVal{packed: r.packed, path: intern(c.paths, r.path)}
	}
	c.gen = gen
}

// trusted returns the run and counter at which the copy is exact, when
// it has one and no commit that trusted it without reading the counter
// is still unconfirmed (one that failed leaves the next re-check to read
// the counter).
func (c *storedCache) trusted() (run, gen int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run, c.gen, c.ok && !c.unconfirmed && c.run != 0
}

// confirm sets or clears unconfirmed.
func (c *storedCache) confirm(done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unconfirmed = !done
}

// forget drops the copy.
func (c *storedCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ok, c.rows = false, nil
}
