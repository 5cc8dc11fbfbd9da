package db

import (
	"strconv"
	"strings"
)

// Where builds a WHERE clause with numbered placeholders, so optional filters
// don't need hand-counted $n. Write "?" in each condition; Add numbers them.
type Where struct {
	parts []string
	args  []any
}

// Add appends a condition; each "?" in expr takes the next of args.
func (w *Where) Add(expr string, args ...any) {
	var b strings.Builder
	i := 0
	for _, r := range expr {
		if r == '?' && i < len(args) {
			w.args = append(w.args, args[i])
			i++
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	w.parts = append(w.parts, b.String())
}

// Arg adds a bare argument and returns its placeholder, for use outside the
// WHERE clause (LIMIT, ORDER BY expressions …).
func (w *Where) Arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// SQL returns " WHERE a AND b", or "" when there are no conditions.
func (w *Where) SQL() string {
	if len(w.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.parts, " AND ")
}

// Args returns the arguments in placeholder order.
func (w *Where) Args() []any { return w.args }

// Param returns the n-th placeholder of a generated statement: $n on
// PostgreSQL; on SQLite a plain ?, because the driver looks every named
// parameter ($n) up by a linear scan, which makes binding a statement of
// thousands of parameters quadratic.
func Param(d Dialect, n int) string {
	if d == SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// Placeholders returns "($1,$2,$3),($4,$5,$6)…" (or "(?,?,?),…" on
// SQLite, see Param) for a multi-row INSERT of rows rows of width columns.
func Placeholders(d Dialect, rows, width int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := 0; j < width; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			n++
			b.WriteString(Param(d, n))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// InList returns the placeholders of ids for "IN (…)", numbered from
// from+1 (see Param), and the ids as the arguments they stand for.
func InList(d Dialect, from int, ids []int64) (string, []any) {
	var b strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Param(d, from+i+1))
		args[i] = id
	}
	return b.String(), args
}

// OrderBy turns a sort key ("-" first for descending) into an ORDER BY
// clause through cols, the whitelist of keys and their columns, with tie
// appended to break ties; ok is false for a key cols lacks, so that no
// caller's text ever reaches the SQL.
func OrderBy(sort string, cols map[string]string, tie string) (clause string, ok bool) {
	dir, key := " ASC", sort
	if strings.HasPrefix(sort, "-") {
		dir, key = " DESC", sort[1:]
	}
	col, ok := cols[key]
	if !ok {
		return "", false
	}
	if col == tie {
		return " ORDER BY " + col + dir, true
	}
	return " ORDER BY " + col + dir + ", " + tie, true
}
