package web

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/worldtest"
)

// TestReadyzUsesReadyCheck (issue 14, Build 4): /readyz asks the
// ReadyCheck it was given rather than the database handle, and falls back
// to pinging DB only while ReadyCheck is unset.
func TestReadyzUsesReadyCheck(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道")})
		down := func(context.Context) error { return errors.New("the database is down") }
		up := func(context.Context) error { return nil }
		cases := []struct {
			name  string
			check func(context.Context) error
			want  int
		}{
			{"check fails", down, http.StatusServiceUnavailable},
			{"check passes", up, http.StatusOK},
			{"no check: the database is pinged", nil, http.StatusOK},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, ts := serve(t, Deps{DB: d, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories, ReadyCheck: c.check})
				if got, body, _ := call(t, ts, "GET", "/readyz", "", "", ""); got != c.want {
					t.Errorf("/readyz: got %d, want %d; body %s", got, c.want, body)
				}
			})
		}
	})
}
