package device

import (
	"bytes"
	"encoding/json"
	"strconv"

	"whistle/internal/errs"
)

// MaxBatch is the most items of one POST /api/v1/telemetry.
const MaxBatch = 5000

// DecodeItems reads the body of POST /api/v1/telemetry: a JSON array of
// {"device": ID, "ts": RFC 3339, "values": {…}}. A body that is not an
// array (or holds more than MaxBatch items) is an Invalid error; an item
// that does not decode is refused in place, so the others still count.
// items and refused together cover every index once.
func DecodeItems(body []byte) (items []Item, idx []int, refused []Refusal, err error) {
	raw, ok := splitArray(body)
	if !ok {
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, nil, nil, errs.E(errs.Invalid, "error.bad_json", "want a JSON array of readings")
		}
	}
	if len(raw) > MaxBatch {
		return nil, nil, nil, errs.E(errs.Invalid, "error.invalid").Field("items", "device.err.batch", MaxBatch)
	}
	items, idx = make([]Item, 0, len(raw)), make([]int, 0, len(raw))
	for i, r := range raw {
		it, ok := fastItem(r)
		if ok {
			if it.Device <= 0 {
				refused = append(refused, Refusal{Index: i, Reason: ReasonUnknownDevice})
				continue
			}
			items, idx = append(items, it), append(idx, i)
			continue
		}
		it = Item{}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&it); err != nil {
			reason := ReasonJSON
			if _, ok := err.(*json.UnmarshalTypeError); ok {
				reason = ReasonType
			}
			refused = append(refused, Refusal{Index: i, Reason: reason})
			continue
		}
		if it.Device <= 0 {
			refused = append(refused, Refusal{Index: i, Reason: ReasonUnknownDevice})
			continue
		}
		items, idx = append(items, it), append(idx, i)
	}
	return items, idx, refused, nil
}

// splitArray cuts a valid JSON array into its elements (sub-slices of
// body, not copies); false when body is not valid JSON or not an array
// (DecodeItems then lets encoding/json decide).
func splitArray(body []byte) ([]json.RawMessage, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	p := fastParser{b: body}
	if !p.byte('[') {
		return nil, false
	}
	out := make([]json.RawMessage, 0, bytes.Count(body, []byte(`"device"`)))
	if p.byte(']') {
		return out, true
	}
	for {
		p.ws()
		start, depth, str := p.i, 0, false
	scan:
		for ; p.i < len(p.b); p.i++ {
			c := p.b[p.i]
			if str {
				switch c {
				case '\\':
					p.i++
				case '"':
					str = false
				}
				continue
			}
			switch c {
			case '"':
				str = true
				continue
			case '{', '[':
				depth++
				continue
			case '}', ']':
				if depth > 0 {
					depth--
					continue
				}
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
			break scan // the element ends before a ',' or the array's ']'
		}
		end := p.i
		for end > start && isSpace(p.b[end-1]) {
			end--
		}
		out = append(out, json.RawMessage(p.b[start:end]))
		if p.byte(',') {
			continue
		}
		return out, p.byte(']')
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// String names a refusal for logs.
func (r Refusal) String() string { return strconv.Itoa(r.Index) + ":" + r.Reason }
