package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// idemClient is one HTTP client with its own cookie jar: one browser, or
// one API client that keeps cookies.
type idemClient struct {
	ts    *httptest.Server
	hc    *http.Client
	token string // bearer token; "" is anonymous
}

func newIdemClient(t *testing.T, ts *httptest.Server, token string) *idemClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &idemClient{ts: ts, hc: &http.Client{Jar: jar}, token: token}
}

// submit posts body to POST /api/v1/cases with Idempotency-Key key and
// returns the status, the body and the header.
func (c *idemClient) submit(t *testing.T, key, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", c.ts.URL+"/api/v1/cases", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// idemCase is what the tests read of a submission's answer.
type idemCase struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
	Error  struct {
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

func parseIdemCase(t *testing.T, body string) idemCase {
	t.Helper()
	var c idemCase
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return c
}

// newIdemServer is district 330303 (OneStreet) with its staff and a
// second resident, behind a server on clk.
func newIdemServer(t *testing.T, d *db.DB, clk clock.Clock) *httptest.Server {
	t.Helper()
	users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "resident2", Region: "330303001001", Role: account.Resident})
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(),
		Users: users, Phone: "13912345678"})
	_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Clock: clk})
	return ts
}

const (
	idemBodyA = `{"category":"ZL0601","description":"A的私事：楼道灯坏了","lat":27.005,"lng":120.005,"address":"A家门口","phone":"13700001111","anonymous":true}`
	idemBodyB = `{"category":"ZL0601","description":"B报的另一件事","lat":27.006,"lng":120.006}`
)

