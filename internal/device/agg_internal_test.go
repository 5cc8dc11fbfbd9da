package device

import (
	"reflect"
	"strings"
	"testing"
)

// TestAggSetRoundTrip: a queued row gives back every aggregate exactly,
// count, sum, min, max and last, whether it is a single reading's short
// line or a merged one's full line.
func TestAggSetRoundTrip(t *testing.T) {
	var s aggSet
	s.add(aggKey{1, 100, "heart_rate"}, agg{n: 1, sum: 72, min: 72, max: 72, last: 72})
	s.add(aggKey{2, 100, "water_m3"}, agg{n: 1, sum: -1e-9, min: -1e-9, max: -1e-9, last: -1e-9})
	s.add(aggKey{2, 100, "steps"}, agg{n: 1, sum: 3, min: 3, max: 3, last: 3})
	s.add(aggKey{2, 100, "steps"}, agg{n: 1, sum: 1, min: 1, max: 1, last: 1})
	data, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")[1:]
	for i, want := range []int{4, 4, 8} {
		if got := len(strings.Fields(lines[i])); got != want {
			t.Errorf("line %d %q: %d tokens, want %d", i, lines[i], got, want)
		}
	}
	var got aggSet
	if err := got.decode(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.keys, s.keys) || !reflect.DeepEqual(got.vals, s.vals) {
		t.Errorf("decoded %v %v, want %v %v", got.keys, got.vals, s.keys, s.vals)
	}
	if want := (agg{n: 2, sum: 4, min: 1, max: 3, last: 1}); got.vals[2] != want {
		t.Errorf("merged steps %+v, want %+v", got.vals[2], want)
	}
}
