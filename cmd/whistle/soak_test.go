package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"whistle/internal/bus"
	"whistle/internal/db"
	"whistle/internal/soak"
)

// asWhistleEnv makes the test binary run as `whistle` with its arguments
// instead of running tests (TestMain): the crash soak starts it as its
// server and kills it.
const asWhistleEnv = "WHISTLE_TEST_AS_WHISTLE"

func TestMain(m *testing.M) {
	if os.Getenv(asWhistleEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := run(ctx, os.Args, func(string) string { return "" }, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "whistle:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCrashSoakPublishesEveryFeedEvent is the acceptance test of the
// change feed (issue 14): the crash soak kills the server with SIGKILL
// under load, and afterwards every case event on the feed must have
// reached the bus, which outlives the kills (a NATS server in this test
// process, given to the server with --nats). A short run of `make soak`'s
// check, on SQLite.
func TestCrashSoakPublishesEveryFeedEvent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	nb, err := bus.Open(ctx, bus.Config{DataDir: filepath.Join(dir, "nats"), Port: port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	script := filepath.Join(dir, "whistle")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", asWhistleEnv, os.Args[0])), 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var log strings.Builder
	rep, err := soak.Run(ctx, soak.Config{Name: "sqlite", Server: []string{script, "demo", "--seed", "1"}, DataArgs: []string{"--data", data},
		DB: db.Config{DataDir: data}, Kills: 2, Workers: 4, MinUp: 300 * time.Millisecond, MaxUp: 800 * time.Millisecond, Seed: 1,
		MinFired: 0, NATS: fmt.Sprintf("nats://127.0.0.1:%d", port), Log: &log})
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, log.String())
	}
	notes := strings.Join(rep.Notes, "\n")
	t.Logf("%s\n%s", rep.Summary(), notes)
	if !rep.OK() || !strings.Contains(notes, "bus: every one of the") {
		t.Errorf("%s; %s\nproblems:\n%s\nnotes:\n%s", rep.Summary(), rep.Detail(), strings.Join(rep.Problems, "\n"), notes)
	}
}
