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
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, nil, errs.E(errs.Invalid, "error.bad_json", "want a JSON array of readings")
	}
	if len(raw) > MaxBatch {
		return nil, nil, nil, errs.E(errs.Invalid, "error.invalid").Field("items", "device.err.batch", MaxBatch)
	}
	items, idx = make([]Item, 0, len(raw)), make([]int, 0, len(raw))
	for i, r := range raw {
		var it Item
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

// String names a refusal for logs.
func (r Refusal) String() string { return strconv.Itoa(r.Index) + ":" + r.Reason }
