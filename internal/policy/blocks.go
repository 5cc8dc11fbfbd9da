package policy

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"whistle/internal/db"
)

// The stored results are kept in blocks: one row of elig_blocks holds the
// results of the subjects of a kind whose ids share id >> blockShift (16
// subjects, about 500 bytes at 100 policies), so that a full run over a
// million subjects writes some 66,000 rows, not a million: SQLite's CPU
// goes by the row far more than by the byte. A re-check decodes and
// encodes the whole block of its subject, which is why a block is not
// larger. See docs/DECISIONS.md, "Stored results in blocks".
const blockShift = 4

// blockOf is the block of a subject id.
func blockOf(id int64) int64 { return id >> blockShift }

// blockEntry is one subject's stored results: its region path and its
// packed letters (one a policy of the run that wrote them).
type blockEntry struct {
	id     int64
	path   string
	packed string
}

// blockVersion is the first byte of a block's data.
const blockVersion = 1

// Codes of the letters, two bits each.
var letterCodes = [4]byte{letterEligible, letterNot, letterMay, letterNone}

// codeOf is the code of each letter plus one (0: not a letter of a
// result); quads are the four letters of each byte of codes. Tables,
// because a re-check decodes and encodes a whole block for each change.
var codeOf, quads = func() (c [256]byte, q [256][4]byte) {
	for i, l := range letterCodes {
		c[l] = byte(i) + 1
	}
	for b := range 256 {
		for k := range 4 {
			q[b][k] = letterCodes[b>>(2*k)&3]
		}
	}
	return c, q
}()

// encodeBlock encodes the entries of one block, in id order: a version
// byte; the block's distinct region paths (count, then each as length
// and bytes); the entries (count, then each as its id's offset in the
// block, its path's index, its letters' count and the letters, four to
// a byte).
func encodeBlock(es []blockEntry) ([]byte, error) {
	b := []byte{blockVersion}
	var paths []string
	idx := make([]int, len(es))
	for i, e := range es {
		j := slices.Index(paths, e.path)
		if j < 0 {
			j = len(paths)
			paths = append(paths, e.path)
		}
		idx[i] = j
	}
	b = binary.AppendUvarint(b, uint64(len(paths)))
	for _, p := range paths {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	b = binary.AppendUvarint(b, uint64(len(es)))
	for i, e := range es {
		if i > 0 && e.id <= es[i-1].id || blockOf(e.id) != blockOf(es[0].id) {
			return nil, fmt.Errorf("policy: block entries out of order or of another block (%d)", e.id)
		}
		b = binary.AppendUvarint(b, uint64(e.id-blockOf(e.id)<<blockShift))
		b = binary.AppendUvarint(b, uint64(idx[i]))
		b = binary.AppendUvarint(b, uint64(len(e.packed)))
		var acc byte
		for k := 0; k < len(e.packed); k++ {
			c := codeOf[e.packed[k]]
			if c == 0 {
				return nil, fmt.Errorf("policy: subject %d has the letter %q", e.id, e.packed[k])
			}
			acc |= (c - 1) << (2 * (k & 3))
			if k&3 == 3 || k == len(e.packed)-1 {
				b = append(b, acc)
				acc = 0
			}
		}
	}
	return b, nil
}

var errBadBlock = errors.New("policy: a stored block of results is malformed")

// decodeBlock calls fn with each entry of block's data, in id order.
// The strings it passes are its own (the data may be reused).
func decodeBlock(block int64, data []byte, fn func(blockEntry) error) error {
	if len(data) == 0 || data[0] != blockVersion {
		return errBadBlock
	}
	r := data[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, false
		}
		r = r[n:]
		return v, true
	}
	np, ok := next()
	if !ok || np > uint64(len(r)) {
		return errBadBlock
	}
	paths := make([]string, np)
	for i := range paths {
		l, ok := next()
		if !ok || l > uint64(len(r)) {
			return errBadBlock
		}
		paths[i], r = string(r[:l]), r[l:]
	}
	ne, ok := next()
	if !ok {
		return errBadBlock
	}
	var letters []byte
	last := int64(-1)
	for range ne {
		off, ok1 := next()
		pi, ok2 := next()
		n, ok3 := next()
		if !ok1 || !ok2 || !ok3 || off >= 1<<blockShift || pi >= uint64(len(paths)) || (n+3)/4 > uint64(len(r)) {
			return errBadBlock
		}
		if int64(off) <= last {
			return errBadBlock // ids in order, each once
		}
		last = int64(off)
		letters = letters[:0]
		for _, c := range r[:(n+3)/4] {
			letters = append(letters, quads[c][:]...)
		}
		r = r[(n+3)/4:]
		if err := fn(blockEntry{id: block<<blockShift + int64(off), path: paths[pi], packed: string(letters[:n])}); err != nil {
			return err
		}
	}
	if len(r) != 0 {
		return errBadBlock
	}
	return nil
}

