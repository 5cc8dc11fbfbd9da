// Package ratelimit throttles callers with one token bucket per key (an API
// key, an IP address, an account). Memory is bounded: buckets that have
// refilled completely are indistinguishable from new ones and are dropped,
// and beyond a maximum number of keys the least recently seen is evicted.
// Time comes from an injected clock, so tests move time instead of sleeping.
package ratelimit

import (
	"container/list"
	"math"
	"sync"
	"time"

	"whistle/internal/clock"
)

// DefaultMaxKeys is how many keys a Limiter tracks unless told otherwise.
const DefaultMaxKeys = 10000

// Limiter is a set of token buckets, one per key, that all refill at the
// same rate up to the same burst. It is safe for concurrent use. A nil
// *Limiter allows everything.
type Limiter struct {
	rate    float64 // tokens per second
	burst   float64
	maxKeys int
	clock   clock.Clock

	mu      sync.Mutex
	buckets map[string]*list.Element
	lru     *list.List // of *bucket, most recently used first
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// Option tunes a Limiter.
type Option func(*Limiter)

// MaxKeys bounds the number of keys tracked at once (at least 1). When a new
// key arrives at the bound, the least recently seen key is forgotten, which
// at worst grants that key a fresh burst.
func MaxKeys(n int) Option {
	return func(l *Limiter) {
		if n >= 1 {
			l.maxKeys = n
		}
	}
}

// New returns a Limiter that lets each key make burst requests at once and
// then rate requests per second on average. rate must be positive and burst
// at least 1; smaller values are raised to the smallest usable ones.
func New(rate float64, burst int, clk clock.Clock, opts ...Option) *Limiter {
	if !(rate > 0) || math.IsInf(rate, 0) {
		rate = 1
	}
	if burst < 1 {
		burst = 1
	}
	if clk == nil {
		clk = clock.Real{}
	}
	l := &Limiter{rate: rate, burst: float64(burst), maxKeys: DefaultMaxKeys, clock: clk,
		buckets: map[string]*list.Element{}, lru: list.New()}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Allow takes a token from key's bucket. When the bucket is empty it
// returns false and how long until the next token.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
	var b *bucket
	if el, found := l.buckets[key]; found {
		b = el.Value.(*bucket)
		l.refill(b, now)
		l.lru.MoveToFront(el)
	} else {
		for len(l.buckets) >= l.maxKeys {
			l.remove(l.lru.Back())
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.buckets[key] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return false, wait
}

// Len reports how many keys are tracked now.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// refill adds the tokens earned since b was last seen. A clock that goes
// backwards earns nothing.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
}

// evictIdle drops, from the least recently used end, the buckets that have
// refilled completely: forgetting them changes nothing.
func (l *Limiter) evictIdle(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		if now.Sub(el.Value.(*bucket).last) < full {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.buckets, el.Value.(*bucket).key)
	l.lru.Remove(el)
}
