package casework_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestConcurrentSubmits: many submissions at once, through the group-commit
// writer (several lanes on PostgreSQL): every acknowledged case is a
// committed row with a number of its own, the numbers of the day run
// without a gap from 1 (no write failed), and concurrent repeats of one
// Idempotency-Key all answer with the one case the key filed.
func TestConcurrentSubmits(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		cat := leafOf(t, w, "ZL06")
		const plain, keys, repeats = 120, 8, 6
		in := func(key string) casework.SubmitInput {
			return casework.SubmitInput{Category: cat, Description: "楼道堆放杂物", Lat: f64(inA[0]), Lng: f64(inA[1]), IdempotencyKey: key}
		}
		type answer struct {
			c        *casework.Case
			replayed bool
			err      error
		}
		plainAns := make([]answer, plain)
		keyAns := make([][]answer, keys)
		var wg sync.WaitGroup
		for i := range plain {
			wg.Go(func() {
				c, rep, err := w.svc.Submit(ctx, w.as("resident"), in(""))
				plainAns[i] = answer{c, rep, err}
			})
		}
		for k := range keys {
			keyAns[k] = make([]answer, repeats)
			for r := range repeats {
				wg.Go(func() {
					c, rep, err := w.svc.Submit(ctx, w.as("neighbour"), in("key-"+strconv.Itoa(k)))
					keyAns[k][r] = answer{c, rep, err}
				})
			}
		}
		wg.Wait()
		numbers := map[string]int64{} // number → case id
		acknowledged := func(what string, a answer) {
			t.Helper()
			if a.err != nil {
				t.Errorf("%s: %v", what, a.err)
				return
			}
			var number string
			if err := d.QueryRow(ctx, `SELECT number FROM cases WHERE id = $1`, a.c.ID).Scan(&number); err != nil {
				t.Errorf("%s: case %d is not committed: %v", what, a.c.ID, err)
				return
			}
			if number != a.c.Number {
				t.Errorf("%s: answered number %s, stored %s", what, a.c.Number, number)
			}
			if id, seen := numbers[number]; seen && id != a.c.ID {
				t.Errorf("%s: number %s given to cases %d and %d", what, number, id, a.c.ID)
			}
			numbers[number] = a.c.ID
		}
		for i, a := range plainAns {
			acknowledged(fmt.Sprintf("submission %d", i), a)
			if a.err == nil && a.replayed {
				t.Errorf("submission %d without a key: replayed", i)
			}
		}
		for k, as := range keyAns {
			first, fresh := int64(0), 0
			for r, a := range as {
				acknowledged(fmt.Sprintf("key %d, repeat %d", k, r), a)
				if a.err != nil {
					continue
				}
				if !a.replayed {
					fresh++
				}
				if first == 0 {
					first = a.c.ID
				}
				if a.c.ID != first {
					t.Errorf("key %d: repeat %d answered case %d, want %d", k, r, a.c.ID, first)
				}
			}
			if fresh != 1 {
				t.Errorf("key %d: %d answers filed a case, want 1 (the others replayed)", k, fresh)
			}
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM cases`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := plain + keys; n != want || len(numbers) != want {
			t.Errorf("%d cases, %d numbers answered; want %d of each", n, len(numbers), want)
		}
		// Every number lies between 1 and the day's counter. On SQLite they
		// are exactly 1…n; on PostgreSQL a write that does not commit (a
		// repeat that met its key's first case, a write that lost a
		// deadlock and ran again) leaves its reserved number unused.
		var seqs []int
		for number := range numbers {
			seq, err := strconv.Atoi(number[len(number)-6:])
			if err != nil {
				t.Fatalf("number %s: %v", number, err)
			}
			seqs = append(seqs, seq)
		}
		var counter int
		if err := d.QueryRow(ctx, `SELECT seq FROM case_numbers`).Scan(&counter); err != nil {
			t.Fatal(err)
		}
		for _, seq := range seqs {
			if seq < 1 || seq > counter {
				t.Errorf("number %06d outside 1…%d", seq, counter)
			}
		}
		if d.Dialect() == db.SQLite && counter != len(numbers) {
			t.Errorf("SQLite counter %d after %d cases: want no gap", counter, len(numbers))
		}
	})
}

// TestSubmitTimelineEntry: the first timeline entry of a case, which
// PostgreSQL writes in the same statement as the case, is the same row on
// both databases, for a resident, an anonymous caller and the system.
func TestSubmitTimelineEntry(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		cat := leafOf(t, w, "ZL06")
		for _, c := range []struct {
			name      string
			caller    casework.Caller
			actor     sql.NullInt64
			actorName string
			role      string
		}{
			{"a resident", w.as("neighbour"), sql.NullInt64{Int64: w.users["neighbour"].ID, Valid: true}, "neighbour", "resident"},
			{"anonymous", casework.Caller{}, sql.NullInt64{}, "anonymous", "anonymous"},
			{"the system", casework.Caller{System: true}, sql.NullInt64{}, "system", "system"},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, _, err := w.svc.Submit(ctx, c.caller, casework.SubmitInput{Category: cat, Description: "楼道堆放杂物", Lat: f64(inA[0]), Lng: f64(inA[1])})
				if err != nil {
					t.Fatal(err)
				}
				var n int
				var actor sql.NullInt64
				var at db.Time
				var actorName, role, action, from, to, note, data string
				var public bool
				if err := d.QueryRow(ctx, `SELECT COUNT(*) OVER (), at, actor_id, actor_name, role, action, from_status, to_status, note, data, public
					FROM case_events WHERE case_id = $1`, got.ID).Scan(&n, &at, &actor, &actorName, &role, &action, &from, &to, &note, &data, &public); err != nil {
					t.Fatal(err)
				}
				wantData := `{"category":"` + cat + `","source":"` + got.Source + `"}`
				if n != 1 || !at.Time.Equal(got.CreatedAt) || actor != c.actor || actorName != c.actorName || role != c.role || action != string(casework.ActSubmit) ||
					from != "" || to != string(got.Status) || note != "" || data != wantData || !public {
					t.Errorf("entry: got %d rows, %v, %v, %q, %q, %q, %q→%q, %q, %s, public %v; want 1, %v, %v, %q, %q, submit, \"\"→%q, \"\", %s, public true",
						n, at.Time, actor, actorName, role, action, from, to, note, data, public, got.CreatedAt, c.actor, c.actorName, c.role, got.Status, wantData)
				}
			})
		}
	})
}
