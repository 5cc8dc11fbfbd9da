package calendar

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/errs"
)

// limitSyntax is the syntax ParseLimit's comment documents, written out
// apart from the parser: a whole figure (1 to 9 digits) with wd, ch, h, m
// or h and m.
var limitSyntax = regexp.MustCompile(`^(?:(\d{1,9})wd|(\d{1,9})ch|(\d{1,9})h|(\d{1,9})m|(\d{1,9})h(\d{1,9})m)$`)

// expectLimit reads s by limitSyntax and the documented bounds.
func expectLimit(s string) (Limit, bool) {
	m := limitSyntax.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return Limit{}, false
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(m[i], 10, 64); return v }
	switch {
	case m[1] != "":
		return Limit{Unit: WorkingDays, Days: int(n(1))}, n(1) >= 1 && n(1) <= 1000
	case m[2] != "":
		return Limit{Unit: NaturalTime, Duration: time.Duration(n(2)) * time.Hour}, n(2) >= 1 && n(2) <= 10000
	}
	mins := n(3)*60 + n(4) + n(5)*60 + n(6)
	return Limit{Unit: WorkingTime, Duration: time.Duration(mins) * time.Minute}, mins >= 1 && mins <= 10000*60
}

// FuzzParseLimit: ParseLimit accepts exactly the documented syntax within
// its bounds, reads the same limit as limitSyntax does, refuses with an
// *errs.Error, and String writes what it reads back.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"2h", "30m", "1h30m", "2wd", "6ch", " 3WD ", "0h", "h30m", "1h60m", "1000wd", "1001wd", "10000ch", "10001ch",
		"10000h", "600000m", "600001m", "0000000001h", "1h2h", "1.5h", "-2h", "２h", "", "wd", "1hm", "1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseLimit(s)
		want, ok := expectLimit(s)
		if (err == nil) != ok || ok && got != want {
			t.Fatalf("ParseLimit(%q) = %+v, %v; want %+v, accepted %v", s, got, err, want, ok)
		}
		if err != nil {
			checkInvalid(t, err)
			return
		}
		back, err := ParseLimit(got.String())
		if err != nil || back != got {
			t.Fatalf("ParseLimit(%q).String() = %q reads back as %+v, %v", s, got.String(), back, err)
		}
	})
}

// FuzzParseWorkHours: an accepted spec is ordered HH:MM periods within a
// day with breaks between them, checked here on its own; a spec with a
// part that is not "HH:MM-HH:MM" is refused; String reads back the same.
func FuzzParseWorkHours(f *testing.F) {
	for _, s := range []string{DefaultWorkHoursSpec, "09:00-17:00", " 00:00 - 24:00 ", "13:00-12:00", "08:00-12:00,12:00-13:00", "8:30-12:00",
		"24:01-25:00", "", ",", "08:30-12:00,", "08:30-12:00,13:30-17:30,19:00-21:00", "00:00-00:01", "12:00-13:00,08:00-09:00"} {
		f.Add(s)
	}
	part := regexp.MustCompile(`^\s*(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)\s*$`)
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseWorkHours(s)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		prev := time.Duration(-1)
		for _, p := range strings.Split(s, ",") {
			if !part.MatchString(p) {
				t.Fatalf("ParseWorkHours(%q) accepted the part %q", s, p)
			}
		}
		for _, p := range h {
			if p.Start <= prev || p.Start >= p.End || p.End > 24*time.Hour || p.Start%time.Minute != 0 || p.End%time.Minute != 0 {
				t.Fatalf("ParseWorkHours(%q) = %v", s, h)
			}
			prev = p.End
		}
		back, err := ParseWorkHours(h.String())
		if err != nil || back.String() != h.String() || len(back) != len(h) {
			t.Fatalf("ParseWorkHours(%q).String() = %q reads back as %v, %v", s, h.String(), back, err)
		}
	})
}

// checkInvalid fails unless err is an Invalid *errs.Error, a 4xx on the wire.
func checkInvalid(t *testing.T, err error) {
	t.Helper()
	if e, ok := errs.As(err); !ok || e.Code != errs.Invalid {
		t.Fatalf("a refusal that is not an invalid errs.Error: %T %v", err, err)
	}
}