// eachStored calls fn with every stored entry (of kind, or of every kind
// when kind is ""), in kind and id order.
func (e *Engine) eachStored(ctx context.Context, kind string, fn func(kind string, en blockEntry) error) error {
	var w db.Where
	if kind != "" {
		w.Add("subject_kind = ?", kind)
	}
	rows, err := e.db.Query(ctx, `SELECT subject_kind, block, data FROM elig_blocks`+w.SQL()+` ORDER BY subject_kind, block`, w.Args()...)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	var k string
	var block int64
	var data []byte
	for rows.Next() {
		if err := rows.Scan(&k, &block, &data); err != nil {
			return db.Translate(err)
		}
		if err := decodeBlock(block, data, func(en blockEntry) error { return fn(k, en) }); err != nil {
			return err
		}
	}
	return db.Translate(rows.Err())
}

// writeBlock stores the entries of a block in tx, or deletes the block
// when there are none. On PostgreSQL the statement is queued (db.Tx.Queue):
// nothing waits for its answer, and it goes to the server with the next
// query or the commit.
func writeBlock(ctx context.Context, tx *db.Tx, kind string, block int64, es []blockEntry) error {
	if len(es) == 0 {
		return tx.Queue(ctx, `DELETE FROM elig_blocks WHERE subject_kind = $1 AND block = $2`, kind, block)
	}
	data, err := encodeBlock(es)
	if err != nil {
		return err
	}
	return tx.Queue(ctx, `INSERT INTO elig_blocks (subject_kind, block, data) VALUES ($1, $2, $3)
		ON CONFLICT (subject_kind, block) DO UPDATE SET data = excluded.data`, kind, block, data)
}

// rowQuerier is a database or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

// readBlock returns the entries of a stored block (none when there is no
// such block).
func readBlock(ctx context.Context, q rowQuerier, kind string, block int64) ([]blockEntry, error) {
	var data []byte
	err := q.QueryRow(ctx, `SELECT data FROM elig_blocks WHERE subject_kind = $1 AND block = $2`, kind, block).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	var es []blockEntry
	err = decodeBlock(block, data, func(en blockEntry) error { es = append(es, en); return nil })
	return es, err
}

// rewriteBlocks writes the rows and removes the subjects gone, in tx:
// each block they touch is read, changed and written back once. known,
// when it answers true, gives a block's entries as tx would read them,
// and saves the read.
func rewriteBlocks(ctx context.Context, tx *db.Tx, rows []storedRow, gone []subjectKey, known func(kind string, block int64) ([]blockEntry, bool)) error {
	type key struct {
		kind  string
		block int64
	}
	changes := map[key]map[int64]*storedRow{} // nil: gone
	var order []key
	add := func(s subjectKey, r *storedRow) {
		k := key{s.kind, blockOf(s.id)}
		m := changes[k]
		if m == nil {
			m = map[int64]*storedRow{}
			changes[k] = m
			order = append(order, k)
		}
		m[s.id] = r
	}
	for _, s := range gone {
		add(s, nil)
	}
	for i := range rows {
		add(rows[i].s, &rows[i])
	}
	for _, k := range order {
		es, ok := known(k.kind, k.block)
		if !ok {
			var err error
			if es, err = readBlock(ctx, tx, k.kind, k.block); err != nil {
				return err
			}
		}
		m := changes[k]
		out := es[:0]
		for _, en := range es {
			r, ok := m[en.id]
			switch {
			case !ok:
				out = append(out, en)
			case r != nil:
				out = append(out, blockEntry{id: en.id, path: r.path, packed: r.packed})
			}
			delete(m, en.id)
		}
		for id, r := range m {
			if r != nil {
				out = append(out, blockEntry{id: id, path: r.path, packed: r.packed})
			}
		}
		slices.SortFunc(out, func(a, b blockEntry) int { return cmp.Compare(a.id, b.id) })
		if err := writeBlock(ctx, tx, k.kind, k.block, out); err != nil {
			return err
		}
	}
	return nil
}
