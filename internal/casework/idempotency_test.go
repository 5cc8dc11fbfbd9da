package casework_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestLegacyAnonymousKeysReleased runs migration 0008's updates on keys
// stored under the owner every anonymous caller used to share: Open311's
// (named by their API key) move to the system, the others are released,
// and no anonymous client can reach them any more.
func TestLegacyAnonymousKeysReleased(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := context.Background()
		in := func(key string) casework.SubmitInput {
			return casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物", Lat: f64(inA[0]), Lng: f64(inA[1]), IdempotencyKey: key}
		}
		o311 := w.Submit(t, "system", in("open311:1:k"))
		shared := w.Submit(t, "system", in("k2"))
		own := w.Submit(t, "resident", in("k3"))
		ms, err := db.Migrations(d.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		var updates string
		for _, m := range ms {
			if m.Version == 8 {
				_, after, ok := strings.Cut(m.SQL, "UPDATE cases")
				if !ok {
					t.Fatal("0008 has no UPDATE cases")
				}
				updates = "UPDATE cases" + after
			}
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE cases SET idem_owner = 'anonymous' WHERE id IN ($1, $2)`, o311.ID, shared.ID); err != nil {
				return err
			}
			for _, stmt := range strings.Split(updates, ";") {
				if strings.Contains(stmt, "UPDATE") {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			id   int64
			want sql.NullString
		}{
			{"an Open311 key", o311.ID, sql.NullString{String: "system", Valid: true}},
			{"another anonymous key", shared.ID, sql.NullString{}},
			{"a user's key", own.ID, sql.NullString{String: "user:" + strconv.FormatInt(w.users["resident"].ID, 10), Valid: true}},
		} {
			var got sql.NullString
			if err := d.QueryRow(ctx, `SELECT idem_owner FROM cases WHERE id = $1`, c.id).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s after 0008: owner %v, want %v", c.name, got, c.want)
			}
		}
		// The Open311 key still answers its API key's retry.
		again, replayed, err := w.Cases.Submit(ctx, w.As("system"), in("open311:1:k"))
		if err != nil || !replayed || again.ID != o311.ID {
			t.Errorf("the Open311 retry after 0008: case %v replayed %v err %v, want case %d replayed", again, replayed, err, o311.ID)
		}
	})
}
