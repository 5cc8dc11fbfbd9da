package device_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/worldtest"
)

// sameReading says a and b are the same reading (an empty map as none).
func sameReading(a, b device.Reading) bool {
	return a.Device == b.Device && a.TS.Equal(b.TS) && a.Received.Equal(b.Received) &&
		maps.Equal(a.Values, b.Values) && maps.Equal(a.Text, b.Text)
}

// TestBlockRoundTrip: a block gives back each reading as it was written
// (times to the microsecond), whatever its names and texts, its own
// receipt when it differs from the block's, and only the asked device's.
func TestBlockRoundTrip(t *testing.T) {
	rec := time.Date(2026, 12, 7, 19, 0, 0, 123456000, time.UTC)
	rs := []device.Reading{
		{Device: 7, TS: rec.Add(-time.Minute), Received: rec, Values: map[string]float64{"heart_rate": 72, "steps": 1.5e-9, "big": 3e21}},
		{Device: 8, TS: rec, Received: rec.Add(time.Second), Text: map[string]string{"state": "occupied"}},
		{Device: 7, TS: rec.Add(-2 * time.Hour), Received: rec, Values: map[string]float64{`q"uote<>`: -0.25}, Text: map[string]string{"备注": "水表\n漏水"}},
	}
	data, lo, hi, err := device.EncodeBlock(rs, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !lo.Equal(rs[2].TS) || !hi.Equal(rs[1].TS) {
		t.Errorf("span %v–%v, want %v–%v", lo, hi, rs[2].TS, rs[1].TS)
	}
	tests := []struct {
		name   string
		device int64
		want   []device.Reading
	}{
		{"every device", 0, rs},
		{"device 7", 7, []device.Reading{rs[0], rs[2]}},
		{"device 8", 8, rs[1:2]},
		{"no such device", 9, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := device.DecodeBlock(data, rec, tc.device, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d readings, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if !sameReading(got[i], tc.want[i]) {
					t.Errorf("reading %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// FuzzDecodeBlock feeds arbitrary data to the block decoder: never a
// panic, and what it decodes encodes to a block that decodes to the same.
func FuzzDecodeBlock(f *testing.F) {
	for _, s := range []string{`[]`, `[[1,1765130000000000,{"v":{"a":1}}]]`, `[[2,5,{"t":{"s":"x"}},6]]`, `[[1,2]]`, `[[1,"x",{}]]`, `{}`, ``,
		`[[1,2,{"v":{"a":"b"}}]]`, `[[9223372036854775807,-9223372036854775808,{"v":{"x":1e308}},0]]`} {
		f.Add([]byte(s))
	}
	rec := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := device.DecodeBlock(data, rec, 0, nil)
		if err != nil {
			return
		}
		again, _, _, err := device.EncodeBlock(got, rec)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", got, err)
		}
		back, err := device.DecodeBlock(again, rec, 0, nil)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if len(back) != len(got) {
			t.Fatalf("%d readings back, want %d", len(back), len(got))
		}
		for i := range got {
			if !sameReading(back[i], got[i]) {
				t.Fatalf("reading %d: %+v back, want %+v", i, back[i], got[i])
			}
		}
	})
}

// TestRawReadingsFromRowsAndBlocks: a device's raw readings come from its
// MQTT messages' rows and from the gateways' blocks, within [from, to),
// in time order; the sweep prunes both after the retention, a block when
// its latest reading is older than it.
func TestRawReadingsFromRowsAndBlocks(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		p := f.person(t, "001")
		a := f.create(t, device.NewDevice{Type: "smart_watch", Serial: "A", OwnerKind: device.OwnerPerson, OwnerID: p.ID})
		b := f.create(t, device.NewDevice{Type: "smart_watch", Serial: "B", OwnerKind: device.OwnerPerson, OwnerID: p.ID})
		start := clk.Now()
		items := []device.Item{
			{Device: a.ID, TS: start.Add(-time.Hour).Format(time.RFC3339Nano), Values: map[string]any{"heart_rate": 60.0}},
			{Device: b.ID, Values: map[string]any{"heart_rate": 61.0}},
			{Device: a.ID, Values: map[string]any{"heart_rate": 62.0}},
		}
		if res, err := f.ing.IngestItems(ctx, items, clk.Now(), nil); err != nil || res.Accepted != 3 {
			t.Fatalf("items: %+v %v", res, err)
		}
		clk.Advance(time.Minute)
		msg := device.Message{Device: a.ID, Seq: 1, Epoch: 1, Received: clk.Now(), Data: []byte(`{"values":{"heart_rate":63}}`)}
		if res, err := f.ing.IngestMessages(ctx, []device.Message{msg}); err != nil || res.Accepted != 1 {
			t.Fatalf("message: %+v %v", res, err)
		}
		rates := func(from, to time.Time) []float64 {
			t.Helper()
			rs, err := f.store.RawReadings(ctx, a.ID, from, to)
			if err != nil {
				t.Fatal(err)
			}
			var out []float64
			for _, r := range rs {
				if r.Device != a.ID {
					t.Errorf("reading of device %d, want only %d's", r.Device, a.ID)
				}
				out = append(out, r.Values["heart_rate"])
			}
			return out
		}
		far := start.Add(24 * time.Hour)
		for _, tc := range []struct {
			name     string
			from, to time.Time
			want     []float64
		}{
			{"all of a's", start.Add(-2 * time.Hour), far, []float64{60, 62, 63}},
			{"from the block's newest on", start, far, []float64{62, 63}},
			{"the block's older one alone", start.Add(-2 * time.Hour), start, []float64{60}},
			{"nothing", far, far.Add(time.Hour), nil},
		} {
			if got := rates(tc.from, tc.to); !equalFloats(got, tc.want) {
				t.Errorf("%s: heart rates %v, want %v", tc.name, got, tc.want)
			}
		}
		// Past the retention of the block's newest reading but not of the
		// message: the block goes whole, with its three readings.
		clk.Advance(7*24*time.Hour - 30*time.Second)
		if pruned, _, err := f.ing.Sweep(ctx); err != nil || pruned != 3 {
			t.Fatalf("sweep: pruned %d, %v; want the block's 3", pruned, err)
		}
		if got := rates(start.Add(-2*time.Hour), far); !equalFloats(got, []float64{63}) {
			t.Errorf("after the block's retention: %v, want [63]", got)
		}
		clk.Advance(time.Minute)
		if pruned, _, err := f.ing.Sweep(ctx); err != nil || pruned != 1 {
			t.Fatalf("sweep: pruned %d, %v; want the message's 1", pruned, err)
		}
	})
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
