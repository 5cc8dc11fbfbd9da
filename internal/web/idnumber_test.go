package web

import (
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestUserIDNumberAPI: POST /api/v1/users refuses an impossible identity
// number with a 422 that names the reason under id_number, in Chinese and
// in English, and stores a lowercase x as X (issue 13, item 10).
func TestUserIDNumberAPI(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ts := newCategoryServer(t, d)
		admin := login(t, ts, "admin")
		user := func(name, id string) string {
			return `{"username":"` + name + `","password":"secret-pass","roles":["resident"],"region":"330303","id_number":"` + id + `"}`
		}
		for _, tc := range []struct {
			name, id, lang, want string
		}{
			{"1990-13-40 in Chinese", "330303199013401237", "zh-CN", "出生日期 1990-13-40 不存在"},
			{"1990-13-40 in English", "330303199013401237", "en", "The birth date 1990-13-40 does not exist"},
			{"future date", "33030320261124001X", "en", "is in the future"},
			{"000000 region", "00000019900101123X", "zh-CN", "地区码 000000"},
			{"all zeros", "000000000000000000", "en", "All zeros"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body, _ := jsonCall(t, ts, "POST", "/api/v1/users?lang="+tc.lang, admin, user("idcheck", tc.id))
				if status != 422 || !strings.Contains(body, `"id_number"`) || !strings.Contains(body, tc.want) {
					t.Errorf("POST /api/v1/users with id_number %s: got %d %s, want 422 with %q under id_number", tc.id, status, body, tc.want)
				}
			})
		}
		status, body, _ := jsonCall(t, ts, "POST", "/api/v1/users", admin, user("idlower", "11010519491231002x"))
		if status != 201 {
			t.Fatalf("a valid number with a lowercase x: got %d %s, want 201", status, body)
		}
		var stored string
		if err := d.QueryRow(t.Context(), `SELECT id_number FROM users WHERE username = 'idlower'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != "11010519491231002X" {
			t.Errorf("stored id_number %q, want 11010519491231002X", stored)
		}
	})
}
