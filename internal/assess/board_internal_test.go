package assess

import "testing"

func TestPreviousPeriod(t *testing.T) {
	for in, want := range map[string]string{"2026-11": "2026-10", "2026-01": "2025-12", "2026-Q3": "2026-Q2", "2026-Q1": "2025-Q4", "2026": "2025"} {
		if got, ok := previousPeriod(in); !ok || got != want {
			t.Errorf("previousPeriod(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "2026-13", "26-01", "2026-Q5"} {
		if got, ok := previousPeriod(bad); ok {
			t.Errorf("previousPeriod(%q) = %s, want none", bad, got)
		}
	}
}
