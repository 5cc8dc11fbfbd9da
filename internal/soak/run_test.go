package soak

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
)

// fakeEnv makes the test binary a fake server (TestFakeSoakServer).
const fakeEnv = "WHISTLE_SOAK_FAKE_SERVER"

// TestFakeSoakServer is not a test: it is the body of the child process
// that TestSoakFailsWhenNothingIsAcknowledged runs as its "server". It
// answers the load's setup like Whistle and refuses every report with 403,
// the soak the issue found passing: every write refused, none lost.
func TestFakeSoakServer(t *testing.T) {
	if os.Getenv(fakeEnv) == "" {
		t.Skip("only runs as the soak's fake server")
	}
	mux := http.NewServeMux()
	ok := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /readyz", ok(200, `{}`))
	mux.HandleFunc("POST /api/v1/session", ok(200, `{"token":"t"}`))
	mux.HandleFunc("PATCH /api/v1/categories/{code}", ok(200, `{}`))
	mux.HandleFunc("POST /api/v1/time-limits", ok(201, `{}`))
	mux.HandleFunc("GET /api/v1/regions/330303/children", ok(200, `{"children":[{"code":"330303001011001","level":"grid","interior_point":{"lat":27.9,"lng":120.7}}]}`))
	mux.HandleFunc("POST /api/v1/cases", ok(403, `{"error":{"code":"forbidden","message":"no"}}`))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(2)
	}
	fmt.Printf("whistle: listening on http://%s\n", ln.Addr())
	_ = http.Serve(ln, mux)
	os.Exit(0)
}

// TestSoakFailsWhenNothingIsAcknowledged (issue 13, item 16): a server
// that refuses every write loses nothing, and the soak used to pass it.
// Now the refusals it did not expect and the cycle that acknowledged
// nothing fail the run.
func TestSoakFailsWhenNothingIsAcknowledged(t *testing.T) {
	if os.Getenv(fakeEnv) != "" {
		t.Skip("inside the fake server")
	}
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	dir := t.TempDir()
	ctx := context.Background()
	// The database the checks read: Whistle's schema, no cases.
	cfg := db.Config{DataDir: filepath.Join(dir, "data")}
	d, err := db.Open(ctx, cfg, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	// The "binary": the fake server, and no rollup command.
	script := filepath.Join(dir, "whistle")
	body := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = rollup ]; then echo 'whistle: unknown command \"rollup\"' >&2; exit 1; fi\n"+
		"exec %q -test.run='^TestFakeSoakServer$' -test.count=1\n", os.Args[0])
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, Config{Name: "fake", Server: []string{script, "demo"}, DataArgs: []string{"--data", cfg.DataDir}, DB: cfg,
		Env: append(os.Environ(), fakeEnv+"=1"), Kills: 1, Workers: 2, MinUp: 100 * time.Millisecond, MaxUp: 100 * time.Millisecond,
		AckWait: time.Second, MinFired: 0, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatalf("a server that refused every write passed: %s; %s", rep.Summary(), rep.Detail())
	}
	all := strings.Join(rep.Problems, "\n")
	for _, want := range []string{"cycle 1: 0 writes acknowledged, fewer than the 10 required", "the server answered 403", "POST /api/v1/cases → 403"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not mention %q:\n%s", want, all)
		}
	}
}
