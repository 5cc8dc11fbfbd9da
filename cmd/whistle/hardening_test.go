package main

// Load and input hardening, against the real server started through run():
// each limit answers a clear 4xx (or, for a slow client, cuts it off) and
// the server goes on serving everyone else.
//
// Clients are told apart by their source address. The server trusts
// X-Forwarded-For only from --trusted-proxies (TestTrustedProxiesFlag; a
// client could forge it to escape its limit), so these tests dial from
// different loopback addresses instead: on Linux the
// whole of 127.0.0.0/8 is local, and a socket bound to 127.0.0.2 reaches
// the server on 127.0.0.1 as a different client.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.x), and that does not follow redirects.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// send makes one request and returns the status, Retry-After and body.
func send(t *testing.T, c *http.Client, method, url, ctype, body string, hdr ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(raw)
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not a JSON error with a message: %q", body)
	}
	return e.Error.Code
}

// healthy asserts that a client from ip is served.
func healthy(t *testing.T, app *testApp, ip string) {
	t.Helper()
	if code, _, body := send(t, clientFrom(t, ip), "GET", app.URL+"/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("the server stopped serving %s: %d %s", ip, code, body)
	}
}

// hardenedApp starts the demo with small limits so that the tests reach
// them quickly.
func hardenedApp(t *testing.T) *testApp {
	t.Helper()
	return startApp(t, "demo", dataArgs(t, "sqlite"), "--max-body", "4096", "--read-header-timeout", "1s",
		"--limit-login", "5", "--limit-anonymous", "3")
}

