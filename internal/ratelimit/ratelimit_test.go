package ratelimit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/ratelimit"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// step is one call of Allow after moving the clock forward.
type step struct {
	advance time.Duration
	key     string
	ok      bool
	retry   time.Duration
}

func TestAllow(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"burst then refused", 1, 3, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, time.Second},
			{400 * time.Millisecond, "a", false, 600 * time.Millisecond},
			{600 * time.Millisecond, "a", true, 0},
			{0, "a", false, time.Second},
		}},
		{"keys are independent", 1, 1, []step{
			{0, "a", true, 0}, {0, "a", false, time.Second},
			{0, "b", true, 0}, {0, "b", false, time.Second},
		}},
		{"refill never exceeds the burst", 10, 2, []step{
			{0, "a", true, 0}, {0, "a", true, 0},
			{time.Hour, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, 100 * time.Millisecond},
		}},
		{"slow rate", 0.5, 1, []step{
			{0, "a", true, 0}, {0, "a", false, 2 * time.Second},
			{time.Second, "a", false, time.Second}, {time.Second, "a", true, 0},
		}},
		{"clock going backwards earns nothing", 1, 1, []step{
			{0, "a", true, 0}, {-time.Hour, "a", false, time.Second},
		}},
		{"bad parameters are raised to usable ones", 0, 0, []step{
			{0, "a", true, 0}, {0, "a", false, time.Second}, {time.Second, "a", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			l := ratelimit.New(tt.rate, tt.burst, clk)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				ok, retry := l.Allow(s.key)
				if got, want := fmt.Sprint(ok, retry), fmt.Sprint(s.ok, s.retry); got != want {
					t.Errorf("step %d (%s): got %s, want %s", i, s.key, got, want)
				}
			}
		})
	}
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	var l *ratelimit.Limiter
	for range 100 {
		if ok, retry := l.Allow("k"); !ok || retry != 0 {
			t.Fatalf("got %v %v, want true 0", ok, retry)
		}
	}
	if got := l.Len(); got != 0 {
		t.Errorf("Len() = %d, want 0", got)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	clk := clock.NewFake(t0)
	l := ratelimit.New(1, 2, clk, ratelimit.MaxKeys(100))
	for i := range 1000 {
		l.Allow(fmt.Sprintf("ip-%d", i))
		if got := l.Len(); got > 100 {
			t.Fatalf("after %d keys, Len() = %d, want at most 100", i+1, got)
		}
	}
	// The most recent key is remembered (still throttled after its burst) …
	l.Allow("ip-999")
	if ok, _ := l.Allow("ip-999"); ok {
		t.Error("ip-999 got a third request in its burst of 2")
	}
	// … and once every bucket has refilled, all of them are forgotten.
	clk.Advance(2 * time.Second)
	l.Allow("new")
	if got, want := l.Len(), 1; got != want {
		t.Errorf("after the idle period, Len() = %d, want %d", got, want)
	}
}

func TestIdleKeysAreEvictedButBusyOnesKept(t *testing.T) {
	clk := clock.NewFake(t0)
	l := ratelimit.New(1, 5, clk)
	l.Allow("idle")
	clk.Advance(3 * time.Second)
	for range 5 {
		l.Allow("busy")
	}
	clk.Advance(3 * time.Second) // idle: 6 s > 5 s to refill; busy: 3 s < 5 s
	l.Allow("other")
	if got, want := l.Len(), 2; got != want {
		t.Errorf("Len() = %d, want %d (busy and other)", got, want)
	}
	// busy kept its state: 3 tokens earned back, not a fresh 5.
	n := 0
	for {
		if ok, _ := l.Allow("busy"); !ok {
			break
		}
		n++
	}
	if got, want := n, 3; got != want {
		t.Errorf("busy got %d more requests, want %d", got, want)
	}
}

// TestConcurrent runs under -race: goroutines hammering the same key share
// its burst exactly, while other keys come and go.
func TestConcurrent(t *testing.T) {
	clk := clock.NewFake(t0)
	l := ratelimit.New(1, 50, clk, ratelimit.MaxKeys(100))
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				ok, _ := l.Allow("shared")
				l.Allow(fmt.Sprintf("g%d-%d", g, i%4))
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if got, want := allowed, 50; got != want {
		t.Errorf("allowed %d requests on the shared key, want the burst of %d", got, want)
	}
	if got, want := l.Len(), 65; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
}
