package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// TestAnonymousKeysAreNotShared is the attack of issue 13, item 1, against
// the whole server: an anonymous reporter files a case with an
// Idempotency-Key, and a second anonymous client sending the same key
// must not be answered with it (it used to get 201 Idempotent-Replayed
// with the first reporter's description, address and masked phone). The
// first reporter's own retry still replays.
func TestAnonymousKeysAreNotShared(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, d))
			lat, lng := interior(t, app, "330303001011001")
			post := func(c *http.Client, body map[string]any) (int, http.Header, string) {
				t.Helper()
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", app.URL+"/api/v1/cases", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "shared-key-1")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header, string(raw)
			}
			client := func() *http.Client {
				jar, _ := cookiejar.New(nil)
				return &http.Client{Jar: jar}
			}
			victim := client()
			private := map[string]any{"category": "ZL0601", "description": "我家老人独居，门牌 3-502", "lat": lat, "lng": lng,
				"address": "万顺路 3 号 502", "phone": "13700009876", "anonymous": true, "visibility": "private"}
			code, _, body := post(victim, private)
			var first caseResp
			if err := json.Unmarshal([]byte(body), &first); code != http.StatusCreated || err != nil {
				t.Fatalf("the victim's report: got %d %s, want 201", code, body)
			}
			for _, probe := range []map[string]any{
				private, // the attacker guessed the whole body too
				{"category": "ZL0601", "description": "x", "lat": lat, "lng": lng},
			} {
				code, hdr, body := post(client(), probe) // a fresh attacker each time
				var got caseResp
				_ = json.Unmarshal([]byte(body), &got)
				if hdr.Get("Idempotent-Replayed") != "" || got.ID == first.ID || code != http.StatusCreated {
					t.Errorf("another anonymous client with the victim's key: got %d replayed=%q case %d, want 201 with a case of its own (the victim's is %d)",
						code, hdr.Get("Idempotent-Replayed"), got.ID, first.ID)
				}
				if probe["description"] == "x" {
					// Whole pieces of the victim's text: a bare "502" also
					// turns up in an answer's timestamps (…03.502128Z).
					for _, secret := range []string{"门牌", "3-502", "号 502", `9876"`, first.Number} {
						if strings.Contains(body, secret) {
							t.Errorf("the attacker's answer contains %q of the victim's case: %s", secret, body)
						}
					}
				}
			}
			code, hdr, body := post(victim, private)
			var again caseResp
			_ = json.Unmarshal([]byte(body), &again)
			if code != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "true" || again.ID != first.ID {
				t.Errorf("the victim's retry: got %d replayed=%q case %d, want 201 replayed with case %d", code, hdr.Get("Idempotent-Replayed"), again.ID, first.ID)
			}
		})
	}
}