func TestHardening(t *testing.T) {
	app := hardenedApp(t)
	// A point inside a grid, for valid reports.
	var kids struct {
		Children []struct {
			Code string
			P    struct{ Lat, Lng float64 } `json:"interior_point"`
		}
	}
	do(t, "GET", app.URL+"/api/v1/regions/330303001011/children", "", nil, &kids)
	if len(kids.Children) == 0 {
		t.Fatal("no grids in community 330303001011")
	}
	at := kids.Children[0].P
	report := func(desc string) string {
		b, _ := json.Marshal(map[string]any{"category": "ZL0601", "description": desc, "lat": at.Lat, "lng": at.Lng})
		return string(b)
	}

	t.Run("body limit 413", func(t *testing.T) {
		c := clientFrom(t, "127.0.0.20")
		big := report(strings.Repeat("长", 3000)) // 9 KB of UTF-8, over --max-body 4096
		code, _, body := send(t, c, "POST", app.URL+"/api/v1/cases", "application/json", big)
		if code != http.StatusRequestEntityTooLarge || errorCode(t, body) != "too_large" {
			t.Fatalf("oversized report: %d %s, want 413 too_large", code, body)
		}
		code, _, body = send(t, c, "POST", app.URL+"/api/v1/session", "application/json", `{"username":"`+strings.Repeat("a", 8000)+`"}`)
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized login: %d %s, want 413", code, body)
		}
		healthy(t, app, "127.0.0.20")
	})

	t.Run("login form body limit 413", func(t *testing.T) {
		// The login page's form, not only the JSON API, refuses an
		// oversized body with 413 (pages.go must not turn the
		// MaxBytesError of ParseForm into a 400).
		c := clientFrom(t, "127.0.0.24")
		form := url.Values{"username": {"demo-resident"}, "password": {strings.Repeat("x", 8000)}, "csrf_token": {"t"}}
		code, _, body := send(t, c, "POST", app.URL+"/login", "application/x-www-form-urlencoded", form.Encode(), "Cookie", "whistle_login_csrf=t")
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized login form: %d, want 413 (%.200s)", code, body)
		}
		healthy(t, app, "127.0.0.24")
	})

	t.Run("header limit 431", func(t *testing.T) {
		c := clientFrom(t, "127.0.0.21")
		code, _, body := send(t, c, "GET", app.URL+"/healthz", "", "", "X-Padding", strings.Repeat("x", 100<<10))
		if code != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("100 KiB of headers: %d %q, want 431", code, body)
		}
		healthy(t, app, "127.0.0.21")
	})

	t.Run("slowloris", func(t *testing.T) {
		// Slow clients trickle their headers, a byte pair every 100 ms.
		const slow = 20
		type outcome struct {
			sent int
			err  error
		}
		done := make(chan outcome, slow)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for i := 0; i < slow; i++ {
			go func(i int) {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.22")}}
				conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(app.URL, "http://"))
				if err != nil {
					done <- outcome{err: fmt.Errorf("dial: %v", err)}
					return
				}
				defer conn.Close()
				if _, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: whistle\r\n"); err != nil {
					done <- outcome{err: err}
					return
				}
				// Read in the background: the server's answer to a slow
				// client is to close the connection, without a response.
				closed := make(chan error, 1)
				go func() {
					b, err := io.ReadAll(bufio.NewReader(conn))
					if err == nil && len(b) > 0 {
						err = fmt.Errorf("got a response: %q", b)
					}
					closed <- err
				}()
				sent := 0
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case err := <-closed:
						done <- outcome{sent: sent, err: err}
						return
					case <-ctx.Done():
						done <- outcome{sent: sent, err: errors.New("still connected after 60 s")}
						return
					case <-tick.C:
						// Writes may fail once the server has closed; the
						// reader reports the close.
						if _, err := fmt.Fprintf(conn, "X-%d: y\r\n", sent); err == nil {
							sent++
						}
					}
				}
			}(i)
		}
		// While they trickle, other clients are served.
		for i := 0; i < 3; i++ {
			healthy(t, app, "127.0.0.23")
		}
		for i := 0; i < slow; i++ {
			o := <-done
			if o.err != nil && !errors.Is(o.err, io.EOF) && !isReset(o.err) {
				t.Fatalf("slow client %d: %v", i, o.err)
			}
		}
		healthy(t, app, "127.0.0.23")
	})

	t.Run("login flood 429 per IP", func(t *testing.T) {
		flood := clientFrom(t, "127.0.0.30")
		body := `{"username":"demo-resident","password":"whistle-demo"}`
		var limited int
		var retry string
		for i := 0; i < 8; i++ {
			code, ra, b := send(t, flood, "POST", app.URL+"/api/v1/session", "application/json", body)
			switch code {
			case http.StatusOK:
			case http.StatusTooManyRequests:
				if errorCode(t, b) != "rate_limited" {
					t.Fatalf("429 body: %s", b)
				}
				limited++
				retry = ra
			default:
				t.Fatalf("login %d: %d %s", i, code, b)
			}
		}
		if limited < 3 || retry == "" {
			t.Fatalf("8 logins at once with --limit-login 5: %d refused (Retry-After %q), want at least 3 refused with Retry-After", limited, retry)
		}
		// The login form is limited the same way, with a page.
		form := url.Values{"username": {"demo-resident"}, "password": {"whistle-demo"}, "csrf_token": {"x"}}
		code, ra, _ := send(t, flood, "POST", app.URL+"/login", "application/x-www-form-urlencoded", form.Encode(), "Cookie", "whistle_login_csrf=x")
		if code != http.StatusTooManyRequests || ra == "" {
			t.Fatalf("login form from the flooding IP: %d (Retry-After %q), want 429", code, ra)
		}
		// Another client logs in meanwhile.
		if code, _, b := send(t, clientFrom(t, "127.0.0.31"), "POST", app.URL+"/api/v1/session", "application/json", body); code != http.StatusOK {
			t.Fatalf("login from another IP during the flood: %d %s", code, b)
		}
	})

	t.Run("failed logins slow their client, not the account", func(t *testing.T) {
		// Failures are throttled per username and client (issue 13 item
		// 5): past the free ones, the failing address must wait (each
		// failure doubles the wait, so some attempt of ten is refused
		// however slow the machine), while the account logs in from
		// another address at once.
		bad := `{"username":"demo-street","password":"wrong-password"}`
		attacker := clientFrom(t, "127.0.0.40")
		refused := false
		for i := 0; i < 10 && !refused; i++ {
			code, ra, b := send(t, attacker, "POST", app.URL+"/api/v1/session", "application/json", bad)
			switch {
			case code == http.StatusTooManyRequests && ra != "" && errorCode(t, b) == "rate_limited":
				refused = true
			case code != http.StatusUnauthorized:
				t.Fatalf("failure %d: %d %s", i+1, code, b)
			}
		}
		if !refused {
			t.Fatal("10 failed logins from one address: none refused with 429")
		}
		good := `{"username":"demo-street","password":"whistle-demo"}`
		if code, _, b := send(t, clientFrom(t, "127.0.0.46"), "POST", app.URL+"/api/v1/session", "application/json", good); code != http.StatusOK {
			t.Fatalf("the account from another address: %d %s, want 200", code, b)
		}
	})

	t.Run("anonymous report flood 429 per IP", func(t *testing.T) {
		flood := clientFrom(t, "127.0.0.50")
		var created, limited int
		for i := 0; i < 6; i++ {
			code, ra, b := send(t, flood, "POST", app.URL+"/api/v1/cases", "application/json", report(fmt.Sprintf("匿名 %d", i)))
			switch code {
			case http.StatusCreated:
				created++
			case http.StatusTooManyRequests:
				if ra == "" || errorCode(t, b) != "rate_limited" {
					t.Fatalf("429 without Retry-After: %q %s", ra, b)
				}
				limited++
			default:
				t.Fatalf("anonymous report %d: %d %s", i, code, b)
			}
		}
		if created == 0 || limited < 2 {
			t.Fatalf("6 anonymous reports with --limit-anonymous 3: %d created, %d refused", created, limited)
		}
		// A logged-in resident on the same address is not limited, and an
		// anonymous reporter elsewhere is served.
		var s struct{ Token string }
		code, _, b := send(t, clientFrom(t, "127.0.0.51"), "POST", app.URL+"/api/v1/session", "application/json", `{"username":"demo-resident","password":"whistle-demo"}`)
		if code != http.StatusOK || json.Unmarshal([]byte(b), &s) != nil {
			t.Fatalf("login: %d %s", code, b)
		}
		for i := 0; i < 3; i++ {
			if code, _, b := send(t, flood, "POST", app.URL+"/api/v1/cases", "application/json", report("实名"), "Authorization", "Bearer "+s.Token); code != http.StatusCreated {
				t.Fatalf("a logged-in report from the flooding address: %d %s", code, b)
			}
		}
		if code, _, b := send(t, clientFrom(t, "127.0.0.52"), "POST", app.URL+"/api/v1/cases", "application/json", report("别处")); code != http.StatusCreated {
			t.Fatalf("an anonymous report from another address: %d %s", code, b)
		}
	})
}

