package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Only the answers with the wanted status are requests (issue 13, item
// 19): a server that refuses every other report quickly must not pass for
// twice the throughput.
func TestRunCountsOnlyTheWantedStatus(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Client(2), 2, 300*time.Millisecond, http.StatusCreated, func(w, i int) (*http.Request, error) {
		return JSONPost(srv.URL, []byte(`{}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	created, refused := res.Status[http.StatusCreated], res.Status[http.StatusUnprocessableEntity]
	if created == 0 || refused == 0 {
		t.Fatalf("statuses %v, want both 201 and 422", res.Status)
	}
	if res.Requests != created || res.Errors != refused {
		t.Errorf("requests %d, errors %d; want %d (the 201s) and %d (the 422s)", res.Requests, res.Errors, created, refused)
	}
	if got, want := res.PerSecond, float64(created)/res.Duration.Seconds(); got != want {
		t.Errorf("rate %v, want %v (201s only)", got, want)
	}
	if s := res.String(); !strings.Contains(s, "statuses map[201:") || !strings.Contains(s, "422:") {
		t.Errorf("String() = %q, want the other statuses listed", s)
	}
}

// A run in which nothing succeeded fails instead of reporting a rate.
func TestRunFailsWithoutAnyWantedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	_, err := Run(context.Background(), Client(1), 1, 100*time.Millisecond, http.StatusCreated, func(w, i int) (*http.Request, error) {
		return JSONPost(srv.URL, []byte(`{}`))
	})
	if err == nil || !strings.Contains(err.Error(), "no request answered 201") {
		t.Fatalf("err = %v, want no request answered 201", err)
	}
}
