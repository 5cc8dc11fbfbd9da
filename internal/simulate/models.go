package simulate

import (
	"math"
	"math/rand/v2"
	"time"
)

// The scenarios a simulated device plays.
const (
	// Water is an elderly resident's water meter: about 100 litres a day,
	// in draws (a flush, cooking, a wash) that follow the day.
	Water = "water"
	// NoWater is the same resident who stops using water at the onset:
	// the meter goes on reporting zero (the low-use rule's case).
	NoWater = "no_water"
	// Leak is a meter with a leak from the onset: about 30 litres an hour
	// on top of the normal use, so water flows in every half-hour.
	Leak = "leak"
	// Watch is a smart watch on an elderly wrist: resting heart rate, the
	// day's steps, battery.
	Watch = "watch"
	// Fall is the same watch whose wearer falls at the onset: one report
	// with the fall flag and a racing heart, then stillness (no more
	// steps) at a raised heart rate.
	Fall = "fall"
	// Parking is a kerbside space's sensor at about 11.24 turnovers a day
	// (stays of about 75 minutes).
	Parking = "parking"
	// NoParking is a no-parking space's sensor: short stops (a drop-off)
	// and, in 1.3% of the stays, a car left there for 16 to 60 minutes.
	NoParking = "no_parking"
)

// Scenarios lists every scenario.
var Scenarios = []string{Water, NoWater, Leak, Watch, Fall, Parking, NoParking}

// TypeOf is the device type a scenario simulates.
func TypeOf(scenario string) string {
	switch scenario {
	case Water, NoWater, Leak:
		return "water_meter"
	case Watch, Fall:
		return "smart_watch"
	case Parking, NoParking:
		return "parking_sensor"
	}
	return ""
}

// The figures the scenarios follow.
const (
	// TurnoversPerDay is a kerbside space's turnover (the seed's 11.24).
	TurnoversPerDay = 11.24
	// meanStay is a kerbside stay's mean, in minutes.
	meanStay = 75.0
	// OverstayShare is the share of no-parking stays that overstay (the
	// seed's illegal-parking rate, 1.3%).
	OverstayShare = 0.013
	// leakLitresPerHour is a leaking meter's extra flow.
	leakLitresPerHour = 30.0
	// drawLitres is a water draw's mean.
	drawLitres = 5.0
)

// waterByHour is a resident's mean use, litres in each local hour (about
// 100 a day: little at night, peaks at breakfast and in the evening).
var waterByHour = [24]float64{0.5, 0.3, 0.3, 0.3, 0.5, 2, 8, 10, 8, 5, 4, 5, 7, 4, 3, 3, 4, 6, 9, 8, 6, 4, 2, 1}

// stepsByHour is an elderly wearer's mean steps in each local hour (about
// 4,000 a day).
var stepsByHour = [24]float64{0, 0, 0, 0, 0, 20, 250, 450, 400, 350, 300, 250, 150, 100, 200, 300, 350, 300, 200, 150, 80, 40, 10, 0}

// local is the district's time, in which the day's patterns run.
var local = time.FixedZone("CST", 8*3600)

// model is a device's behaviour: next returns the values it reports at
// simulated time t, about what happened since its last report.
type model interface {
	next(t time.Time) map[string]any
}

// newModel returns the model of scenario, starting at start; the special
// scenarios begin at onset.
func newModel(scenario string, start, onset time.Time, rng *rand.Rand) model {
	switch scenario {
	case Water, NoWater, Leak:
		return &meter{rng: rng, last: start, onset: onset, mode: scenario, battery: 60 + 40*rng.Float64()}
	case Watch, Fall:
		return &watch{rng: rng, last: start, onset: onset, fall: scenario == Fall, battery: 50 + 50*rng.Float64()}
	case Parking, NoParking:
		p := &space{rng: rng, noParking: scenario == NoParking, battery: 70 + 30*rng.Float64()}
		// Start in the steady state: occupied with the long-run share.
		p.at = start
		if rng.Float64() < p.occupiedShare() {
			p.occupied = true
			p.at = start.Add(-time.Duration(rng.Float64() * float64(p.stay())))
		}
		p.plan()
		return p
	}
	return nil
}

// meter is a water meter: each report is the litres drawn since the last.
type meter struct {
	rng     *rand.Rand
	last    time.Time
	onset   time.Time
	mode    string
	battery float64
}

func (m *meter) next(t time.Time) map[string]any {
	if t.Before(m.last) {
		t = m.last
	}
	litres := 0.0
	// Before the onset (and always for a plain meter) the resident draws
	// water; no_water stops at the onset; a leak adds its flow after it.
	normalTo := t
	if m.mode == NoWater && m.onset.Before(t) {
		normalTo = maxTime(m.last, m.onset)
	}
	if mean := expectedLitres(m.last, normalTo); mean > 0 {
		draws := poisson(m.rng, mean/drawLitres)
		for range draws {
			litres += m.rng.ExpFloat64() * drawLitres
		}
	}
	if m.mode == Leak && m.onset.Before(t) {
		from := maxTime(m.last, m.onset)
		litres += t.Sub(from).Hours() * leakLitresPerHour * (0.9 + 0.2*m.rng.Float64())
	}
	m.last = t
	m.battery = math.Max(5, m.battery-0.001)
	return map[string]any{"water_m3": round(math.Min(litres/1000, 5), 4), "battery": round(m.battery, 1)}
}