// TestIdempotencyKeyBelongsToItsCaller is issue 13, item 1: a key another
// caller used never answers with that caller's case; the same caller's
// retry does; the same key with another body is refused without a word
// about the first case; and a key expires after a day.
func TestIdempotencyKeyBelongsToItsCaller(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ts := newIdemServer(t, d, clk)
		a := newIdemClient(t, ts, "")
		code, body, hdr := a.submit(t, "key-1", idemBodyA)
		if code != http.StatusCreated {
			t.Fatalf("first anonymous report: got %d %s, want 201", code, body)
		}
		first := parseIdemCase(t, body)
		var issued *http.Cookie
		for _, c := range (&http.Response{Header: hdr}).Cookies() {
			if c.Name == clientCookie {
				issued = c
			}
		}
		if issued == nil || !issued.HttpOnly || !validClientID(issued.Value) || issued.SameSite != http.SameSiteLaxMode || issued.Path != "/" {
			t.Fatalf("client cookie of the first anonymous report: got %+v, want an HttpOnly, SameSite=Lax %s of 32 hex digits", issued, clientCookie)
		}

		// Other callers with the same key: each gets a case of its own, and
		// nothing of A's.
		secret := []string{first.Number, "A的私事", "A家门口", "1111", `"id":` + itoa(int(first.ID)) + `,`}
		others := []struct {
			name   string
			client *idemClient
			body   string
		}{
			{"another anonymous client, the same body", newIdemClient(t, ts, ""), idemBodyA},
			{"another anonymous client, another body", newIdemClient(t, ts, ""), idemBodyB},
			{"a resident, the same body", newIdemClient(t, ts, login(t, ts, "resident")), idemBodyA},
			{"a staff member, another body", newIdemClient(t, ts, login(t, ts, "staff-a")), idemBodyB},
		}
		for _, o := range others {
			code, body, hdr := o.client.submit(t, "key-1", o.body)
			got := parseIdemCase(t, body)
			if code != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "" || got.ID == first.ID {
				t.Errorf("%s with A's key: got %d replayed=%q case %d, want 201 with a new case (A's is %d)",
					o.name, code, hdr.Get("Idempotent-Replayed"), got.ID, first.ID)
			}
			for _, s := range secret {
				if o.body == idemBodyB && strings.Contains(body, s) {
					t.Errorf("%s with A's key: the answer contains %q of A's case: %s", o.name, s, body)
				}
			}
		}

		// A's own retry is answered with A's case.
		code, body, hdr = a.submit(t, "key-1", idemBodyA)
		if got := parseIdemCase(t, body); code != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "true" || got.ID != first.ID {
			t.Errorf("A's retry: got %d replayed=%q case %d, want 201 replayed with case %d", code, hdr.Get("Idempotent-Replayed"), got.ID, first.ID)
		}
		// The same body spelled differently is the same request.
		respelled := `{ "anonymous": true, "phone": "13700001111", "address": "A家门口", "lng": 120.005, "lat": 27.005,
			"description": "A的私事：楼道灯坏了", "category": "ZL0601", "fields": {} }`
		if code, body, _ = a.submit(t, "key-1", respelled); parseIdemCase(t, body).ID != first.ID {
			t.Errorf("A's retry with the JSON spelled differently: got %d %s, want case %d", code, body, first.ID)
		}
		// The same key with another body: 422, and nothing of the case.
		code, body, _ = a.submit(t, "key-1", idemBodyB)
		if got := parseIdemCase(t, body); code != http.StatusUnprocessableEntity || got.Error.Code != "idempotency_mismatch" || got.Error.Fields["idempotency_key"] == "" {
			t.Errorf("A's key with another body: got %d %s, want 422 idempotency_mismatch with a message for idempotency_key", code, body)
		}
		for _, s := range secret {
			if strings.Contains(body, s) {
				t.Errorf("the mismatch answer contains %q of A's case: %s", s, body)
			}
		}
		// A forged or mangled client cookie is no identity: a new one is issued.
		forged := newIdemClient(t, ts, "")
		forged.hc.Jar.SetCookies(mustURL(t, ts.URL), []*http.Cookie{{Name: clientCookie, Value: "anonymous"}})
		if code, body, _ := forged.submit(t, "key-1", idemBodyA); parseIdemCase(t, body).ID == first.ID {
			t.Errorf("a forged client cookie with A's key: got %d with A's case %d", code, first.ID)
		}

		// A day later the key has expired: the same request files a new case,
		// which the key answers with from then on.
		clk.Advance(casework.DefaultIdempotencyTTL + time.Minute)
		code, body, hdr = a.submit(t, "key-1", idemBodyA)
		renewed := parseIdemCase(t, body)
		if code != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "" || renewed.ID == first.ID || renewed.ID == 0 {
			t.Errorf("A's key after it expired: got %d replayed=%q case %d, want 201 with a new case", code, hdr.Get("Idempotent-Replayed"), renewed.ID)
		}
		code, body, hdr = a.submit(t, "key-1", idemBodyA)
		if got := parseIdemCase(t, body); code != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "true" || got.ID != renewed.ID {
			t.Errorf("A's retry after renewal: got %d replayed=%q case %d, want case %d replayed", code, hdr.Get("Idempotent-Replayed"), got.ID, renewed.ID)
		}
	})
}

// TestIdempotencyKeyPerUser: two residents with the same key file two
// cases; each one's retry answers with their own.
func TestIdempotencyKeyPerUser(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ts := newIdemServer(t, d, clk)
		ids := map[string]int64{}
		for _, who := range []string{"resident", "resident2"} {
			c := newIdemClient(t, ts, login(t, ts, who))
			for try := range 2 {
				code, body, _ := c.submit(t, "same-key", idemBodyB)
				got := parseIdemCase(t, body)
				switch {
				case code != http.StatusCreated:
					t.Fatalf("%s, try %d: got %d %s, want 201", who, try, code, body)
				case try == 0:
					ids[who] = got.ID
				case got.ID != ids[who]:
					t.Errorf("%s's retry: got case %d, want their own %d", who, got.ID, ids[who])
				}
			}
		}
		if ids["resident"] == ids["resident2"] {
			t.Errorf("two residents with one key share case %d, want a case each", ids["resident"])
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
