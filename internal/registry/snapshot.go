package registry

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// The eligibility batch reads the registry from a snapshot: one row of
// reg_snap holds the subjects of a kind whose ids share id >> snapShift
// (32) with their columns and fact rows as stored, so that a run over a
// million people reads some 33,000 rows where it read a million people
// and two million facts, most of its time in the driver's work per row.
// Triggers (migration 0061) mark a block dirty in reg_snap_dirty whenever
// a row it is made of changes, whatever writes it; RefreshSnapshot
// rebuilds the marked blocks from the rows, and the batch's readers call
// it first. See docs/DECISIONS.md, "The registry's snapshot for the
// batch".
const snapShift = 5

// snapBlock is the snapshot block of a subject id.
func snapBlock(id int64) int64 { return id >> snapShift }

// Kinds of snapshot blocks: a person's holds the household facts of the
// household the person heads too.
const (
	snapPerson       = FactPerson
	snapOrganisation = FactOrganisation
)

// snapCols is how many of a subject's own columns a block keeps: a
// person's sex, status, birth date and household number; an
// organisation's kind, industry and size.
const snapCols = 4

// snapSubject is one subject of a block, as stored: its facts' values
// are their raw text, the person's facts before the household's.
type snapSubject struct {
	id   int64
	grid string
	path string
	cols [snapCols]string
	// household is the size of a person's household (0 without one):
	// the triggers mark its members' blocks when it changes.
	household int64
	facts     []snapFact
}

// snapFact is a fact row of a subject.
type snapFact struct {
	key, value string
	flags      byte // snapVerified, snapHousehold
}

// Flags of a snapFact.
const (
	snapVerified byte = 1 << iota
	snapHousehold
)

// snapVersion is the first byte of a block's data.
const snapVersion = 1

// encodeSnap encodes the subjects of one block, in id order: a version
// byte; the block's distinct strings (count, then each as length and
// bytes); the subjects (count, then each as its id's offset after the
// previous one's, its grid's, path's and columns' string indexes, its
// household's size, and its facts: count, then each as flags, key index
// and value index).
func encodeSnap(ss []snapSubject) ([]byte, error) {
	if len(ss) == 0 {
		return nil, errors.New("registry: a snapshot block of no subjects")
	}
	var strs []string
	index := map[string]uint64{}
	ref := func(b []byte, s string) []byte {
		i, ok := index[s]
		if !ok {
			i = uint64(len(strs))
			index[s] = i
			strs = append(strs, s)
		}
		return binary.AppendUvarint(b, i)
	}
	block := snapBlock(ss[0].id)
	prev := block<<snapShift - 1
	body := binary.AppendUvarint(nil, uint64(len(ss)))
	for _, s := range ss {
		if s.id <= prev || snapBlock(s.id) != block {
			return nil, fmt.Errorf("registry: snapshot subject %d out of order in block %d", s.id, block)
		}
		body = binary.AppendUvarint(body, uint64(s.id-prev-1))
		prev = s.id
		body = ref(body, s.grid)
		body = ref(body, s.path)
		for _, c := range s.cols {
			body = ref(body, c)
		}
		if s.household < 0 {
			return nil, fmt.Errorf("registry: snapshot subject %d with a household of %d", s.id, s.household)
		}
		body = binary.AppendUvarint(body, uint64(s.household))
		body = binary.AppendUvarint(body, uint64(len(s.facts)))
		for _, f := range s.facts {
			body = append(body, f.flags)
			body = ref(body, f.key)
			body = ref(body, f.value)
		}
	}
	out := []byte{snapVersion}
	out = binary.AppendUvarint(out, uint64(len(strs)))
	for _, s := range strs {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, body...), nil
}

// snapReader reads a block's data; the first malformed read sets err,
// and every read after it returns zero.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("registry: malformed snapshot block: %s", what)
	}
}