// expectedLitres integrates waterByHour over [from, to).
func expectedLitres(from, to time.Time) float64 {
	sum := 0.0
	for t := from; t.Before(to); {
		lt := t.In(local)
		hourEnd := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, local).Add(time.Hour)
		end := minTime(hourEnd, to)
		sum += waterByHour[lt.Hour()] * end.Sub(t).Hours()
		t = end
	}
	return sum
}

// watch is a smart watch.
type watch struct {
	rng     *rand.Rand
	last    time.Time
	onset   time.Time
	fall    bool
	fallen  bool
	steps   float64
	day     int
	battery float64
}

func (w *watch) next(t time.Time) map[string]any {
	if t.Before(w.last) {
		t = w.last
	}
	lt := t.In(local)
	if lt.YearDay() != w.day {
		w.steps, w.day = 0, lt.YearDay()
	}
	w.battery = math.Max(5, w.battery-0.01)
	out := map[string]any{"battery": round(w.battery, 1), "fall": false}
	switch {
	case w.fall && !w.fallen && !t.Before(w.onset):
		// The fall: the watch's own 30–60 s cancel countdown has run out.
		w.fallen = true
		out["fall"] = true
		out["heart_rate"] = round(118+14*w.rng.Float64(), 0)
	case w.fallen:
		// Stillness on the floor: no steps, the heart still racing.
		out["heart_rate"] = round(88+10*w.rng.Float64(), 0)
	default:
		w.steps += stepsBetween(w.last, t) * (0.7 + 0.6*w.rng.Float64())
		active := stepsByHour[lt.Hour()] / 450
		out["heart_rate"] = round(62+14*active+w.rng.NormFloat64()*4, 0)
	}
	out["steps"] = math.Min(round(w.steps, 0), 100000)
	w.last = t
	return out
}

// stepsBetween integrates stepsByHour over [from, to), within one day.
func stepsBetween(from, to time.Time) float64 {
	sum := 0.0
	for t := from; t.Before(to); {
		lt := t.In(local)
		hourEnd := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, local).Add(time.Hour)
		end := minTime(hourEnd, to)
		sum += stepsByHour[lt.Hour()] * end.Sub(t).Hours()
		t = end
	}
	return sum
}

// space is a parking sensor: it reports its space's state. Arrivals are
// a Poisson process; stays are log-normal (kerbside) or, on a no-parking
// space, mostly a few minutes with the odd overstay.
type space struct {
	rng       *rand.Rand
	noParking bool
	occupied  bool
	at        time.Time // when the state last changed
	change    time.Time // when it changes next
	battery   float64
	// Stays and Overstays count the stays begun (for the tests).
	stays, overstays int
}

// meanGap is the mean vacant time between stays.
func (p *space) meanGap() time.Duration {
	if p.noParking {
		return 90 * time.Minute
	}
	gap := 24*60/TurnoversPerDay - meanStay
	return time.Duration(gap * float64(time.Minute))
}

func (p *space) occupiedShare() float64 {
	if p.noParking {
		return 0.03
	}
	return meanStay * TurnoversPerDay / (24 * 60)
}

// stay draws a stay's length.
func (p *space) stay() time.Duration {
	if !p.noParking {
		// Log-normal with mean meanStay and σ 0.8.
		const sigma = 0.8
		mu := math.Log(meanStay) - sigma*sigma/2
		return time.Duration(math.Exp(mu+sigma*p.rng.NormFloat64()) * float64(time.Minute))
	}
	if p.rng.Float64() < OverstayShare {
		p.overstays++
		return time.Duration((16 + 44*p.rng.Float64()) * float64(time.Minute))
	}
	// A drop-off: one to seven minutes.
	return time.Duration((1 + 6*p.rng.Float64()) * float64(time.Minute))
}

// plan draws the next change from the current state.
func (p *space) plan() {
	if p.occupied {
		p.change = p.at.Add(max(p.stay(), 30*time.Second))
		return
	}
	p.change = p.at.Add(time.Duration(p.rng.ExpFloat64() * float64(p.meanGap())))
}

func (p *space) next(t time.Time) map[string]any {
	for !p.change.After(t) {
		p.at, p.occupied = p.change, !p.occupied
		if p.occupied {
			p.stays++
		}
		p.plan()
	}
	p.battery = math.Max(5, p.battery-0.001)
	state := "vacant"
	if p.occupied {
		state = "occupied"
	}
	return map[string]any{"state": state, "battery": round(p.battery, 1)}
}

// poisson draws from a Poisson distribution of mean m (Knuth's method
// for small means, a rounded normal above 30).
func poisson(rng *rand.Rand, m float64) int {
	if m <= 0 {
		return 0
	}
	if m > 30 {
		return max(0, int(math.Round(m+math.Sqrt(m)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func round(v float64, places int) float64 {
	f := math.Pow(10, float64(places))
	return math.Round(v*f) / f
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
