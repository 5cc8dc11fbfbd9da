// Package dbtest opens throwaway databases for tests: a SQLite file in a
// temp dir, and a fresh PostgreSQL schema when WHISTLE_TEST_POSTGRES is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
)

// PostgresURL returns the test PostgreSQL URL, skipping the test when it is
// unset — except under CI=true, where a missing PostgreSQL fails the test.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("WHISTLE_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("WHISTLE_TEST_POSTGRES is not set, and CI=true forbids skipping the PostgreSQL tests")
		}
		tb.Skip("WHISTLE_TEST_POSTGRES is not set; skipping the PostgreSQL run")
	}
	return u
}

// MustOpenDB opens and migrates a fresh database of the given dialect.
func MustOpenDB(tb testing.TB, d db.Dialect, clk clock.Clock) *db.DB {
	tb.Helper()
	ctx := context.Background()
	var cfg db.Config
	switch d {
	case db.SQLite:
		cfg.DataDir = tb.TempDir()
	case db.Postgres:
		cfg.URL = PostgresURL(tb)
		cfg.SearchPath = NewSchema(tb, cfg.URL)
	}
	conn, err := db.Open(ctx, cfg, clk)
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { conn.Close() })
	if _, err := conn.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return conn
}

// NewSchema creates a uniquely named schema and drops it when the test ends.
func NewSchema(tb testing.TB, url string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + name); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = admin.Exec(`DROP SCHEMA ` + name + ` CASCADE`)
		admin.Close()
	})
	return name
}

// Dialects lists the dialects every store test runs on.
func Dialects() []db.Dialect { return []db.Dialect{db.SQLite, db.Postgres} }

// Each runs f as a subtest on a fresh database of each dialect.
func Each(t *testing.T, clk clock.Clock, f func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			f(t, MustOpenDB(t, d, clk))
		})
	}
}

// Querier is what QueryTexts reads through: a *db.DB or a *db.Tx.
type Querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// QueryTexts runs q and returns its rows as text, a slice of columns a
// row, so that a test can compare rows of any shape (query plans, whole
// tables): bytes as a string, times in UTC as RFC 3339 with nanoseconds,
// NULL as "NULL".
func QueryTexts(ctx context.Context, d Querier, q string, args ...any) ([][]string, error) {
	rows, err := d.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		f := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				f[i] = string(x)
			case time.Time:
				f[i] = x.UTC().Format(time.RFC3339Nano)
			case nil:
				f[i] = "NULL"
			default:
				f[i] = fmt.Sprint(x)
			}
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
