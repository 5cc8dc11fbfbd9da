package open311

import (
	"strings"
	"time"
)

// MaxSpan is the widest date window a query may ask for.
const MaxSpan = 90 * 24 * time.Hour

// cst is China Standard Time (UTC+8 all year), the zone of every time
// Whistle writes in Open311 documents.
func cst() *time.Location { return time.FixedZone("CST", 8*3600) }

// FormatTime writes t as ISO 8601 with the +08:00 offset, to the second;
// the zero time is "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst()).Format("2006-01-02T15:04:05-07:00")
}

// TimeError says why a date or a date window was refused.
type TimeError string

// Error implements error.
func (e TimeError) Error() string { return string(e) }

// The date errors.
const (
	ErrNoZone      TimeError = "open311: a date-time must carry a zone (Z or ±hh:mm)"
	ErrNotDateTime TimeError = "open311: not a W3C date-time such as 2026-11-23T10:00:00+08:00"
	ErrSpan        TimeError = "open311: start_date and end_date may span at most 90 days"
	ErrOrder       TimeError = "open311: end_date is before start_date"
)

// ParseTime reads a W3C date-time (ISO 8601 profile): a date, a time with
// optional seconds and fraction, and a zone, which is required.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if _, err := time.Parse(layout, s); err == nil {
			return time.Time{}, ErrNoZone
		}
	}
	return time.Time{}, ErrNotDateTime
}

// Window turns optional start and end dates into a closed window [from,
// to]. Both given must be in order (ErrOrder) and at most MaxSpan apart
// (ErrSpan); one alone opens a MaxSpan window from or to it; neither means
// the MaxSpan before now.
func Window(start, end, now time.Time) (from, to time.Time, err error) {
	switch {
	case start.IsZero() && end.IsZero():
		return now.Add(-MaxSpan), now, nil
	case end.IsZero():
		return start, start.Add(MaxSpan), nil
	case start.IsZero():
		return end.Add(-MaxSpan), end, nil
	case end.Before(start):
		return start, end, ErrOrder
	case end.Sub(start) > MaxSpan:
		return start, end, ErrSpan
	}
	return start, end, nil
}
