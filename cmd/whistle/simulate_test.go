package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/simulate"
)

// TestSimulateCommand: `whistle simulate devices` against `whistle demo
// --mqtt-port`: it registers the devices in the demo's database (for its
// elderly living alone and on new parking spaces), saves their
// credentials, publishes over the embedded MQTT listener and stops at
// --duration; the readings arrive (each device seen, as the device API
// shows). A second run from the saved file needs no database.
func TestSimulateCommand(t *testing.T) {
	data := dataArgs(t, "sqlite")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	app := startApp(t, "demo", data, "--mqtt-port", strconv.Itoa(port), "--people", "300")
	file := filepath.Join(t.TempDir(), "devices.csv")
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	var out, errOut syncBuffer
	args := append([]string{"whistle", "simulate", "devices", "--n", "8", "--rate", "40", "--speed", "600", "--onset", "0s", "--duration", "3s",
		"--mqtt-url", url, "--save", file, "--log-level", "warn"}, data...)
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "simulating 8 devices at 40 messages a second") || !strings.Contains(out.String(), "8 connected, 0 refused") ||
		strings.Contains(out.String(), " 0 acknowledged") {
		t.Errorf("simulate said:\n%s", out.String())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := simulate.ReadDevices(f)
	f.Close()
	if err != nil || len(devs) != 8 {
		t.Fatalf("the saved devices: %v %d", err, len(devs))
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the devices file's mode: %v %v", fi.Mode(), err)
	}
	admin := login(t, app, "demo-admin")
	deadline := time.Now().Add(30 * time.Second)
	for _, d := range devs {
		for {
			var ans struct {
				Device struct {
					LastSeen string `json:"last_seen"`
					Model    string `json:"model"`
				} `json:"device"`
				Malformed map[string]int `json:"malformed"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/devices/"+strconv.FormatInt(d.ID, 10), admin, nil, &ans); code != 200 {
				t.Fatalf("device %d: %d", d.ID, code)
			}
			got := ans.Device
			if got.Model != simulate.Model {
				t.Fatalf("device %d: model %q", d.ID, got.Model)
			}
			for reason, k := range ans.Malformed {
				if k > 0 {
					t.Fatalf("device %d (%s): %d malformed (%s)", d.ID, d.Scenario, k, reason)
				}
			}
			if got.LastSeen != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no reading of device %d (%s) arrived", d.ID, d.Scenario)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// From the file, the first two, without the database.
	out = syncBuffer{}
	args = []string{"whistle", "simulate", "devices", "--devices", file, "--n", "2", "--rate", "20", "--duration", "1s", "--mqtt-url", url, "--data", "/nonexistent"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("simulate from the file: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "simulating 2 devices") || !strings.Contains(out.String(), "2 connected, 0 refused") {
		t.Errorf("simulate from the file said:\n%s", out.String())
	}
}
