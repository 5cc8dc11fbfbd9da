package device

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Field kinds of a profile.
const (
	KindNumber = "number" // a JSON number within [Min, Max]
	KindBool   = "bool"   // true/false (or 0/1), kept in Values as 0/1
	KindEnum   = "enum"   // one of Values, kept in Reading.Text
)

// Field is one field of a device type's messages.
type Field struct {
	Kind   string   `json:"kind"`
	Unit   string   `json:"unit,omitempty"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	Values []string `json:"values,omitempty"`
}

// Profile is a device type as data: its fields and how often it reports.
type Profile struct {
	Type     string           `json:"type"`
	Interval time.Duration    `json:"-"`
	Every    string           `json:"interval"`
	Fields   map[string]Field `json:"fields"`
}

//go:embed profiles.json
var profilesJSON []byte

// Profiles are the device types by name.
type Profiles map[string]*Profile

// LoadProfiles reads the seeded device types (profiles.json), checked.
func LoadProfiles() (Profiles, error) { return parseProfiles(profilesJSON) }

// parseProfiles reads and checks profile data.
func parseProfiles(b []byte) (Profiles, error) {
	var raw Profiles
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("device: profiles: %w", err)
	}
	for t, p := range raw {
		if !validToken(t) {
			return nil, fmt.Errorf("device: profile %q: bad type name", t)
		}
		p.Type = t
		d, err := time.ParseDuration(p.Every)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("device: profile %q: bad interval %q", t, p.Every)
		}
		p.Interval = d
		if len(p.Fields) == 0 {
			return nil, fmt.Errorf("device: profile %q: no fields", t)
		}
		for name, f := range p.Fields {
			switch f.Kind {
			case KindNumber:
				if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
					return nil, fmt.Errorf("device: profile %q field %q: min > max", t, name)
				}
			case KindBool:
			case KindEnum:
				if len(f.Values) == 0 {
					return nil, fmt.Errorf("device: profile %q field %q: an enum without values", t, name)
				}
			default:
				return nil, fmt.Errorf("device: profile %q field %q: unknown kind %q", t, name, f.Kind)
			}
		}
	}
	return raw, nil
}

// Types lists the device types, sorted.
func (ps Profiles) Types() []string {
	out := make([]string, 0, len(ps))
	for t := range ps {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// check validates one field value, putting it in r; it returns the reason
// of a refusal ("" when accepted).
func (f Field) check(name string, v any, r *Reading) string {
	switch f.Kind {
	case KindNumber:
		x, ok := v.(float64)
		if !ok {
			return ReasonType
		}
		if math.IsNaN(x) || f.Min != nil && x < *f.Min || f.Max != nil && x > *f.Max {
			return ReasonRange
		}
		r.Values[name] = x
	case KindBool:
		switch x := v.(type) {
		case bool:
			r.Values[name] = b2f(x)
		case float64:
			if x != 0 && x != 1 {
				return ReasonRange
			}
			r.Values[name] = x
		default:
			return ReasonType
		}
	case KindEnum:
		x, ok := v.(string)
		if !ok {
			return ReasonType
		}
		if !slices.Contains(f.Values, x) {
			return ReasonRange
		}
		if r.Text == nil {
			r.Text = map[string]string{}
		}
		r.Text[name] = x
	}
	return ""
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
