package account_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestLoginLogPagesAndSort: the login log counts what a filter selects,
// pages with an offset, and sorts by each key either way, ties newest
// first; an unknown key is Invalid on field sort.
func TestLoginLogPagesAndSort(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		mustAdd(t, s, "carol", "330303", account.Admin)
		// Seven attempts, one a minute, each from its own address: carol
		// fails, succeeds, fails; nobody-N fail.
		attempt := func(name, pass string, ip int) {
			clk.Advance(time.Minute)
			_, _, _, _ = s.Login(ctx, name, pass, account.WebSession, account.Client{IP: fmt.Sprintf("10.0.0.%d", ip)})
		}
		attempt("carol", "wrong-pass", 7)
		attempt("nobody-b", "x", 3)
		attempt("carol", "secret-pass", 5)
		attempt("nobody-a", "x", 1)
		attempt("carol", "wrong-pass", 2)
		attempt("nobody-c", "x", 6)
		attempt("nobody-a", "x", 4)
		names := func(f account.LoginLogFilter) string {
			t.Helper()
			log, err := s.LoginLog(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range log {
				out = append(out, e.Username+"@"+strings.TrimPrefix(e.IP, "10.0.0."))
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			name string
			f    account.LoginLogFilter
			want string
		}{
			{"newest first", account.LoginLogFilter{}, "nobody-a@4 nobody-c@6 carol@2 nobody-a@1 carol@5 nobody-b@3 carol@7"},
			{"oldest first", account.LoginLogFilter{Sort: "at"}, "carol@7 nobody-b@3 carol@5 nobody-a@1 carol@2 nobody-c@6 nobody-a@4"},
			{"by name, ties newest first", account.LoginLogFilter{Sort: "username"}, "carol@2 carol@5 carol@7 nobody-a@4 nobody-a@1 nobody-b@3 nobody-c@6"},
			{"by IP descending", account.LoginLogFilter{Sort: "-ip"}, "carol@7 nobody-c@6 carol@5 nobody-a@4 nobody-b@3 carol@2 nobody-a@1"},
			{"failures last by result", account.LoginLogFilter{Sort: "-result", Limit: 2}, "carol@5 nobody-a@4"},
			{"second page of three", account.LoginLogFilter{Sort: "at", Limit: 3, Offset: 3}, "nobody-a@1 carol@2 nobody-c@6"},
			{"last page", account.LoginLogFilter{Sort: "at", Limit: 3, Offset: 6}, "nobody-a@4"},
			{"filtered", account.LoginLogFilter{Username: "carol", Failed: true}, "carol@2 carol@7"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := names(tc.f); got != tc.want {
					t.Errorf("got  %s\nwant %s", got, tc.want)
				}
			})
		}
		for _, tc := range []struct {
			f    account.LoginLogFilter
			want int
		}{{account.LoginLogFilter{}, 7}, {account.LoginLogFilter{Failed: true}, 6}, {account.LoginLogFilter{Username: "nobody-a", Limit: 1, Offset: 1}, 2}} {
			if got, err := s.CountLoginLog(ctx, tc.f); err != nil || got != tc.want {
				t.Errorf("CountLoginLog(%+v): got %d, %v; want %d", tc.f, got, err, tc.want)
			}
		}
		if _, err := s.LoginLog(ctx, account.LoginLogFilter{Sort: "password"}); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("sort by password: got %v, want Invalid", err)
		}
	})
}
