package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

var t0 = time.Date(2026, 11, 23, 1, 2, 3, 456789000, time.UTC)

func TestMigrate(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// A second run applies nothing.
		applied, err := d.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Errorf("second migrate applied %v, want nothing", applied)
		}
		ms, _ := db.Migrations(d.Dialect())
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := n, len(ms); got != want {
			t.Errorf("schema_migrations rows = %d, want %d", got, want)
		}
		for _, table := range []string{"regions", "users", "sessions", "login_log", "audit_log", "api_keys", "departments"} {
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	a, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, a[i].Name, b[i].Name)
		}
	}
}

func TestTxRollbackAndTranslate(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ins := func(tx *db.Tx, code string) error {
			_, err := tx.Exec(ctx, `INSERT INTO regions (code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
				VALUES ($1, 'x', 'city', $2, '{}', 0, 0, 1, 1, 0.5, 0.5, $3, $3)`, code, "/"+code+"/", tx.Now())
			return err
		}
		committed := false
		boom := errors.New("boom")
		err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { committed = true })
			if err := ins(tx, "A"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx err = %v, want boom", err)
		}
		if committed {
			t.Error("AfterCommit ran after a rollback")
		}
		var n int
		_ = d.QueryRow(ctx, `SELECT COUNT(*) FROM regions`).Scan(&n)
		if n != 0 {
			t.Errorf("rows after rollback = %d, want 0", n)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { committed = true })
			return ins(tx, "A")
		}); err != nil {
			t.Fatal(err)
		}
		if !committed {
			t.Error("AfterCommit did not run after commit")
		}
		err = d.InTx(ctx, func(tx *db.Tx) error { return ins(tx, "A") })
		if got, want := errs.CodeOf(err), errs.Conflict; got != want {
			t.Errorf("duplicate insert code = %q (%v), want %q", got, err, want)
		}
		err = d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO departments (code, name, region_code, created_at) VALUES ('d', 'd', 'nope', $1)`, tx.Now())
			return err
		})
		if got, want := errs.CodeOf(err), errs.Invalid; got != want {
			t.Errorf("foreign key violation code = %q (%v), want %q", got, err, want)
		}
		var at db.Time
		if err := d.QueryRow(ctx, `SELECT created_at FROM regions WHERE code = 'A'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		if want := t0.Truncate(time.Microsecond); !at.Equal(want) {
			t.Errorf("created_at = %v, want the injected clock's %v", at.Time, want)
		}
	})
}

func TestAuditLogAppendOnly(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO audit_log (at, actor, action) VALUES ($1, 'a', 'x')`, tx.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE audit_log SET actor = 'b'`, `DELETE FROM audit_log`} {
			err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q); return err })
			if err == nil {
				t.Errorf("%s succeeded; the audit log must be append-only", q)
			}
		}
	})
}

func TestPathUpper(t *testing.T) {
	if got, want := db.PathUpper("/330303/"), "/3303030"; got != want {
		t.Errorf("PathUpper = %q, want %q", got, want)
	}
}

func TestPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		name        string
		d           db.Dialect
		rows, width int
		want        string
	}{
		{"postgres numbers them", db.Postgres, 2, 3, "($1,$2,$3),($4,$5,$6)"},
		{"sqlite uses plain question marks", db.SQLite, 2, 2, "(?,?),(?,?)"},
		{"one row, one column", db.Postgres, 1, 1, "($1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := db.Placeholders(tc.d, tc.rows, tc.width); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