// isReset reports a connection reset by the server, or a write to the
// connection it closed.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// TestTrustedProxiesFlag is issue 13 items 5 and 8 through run(): with
// --trusted-proxies, a trusted proxy's X-Forwarded-For names the client
// the login limit counts, and its X-Forwarded-Proto makes cookies Secure;
// anyone else's forwarding headers change nothing.
func TestTrustedProxiesFlag(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"), "--limit-login", "5", "--trusted-proxies", "127.0.0.2/32, ::1")
	proxy, direct := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	const body = `{"username":"demo-resident","password":"not-the-password"}`
	login := func(c *http.Client, xff string) int {
		code, _, _ := send(t, c, "POST", app.URL+"/api/v1/session", "application/json", body, "X-Forwarded-For", xff)
		return code
	}
	// One client behind the proxy uses up its limit...
	limited := 0
	for i := 0; i < 8; i++ {
		if login(proxy, "198.51.100.1") == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("8 logins from one client behind the proxy with --limit-login 5: none refused")
	}
	// ...and another client behind the same proxy is not refused.
	if code := login(proxy, "198.51.100.2"); code == http.StatusTooManyRequests {
		t.Errorf("another client behind the trusted proxy: %d, want it not limited", code)
	}
	// A direct client cannot pass for new clients by forging the header.
	limited = 0
	for i := 0; i < 8; i++ {
		if login(direct, fmt.Sprintf("203.0.113.%d", i+1)) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Error("8 logins from an untrusted peer forging X-Forwarded-For: none refused")
	}
	// Cookies are Secure when the trusted proxy says the client used HTTPS.
	for _, c := range []struct {
		name   string
		client *http.Client
		want   bool
	}{{"trusted proxy", proxy, true}, {"untrusted peer", direct, false}} {
		req, _ := http.NewRequest("GET", app.URL+"/login", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var secure, found bool
		for _, ck := range resp.Cookies() {
			if ck.Name == "whistle_login_csrf" {
				found, secure = true, ck.Secure
			}
		}
		if !found || secure != c.want {
			t.Errorf("%s with X-Forwarded-Proto https: login cookie found %v, Secure %v; want Secure %v", c.name, found, secure, c.want)
		}
	}
	// A bad list is refused at start.
	err := run(context.Background(), []string{"whistle", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/33"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "trusted-proxies") {
		t.Errorf("--trusted-proxies 10.0.0.0/33: %v, want an error naming the flag", err)
	}
}

// TestAPIKeyScopeCLI is issue 13 item 6's command line: apikey create
// takes --region and --services, refuses unknown ones, and apikey list
// shows them.
func TestAPIKeyScopeCLI(t *testing.T) {
	data := dataArgs(t, "sqlite")
	startApp(t, "demo", data)
	withData := func(args ...string) []string { return append(args, data...) }
	out, err := cli(t, withData("apikey", "create", "--name", "street-key", "--region", "330303001", "--services", "ZL05,ZL0601")...)
	if err != nil || !strings.Contains(out, "330303001") || !strings.Contains(out, "ZL05,ZL0601") {
		t.Fatalf("apikey create --region --services: %q %v", out, err)
	}
	out, err = cli(t, withData("apikey", "list")...)
	if err != nil || !strings.Contains(out, "street-key") || !strings.Contains(out, "ZL05,ZL0601") {
		t.Errorf("apikey list: %q %v", out, err)
	}
	for _, bad := range [][]string{{"--region", "999999"}, {"--services", "NOPE"}} {
		args := append([]string{"apikey", "create", "--name", "bad-" + bad[0][2:]}, bad...)
		if _, err := cli(t, withData(args...)...); err == nil || !strings.Contains(err.Error(), bad[1]) {
			t.Errorf("apikey create %v: %v, want an error naming %s", bad, err, bad[1])
		}
	}
}
