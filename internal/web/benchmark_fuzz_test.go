package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/benchmark"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// benchmarkFuzz is an admin and a community's staff over HTTP, with the
// benchmark store.
type benchmarkFuzz struct {
	fw *fuzzWorld
	d  *db.DB
	st *benchmark.Store
}

func newBenchmarkFuzz(f *testing.F) *benchmarkFuzz {
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(f, db.SQLite, clock.Real{})
	users := []worldtest.User{{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "staff", Region: "330303001001", Role: account.CommunityStaff}}
	wt := worldtest.New(f, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Users: users, Logger: logger})
	st := benchmark.NewStore(benchmark.Deps{DB: d, Regions: wt.Regions})
	_, ts := serve(f, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
		Cases: wt.Cases, Categories: wt.Categories, Benchmark: st, Logger: logger})
	w := &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	for _, u := range users {
		tok, _, _, err := wt.Accounts.Login(context.Background(), u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			f.Fatal(err)
		}
		w.tokens[u.Name] = tok
	}
	return &benchmarkFuzz{fw: w, d: d, st: st}
}

func (b *benchmarkFuzz) count(t *testing.T, table string) int {
	var n int
	if err := b.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzIndicatorDeclJSON posts arbitrary JSON to POST /api/v1/indicators.
// A refused body adds no indicator; an accepted one has a valid key and
// direction and is stored under that key.
func FuzzIndicatorDeclJSON(f *testing.F) {
	for _, s := range []string{
		`{"key":"income_per_head","name":"人均收入","unit":"yuan","direction":"higher_better"}`, `{"key":"x","name":"x","unit":"u","direction":"sideways"}`,
		`{"key":"Bad Key","name":"x","unit":"u","direction":"lower_better"}`, `{"key":"a","unit":"u","direction":"lower_better"}`, `{"key":1}`,
		`{}`, `null`, `[`, `{"x":1}`, `{"key":"a","name":"a","unit":"u","direction":"lower_better","definition":"口径"}`,
	} {
		f.Add([]byte(s), false)
	}
	b := newBenchmarkFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		before := b.count(t, "bm_indicators")
		code, raw := b.fw.do(t, "POST", "/api/v1/indicators", "admin", "application/json", body, lang(en)...)
		accepted := apiAnswer(t, "declare", code, raw, http.StatusCreated)
		after := b.count(t, "bm_indicators")
		if !accepted {
			if after != before {
				t.Fatalf("refused (%d %s) but the indicators went from %d to %d", code, raw, before, after)
			}
			return
		}
		var in struct{ Key, Direction string }
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
			t.Fatalf("accepted a body that does not decode: %s", body)
		}
		key := strings.TrimSpace(in.Key)
		dir := strings.TrimSpace(in.Direction)
		if dir != benchmark.HigherBetter && dir != benchmark.LowerBetter {
			t.Fatalf("accepted direction %q", in.Direction)
		}
		var n int
		if err := b.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM bm_indicators WHERE key = $1 AND direction = $2`, key, dir).Scan(&n); err != nil || n != 1 {
			t.Fatalf("accepted %s but no indicator %q (%d, %v)", body, key, n, err)
		}
	})
}

// FuzzPeerGroupJSON posts arbitrary JSON to POST /api/v1/benchmark/groups
// as a community's staff. A refused body adds no group; an accepted one
// is stored with its 2 to 200 distinct units.
func FuzzPeerGroupJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"兄弟社区","units":["330303001001","330303001002"]}`, `{"name":"一个","units":["330303001001"]}`, `{"name":"","units":["330303001001","330303001002"]}`,
		`{"name":"未知","units":["330303001001","999"]}`, `{"name":"重复","units":["330303001001","330303001001"]}`, `{"units":1}`, `{}`, `null`, `[`,
	} {
		f.Add([]byte(s), false)
	}
	b := newBenchmarkFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		before := b.count(t, "bm_groups")
		code, raw := b.fw.do(t, "POST", "/api/v1/benchmark/groups", "staff", "application/json", body, lang(en)...)
		accepted := apiAnswer(t, "group", code, raw, http.StatusCreated)
		after := b.count(t, "bm_groups")
		if !accepted {
			if after != before {
				t.Fatalf("refused (%d %s) but the groups went from %d to %d", code, raw, before, after)
			}
			return
		}
		var g benchmark.Group
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := b.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM bm_group_members WHERE group_id = $1`, g.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if after != before+1 || n < 2 || n > 200 || n != len(g.Units) {
			t.Fatalf("accepted %s: groups %d → %d, %d members, answer %v", body, before, after, n, g.Units)
		}
	})
}

// FuzzIndicatorUpload posts arbitrary bodies, as a CSV file or as a
// multipart form, to POST /api/v1/indicators/values. Never a 500; a
// refused upload writes no value, and each of its row errors has a row, a
// column and a line in the caller's language; an accepted one writes
// exactly the values it reports.
func FuzzIndicatorUpload(f *testing.F) {
	for _, s := range []string{
		"indicator,unit_code,period,value\nfuzz_ind,330303001001,2026-11,1.5\n",
		"indicator,unit_code,period,value\nfuzz_ind,330303001001,2026-11,七\nnope,x y,2026-13,NaN\n",
		"unit_code,value\n", "", "\xef\xbb\xbfindicator,unit_code,period,value\r\nfuzz_ind,330303001002,2026-Q3,-2e3\r\n",
		"indicator,unit_code,period,value\nfuzz_ind,330303001001,2026-11,1\nfuzz_ind,330303001001,2026-11,2\n", "PK\x03\x04", "\"unterminated",
	} {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	b := newBenchmarkFuzz(f)
	if _, err := b.st.DeclareIndicator(context.Background(), benchmark.Indicator{Key: "fuzz_ind", Name: benchmark.Text{ZH: "模糊", EN: "Fuzz"}, Unit: "n",
		Direction: benchmark.HigherBetter}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, form, en bool) {
		ctype := "text/csv"
		if form {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fw, err := mw.CreateFormFile("file", "values.csv")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write(body); err != nil {
				t.Fatal(err)
			}
			if err := mw.Close(); err != nil {
				t.Fatal(err)
			}
			body, ctype = buf.Bytes(), mw.FormDataContentType()
		}
		before := b.count(t, "bm_values")
		code, raw := b.fw.do(t, "POST", "/api/v1/indicators/values", "admin", ctype, body, lang(en)...)
		after := b.count(t, "bm_values")
		var out struct {
			Report *struct {
				Values int `json:"values"`
			} `json:"report"`
			Errors []struct {
				Row     int    `json:"row"`
				Column  string `json:"column"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if code == http.StatusCreated {
			if err := json.Unmarshal(raw, &out); err != nil || out.Report == nil || out.Report.Values == 0 || after < before || after > before+out.Report.Values {
				t.Fatalf("accepted (%s): values %d → %d", raw, before, after)
			}
			return
		}
		if code < 400 || after != before {
			t.Fatalf("refused (%d %s) but the values went from %d to %d", code, raw, before, after)
		}
		if code == http.StatusUnprocessableEntity && json.Unmarshal(raw, &out) == nil {
			for _, e := range out.Errors {
				if e.Row < 1 || e.Column == "" || e.Message == "" {
					t.Fatalf("a row error without its row, column or line: %s", raw)
				}
			}
		}
	})
}