func (r *snapReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items each at least min bytes long.
func (r *snapReader) count(what string, min int) int {
	v := r.uvarint(what)
	if v > uint64(len(r.b)/min) {
		r.fail(what)
		return 0
	}
	return int(v)
}

func (r *snapReader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail(what)
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *snapReader) byte(what string) byte {
	if b := r.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

// snapDecoder decodes blocks; its buffers are reused from one block to
// the next, so a subject passed to fn is valid only during the call.
type snapDecoder struct {
	// intern makes a string of a block's bytes: the caller keeps what it
	// needs of the subjects, and the strings of a block repeat across
	// blocks (grids, paths, keys, values).
	intern func([]byte) string
	strs   []string
	s      snapSubject
}

// decode calls fn with each subject of a block's data, in id order.
func (d *snapDecoder) decode(block int64, data []byte, fn func(*snapSubject) error) error {
	r := snapReader{b: data}
	if v := r.byte("version"); v != snapVersion && r.err == nil {
		return fmt.Errorf("registry: snapshot block version %d, want %d", v, snapVersion)
	}
	n := r.count("strings", 1)
	d.strs = d.strs[:0]
	for range n {
		l := int(min(r.uvarint("string length"), uint64(len(r.b)+1)))
		b := r.bytes(l, "string")
		if r.err != nil {
			return r.err
		}
		d.strs = append(d.strs, d.intern(b))
	}
	str := func(what string) string {
		i := r.uvarint(what)
		if i >= uint64(len(d.strs)) {
			r.fail(what)
			return ""
		}
		return d.strs[i]
	}
	count := r.count("subjects", 9)
	prev := block<<snapShift - 1
	s := &d.s
	for range count {
		off := r.uvarint("id")
		if off >= 1<<snapShift {
			r.fail("id")
		}
		s.id = prev + 1 + int64(off)
		if snapBlock(s.id) != block {
			r.fail("id")
		}
		prev = s.id
		s.grid, s.path = str("grid"), str("path")
		for c := range s.cols {
			s.cols[c] = str("column")
		}
		s.household = int64(r.uvarint("household"))
		if s.household < 0 {
			r.fail("household")
		}
		nf := r.count("facts", 3)
		s.facts = s.facts[:0]
		for range nf {
			f := snapFact{flags: r.byte("flags")}
			if f.flags&^(snapVerified|snapHousehold) != 0 {
				r.fail("flags")
			}
			f.key, f.value = str("key"), str("value")
			s.facts = append(s.facts, f)
		}
		if r.err != nil {
			return r.err
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

// snapRows reads the subjects of a snapshot kind with ids in [lo, hi)
// and their fact rows from the registry's tables, in id order, in the
// transaction tx: one query after another (PostgreSQL's connection reads
// one result at a time), each an index range. (Several ranges a query
// were tried, ORed or joined as a VALUES list: each planner then chose
// to scan a whole table for some of them.)
func snapRows(ctx context.Context, tx *db.Tx, kind string, lo, hi int64) ([]snapSubject, error) {
	var ss []snapSubject
	// The household's size counts with household_id <> '' so that the
	// partial index answers.
	q := `SELECT id, grid_code, region_path, sex, status, birth_date, household_id,
		(SELECT COUNT(*) FROM reg_people h WHERE h.household_id = p.household_id AND h.household_id <> '')
		FROM reg_people p WHERE id >= $1 AND id < $2 ORDER BY id`
	factKinds := []string{FactPerson, FactHousehold}
	if kind == snapOrganisation {
		q = `SELECT id, grid_code, region_path, kind, industry, size, '', 0 FROM reg_organisations WHERE id >= $1 AND id < $2 ORDER BY id`
		factKinds = []string{FactOrganisation}
	}
	rows, err := tx.Query(ctx, q, lo, hi)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s snapSubject
		if err := rows.Scan(&s.id, &s.grid, &s.path, &s.cols[0], &s.cols[1], &s.cols[2], &s.cols[3], &s.household); err != nil {
			return nil, db.Translate(err)
		}
		ss = append(ss, s)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	rows.Close()
	for _, fk := range factKinds {
		var flags byte
		if fk == FactHousehold {
			flags = snapHousehold
		}
		rows, err := tx.Query(ctx, `SELECT subject_id, key, value, verified FROM reg_facts WHERE subject_kind = $1 AND subject_id >= $2 AND subject_id < $3 ORDER BY subject_id, key`, fk, lo, hi)
		if err != nil {
			return nil, db.Translate(err)
		}
		i := 0
		for rows.Next() {
			var id int64
			var verified int
			f := snapFact{flags: flags}
			if err := rows.Scan(&id, &f.key, &f.value, &verified); err != nil {
				rows.Close()
				return nil, db.Translate(err)
			}
			if verified != 0 {
				f.flags |= snapVerified
			}
			// Facts of no subject are not read, as by FactSet.
			for i < len(ss) && ss[i].id < id {
				i++
			}
			if i < len(ss) && ss[i].id == id {
				ss[i].facts = append(ss[i].facts, f)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, db.Translate(err)
		}
	}
	return ss, nil
}

// snapLock is the PostgreSQL advisory lock that keeps refreshes one at a
// time: two could otherwise write a block's older rows over its newer.
const snapLock = 727735

// snapMarksATx is how many marks a refresh's transaction takes at most.
const snapMarksATx = 4096

// RefreshSnapshot rebuilds the snapshot's blocks marked dirty when it
// starts (the marks committed meanwhile are left for the next), a few
// thousand a transaction, and returns how many blocks it rebuilt. The
// snapshot is derived data, written without waiting for the disk
// (db.InTxDerived): a crash that loses a refresh loses its deletion of
// the marks with it.
func (s *Store) RefreshSnapshot(ctx context.Context) (_ int, err error) {
	defer errs.Wrapf(&err, "registry.Store.RefreshSnapshot")
	var top int64
	if err := s.db.QueryRow(db.OnWriter(ctx), `SELECT COALESCE(MAX(id), 0) FROM reg_snap_dirty`).Scan(&top); err != nil {
		return 0, db.Translate(err)
	}
	total := 0
	for top > 0 {
		n, more, err := s.refreshSome(ctx, top)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
	return total, nil
}

// snapKey names a block.
type snapKey struct {
	kind  string
	block int64
}

// refreshSome rebuilds the blocks of the first marks with ids up to top,
// in one transaction, and reports whether marks may be left.
func (s *Store) refreshSome(ctx context.Context, top int64) (blocks int, more bool, err error) {
	err = s.db.InTxDerived(ctx, func(tx *db.Tx) error {
		blocks, more = 0, false
		if tx.Dialect() == db.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, snapLock); err != nil {
				return db.Translate(err)
			}
			// Its queries are a block's rows each; before the tables
			// are analyzed (after a bulk import) the planner's estimates
			// put each above jit_above_cost, and compiling took 10 ms of
			// a query of 1.
			if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
				return db.Translate(err)
			}
		}
		// The marks are read before the rows: a row committed after a
		// mark is read either is in the rows read, or has a mark of its
		// own, which stays.
		rows, err := tx.Query(ctx, `SELECT id, kind, block FROM reg_snap_dirty WHERE id <= $1 ORDER BY kind, block LIMIT $2`, top, snapMarksATx)
		if err != nil {
			return db.Translate(err)
		}
		var ids []int64
		var keys []snapKey
		for rows.Next() {
			var id int64
			var k snapKey
			if err := rows.Scan(&id, &k.kind, &k.block); err != nil {
				rows.Close()
				return db.Translate(err)
			}
			ids = append(ids, id)
			if len(keys) == 0 || keys[len(keys)-1] != k {
				keys = append(keys, k)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.Translate(err)
		}
		more = len(ids) == snapMarksATx
		// Per kind, the marked blocks' rows, consecutive blocks as one
		// range; their writes go many blocks a statement whatever the
		// ranges.
		type kindBlocks struct {
			kind     string
			blocks   []int64
			subjects []snapSubject
		}
		var kinds []kindBlocks
		for _, k := range keys {
			if len(kinds) == 0 || kinds[len(kinds)-1].kind != k.kind {
				kinds = append(kinds, kindBlocks{kind: k.kind})
			}
			kb := &kinds[len(kinds)-1]
			kb.blocks = append(kb.blocks, k.block)
		}
		for i := range kinds {
			kb := &kinds[i]
			for j := 0; j < len(kb.blocks); {
				n := 1
				for j+n < len(kb.blocks) && kb.blocks[j+n] == kb.blocks[j+n-1]+1 {
					n++
				}
				ss, err := snapRows(ctx, tx, kb.kind, kb.blocks[j]<<snapShift, (kb.blocks[j+n-1]+1)<<snapShift)
				if err != nil {
					return err
				}
				kb.subjects = append(kb.subjects, ss...)
				j += n
			}
			blocks += len(kb.blocks)
		}
		if s.snapRead != nil {
			s.snapRead()
		}
		for _, kb := range kinds {
			if err := writeSnap(ctx, tx, kb.kind, kb.blocks, kb.subjects); err != nil {
				return err
			}
		}
		const perStmt = 500
		for len(ids) > 0 {
			part := ids[:min(perStmt, len(ids))]
			ids = ids[len(part):]
			in, args := db.InList(tx.Dialect(), 0, part)
			if _, err := tx.Exec(ctx, `DELETE FROM reg_snap_dirty WHERE id IN (`+in+`)`, args...); err != nil {
				return db.Translate(err)
			}
		}
		return nil
	})
	return blocks, more, err
}

// writeSnap writes the rising blocks of a kind from their subjects ss
// (snapRows, in id order), and deletes those that no longer hold one.
func writeSnap(ctx context.Context, tx *db.Tx, kind string, blocks []int64, ss []snapSubject) error {
	const perStmt = 100
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO reg_snap (kind, block, data) VALUES `+db.Placeholders(tx.Dialect(), len(args)/3, 3)+
			` ON CONFLICT (kind, block) DO UPDATE SET data = excluded.data`, args...)
		args = args[:0]
		return db.Translate(err)
	}
	var empty []int64
	for _, b := range blocks {
		for len(ss) > 0 && snapBlock(ss[0].id) < b {
			ss = ss[1:] // not marked: no row of it was asked for
		}
		n := 0
		for n < len(ss) && snapBlock(ss[n].id) == b {
			n++
		}
		if n == 0 {
			empty = append(empty, b)
			continue
		}
		data, err := encodeSnap(ss[:n])
		if err != nil {
			return err
		}
		ss = ss[n:]
		if args = append(args, kind, b, data); len(args) == 3*perStmt {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for len(empty) > 0 {
		part := empty[:min(perStmt, len(empty))]
		empty = empty[len(part):]
		in, args := db.InList(tx.Dialect(), 1, part)
		if _, err := tx.Exec(ctx, `DELETE FROM reg_snap WHERE kind = `+db.Param(tx.Dialect(), 1)+` AND block IN (`+in+`)`, append([]any{kind}, args...)...); err != nil {
			return db.Translate(err)
		}
	}
	return nil
}

// RunSnapshot refreshes the snapshot every interval until ctx ends, so
// that a bulk import's blocks are rebuilt before the next batch run
// needs them rather than during it. An error is logged and retried at
// the next interval.
func (s *Store) RunSnapshot(ctx context.Context, logger *slog.Logger, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if _, err := s.RefreshSnapshot(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("registry: snapshot refresh", "err", err)
		}
	}
}
