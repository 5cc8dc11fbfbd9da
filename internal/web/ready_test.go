package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/i18n"
	"whistle/internal/worldtest"
)

// TestReadyzUsesReadyCheck (issue 14, Build 4): /readyz asks the
// ReadyCheck it was given rather than a database handle, which web.Deps no
// longer holds.
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
			{"the database's ping", d.Ping, http.StatusOK},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, ts := serve(t, Deps{Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories, ReadyCheck: c.check})
				if got, body, _ := call(t, ts, "GET", "/readyz", "", "", ""); got != c.want {
					t.Errorf("/readyz: got %d, want %d; body %s", got, c.want, body)
				}
			})
		}
	})
}

// TestNewServerNeedsReadyCheck (issue 14, Build 4): without a ReadyCheck
// there is nothing for /readyz to ask, so NewServer refuses to build.
func TestNewServerNeedsReadyCheck(t *testing.T) {
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Deps{Catalog: catalog})
	if err == nil || s != nil {
		t.Fatalf("NewServer without ReadyCheck: got a server %t and error %v, want no server and an error", s != nil, err)
	}
	if got, want := err.Error(), "ReadyCheck"; !strings.Contains(got, want) {
		t.Errorf("error: got %q, want it to name %q", got, want)
	}
}
