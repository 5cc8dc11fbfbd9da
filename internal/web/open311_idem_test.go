package web

import (
	"net/http"
	"strings"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestOpen311IdempotencyMismatch is the Open311 side of issue 13, item 1:
// an API key's Idempotency-Key sent again with another request is refused
// (400, an Open311 error list) and says nothing of the first case; sent
// again with the same request it answers with the first case.
func TestOpen311IdempotencyMismatch(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		first := w.post(t, "/open311/v2/requests.json", w.noiseForm("fms"), "Idempotency-Key", "fms-mismatch")
		if first.status != http.StatusOK {
			t.Fatalf("first request: got %d %s, want 200", first.status, first.body)
		}
		again := w.post(t, "/open311/v2/requests.json", w.noiseForm("fms"), "Idempotency-Key", "fms-mismatch")
		if string(again.body) != string(first.body) {
			t.Errorf("the same request again: got %s, want %s", again.body, first.body)
		}
		other := w.noiseForm("fms")
		other.Set("description", "另一件事")
		a := w.post(t, "/open311/v2/requests.json", other, "Idempotency-Key", "fms-mismatch")
		if descs := checkErrors(t, a, "json", http.StatusBadRequest); !strings.Contains(strings.Join(descs, " "), "Idempotency-Key") {
			t.Errorf("the refusal: got %q, want it to name the Idempotency-Key", descs)
		}
		number := strings.Trim(strings.SplitN(strings.SplitN(string(first.body), `"service_request_id":`, 2)[1], ",", 2)[0], `"`)
		if strings.Contains(string(a.body), number) {
			t.Errorf("the refusal names the first case %s: %s", number, a.body)
		}
	})
}
