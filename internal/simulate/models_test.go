package simulate

import (
	"math/rand/v2"
	"testing"
	"time"
)

// start is a Monday, midnight in Wenzhou.
var start = time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// run steps a model every step for d from start and returns its reports
// with their simulated times.
func run(m model, step, d time.Duration) ([]time.Time, []map[string]any) {
	var ts []time.Time
	var vs []map[string]any
	for t := start.Add(step); !t.After(start.Add(d)); t = t.Add(step) {
		ts = append(ts, t)
		vs = append(vs, m.next(t))
	}
	return ts, vs
}

// TestWaterMeter: a resident draws about 100 litres a day, little at
// night; the one who stops reports nothing after the onset; a leak makes
// water flow in every half-hour after it, over 0.7 m³ a day.
func TestWaterMeter(t *testing.T) {
	const days = 28
	_, vs := run(newModel(Water, start, start, rng(1)), 15*time.Minute, days*24*time.Hour)
	total, night := 0.0, 0.0
	for i, v := range vs {
		w := v["water_m3"].(float64)
		if w < 0 || w > 5 {
			t.Fatalf("a reading of %v m³ (the profile takes 0–5)", w)
		}
		total += w
		// Reports 4..16 of each day cover 01:00–04:00 local.
		if k := i % 96; k >= 4 && k < 16 {
			night += w
		}
	}
	if perDay := total / days * 1000; perDay < 80 || perDay > 120 {
		t.Errorf("a resident uses %.1f litres a day, want about 100", perDay)
	}
	if share := night / total; share > 0.03 {
		t.Errorf("%.1f%% of the water at 01:00–04:00, want under 3%%", share*100)
	}

	onset := start.Add(36 * time.Hour)
	ts, vs := run(newModel(NoWater, start, onset, rng(2)), 30*time.Minute, 4*24*time.Hour)
	before := 0.0
	for i, v := range vs {
		w := v["water_m3"].(float64)
		if ts[i].After(onset) && w != 0 {
			t.Fatalf("%s, after the onset: %v m³", ts[i], w)
		}
		if !ts[i].After(onset) {
			before += w
		}
	}
	if before < 0.05 {
		t.Errorf("before the onset the resident used %v m³, want their normal use", before)
	}

	ts, vs = run(newModel(Leak, start, onset, rng(3)), 30*time.Minute, 4*24*time.Hour)
	after := 0.0
	for i, v := range vs {
		w := v["water_m3"].(float64)
		if ts[i].After(onset) {
			if w <= 0 {
				t.Fatalf("%s, leaking: a half-hour without water", ts[i])
			}
			after += w
		}
	}
	if perDay := after / (4*24 - 36) * 24; perDay < 0.7 {
		t.Errorf("a leak of %.2f m³ a day, want over 0.7", perDay)
	}
}

// TestWatch: a resting heart rate and steps that grow in the day and
// start afresh each day; the fall is reported once, with a racing heart,
// and the steps stop.
func TestWatch(t *testing.T) {
	ts, vs := run(newModel(Watch, start, start, rng(4)), 5*time.Minute, 3*24*time.Hour)
	var lastSteps float64
	maxDay := 0.0
	for i, v := range vs {
		hr, steps := v["heart_rate"].(float64), v["steps"].(float64)
		if hr < 45 || hr > 110 || v["fall"] != false {
			t.Fatalf("%s: %v", ts[i], v)
		}
		if steps < lastSteps && ts[i].In(local).Hour() != 0 {
			t.Fatalf("%s: the steps went down from %v to %v", ts[i], lastSteps, steps)
		}
		lastSteps, maxDay = steps, max(maxDay, steps)
	}
	if maxDay < 2500 || maxDay > 6000 {
		t.Errorf("a day of %v steps, want about 4,000", maxDay)
	}

	onset := start.Add(10 * time.Hour)
	ts, vs = run(newModel(Fall, start, onset, rng(5)), 5*time.Minute, 20*time.Hour)
	falls := 0
	var stepsAtFall float64
	for i, v := range vs {
		if v["fall"] == true {
			falls++
			if hr := v["heart_rate"].(float64); hr < 110 {
				t.Errorf("the fall with a heart rate of %v", hr)
			}
			stepsAtFall = v["steps"].(float64)
		}
		if falls > 0 && v["steps"].(float64) != stepsAtFall {
			t.Fatalf("%s: steps after the fall", ts[i])
		}
	}
	if falls != 1 {
		t.Errorf("%d fall reports, want 1", falls)
	}
}

// TestParking: over many space-days, a kerbside space turns over about
// 11.24 times a day and is occupied about 58% of the time; a no-parking
// space's stays overstay (over 15 minutes) about 1.3% of the time, and
// the sensor's reports show those stays.
func TestParking(t *testing.T) {
	const spaces, days = 20, 20
	turnovers, occupied, reports := 0, 0, 0
	for s := range spaces {
		m := newModel(Parking, start, start, rng(uint64(100+s)))
		prev := ""
		_, vs := run(m, time.Minute, days*24*time.Hour)
		for _, v := range vs {
			st := v["state"].(string)
			if st == "occupied" {
				occupied++
				if prev == "vacant" {
					turnovers++
				}
			}
			prev = st
			reports++
		}
	}
	if perDay := float64(turnovers) / (spaces * days); perDay < 10.5 || perDay > 12 {
		t.Errorf("%.2f turnovers a space a day, want about %.2f", perDay, TurnoversPerDay)
	}
	if share := float64(occupied) / float64(reports); share < 0.5 || share > 0.67 {
		t.Errorf("occupied %.0f%% of the time, want about 58%%", share*100)
	}

	// The share over many stays, from the model itself (a report per
	// minute for each would be slow)...
	stays, over := 0, 0
	for s := range 100 {
		m := newModel(NoParking, start, start, rng(uint64(1000+s))).(*space)
		m.next(start.Add(20 * 24 * time.Hour))
		stays += m.stays
		over += m.overstays
	}
	if share := float64(over) / float64(stays); share < 0.008 || share > 0.02 {
		t.Errorf("%.2f%% of %d no-parking stays overstay, want about 1.3%%", share*100, stays)
	}
	// ... and what the sensor shows of them: a minute's reports show the
	// stays over 15 minutes.
	over, seenLong := 0, 0
	for s := range 20 {
		m := newModel(NoParking, start, start, rng(uint64(2000+s))).(*space)
		length := 0
		_, vs := run(m, time.Minute, 20*24*time.Hour)
		for _, v := range vs {
			if v["state"] == "occupied" {
				length++
				continue
			}
			if length > 15 {
				seenLong++
			}
			length = 0
		}
		over += m.overstays
	}
	if over == 0 || seenLong < over*8/10 || seenLong > over {
		t.Errorf("the sensor showed %d stays over 15 minutes of %d overstays", seenLong, over)
	}
}
