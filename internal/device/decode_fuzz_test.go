package device_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"whistle/internal/device"
	"whistle/internal/errs"
)

// FuzzDecodeItems feeds arbitrary bodies to the telemetry decoder: it
// never panics, a refused body is Invalid, and an accepted one accounts
// for every array index exactly once, with positive device ids.
func FuzzDecodeItems(f *testing.F) {
	for _, s := range []string{`[]`, `[{"device":1,"ts":"2026-11-23T02:00:00Z","values":{"water_m3":0.1}}]`, `[{"device":"x"}]`, `[1,{},null]`,
		`{"device":1}`, `[{"device":1,"values":{"a":[1]}},{"device":-3}]`, `[{"device":1,"extra":true}]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, idx, refused, err := device.DecodeItems(body)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v, want Invalid", err)
			}
			return
		}
		var raw []json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			t.Fatalf("accepted a body that is not a JSON array: %q", body)
		}
		if len(items) != len(idx) {
			t.Fatalf("%d items with %d indexes", len(items), len(idx))
		}
		seen := make([]int, len(raw))
		for i, x := range idx {
			seen[x]++
			if items[i].Device <= 0 {
				t.Fatalf("item %d with device %d accepted", x, items[i].Device)
			}
		}
		for _, r := range refused {
			seen[r.Index]++
			if r.Reason == "" {
				t.Fatalf("refusal without a reason at %d", r.Index)
			}
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("index %d accounted %d times, want once", i, n)
			}
		}
	})
}

// FuzzNewDeviceJSON decodes arbitrary device JSON as the API does and
// validates it without a database: never a panic; every refusal names
// its fields.
func FuzzNewDeviceJSON(f *testing.F) {
	for _, s := range []string{`{"type":"water_meter","serial":"1","owner_kind":"person","owner_id":1}`, `{"type":"x","lat":91}`, `{}`,
		`{"type":"parking_sensor","serial":"` + string(make([]byte, 70)) + `","owner_kind":"parking_space","owner_id":-1,"installed_on":"2026-13-01"}`} {
		f.Add([]byte(s))
	}
	ps, err := device.LoadProfiles()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var nd device.NewDevice
		if json.Unmarshal(body, &nd) != nil {
			return
		}
		e := device.CheckNewDevice(ps, &nd)
		if e == nil {
			if ps[nd.Type] == nil || nd.Serial == "" || nd.OwnerID <= 0 {
				t.Fatalf("accepted %+v", nd)
			}
			return
		}
		if e.Code != errs.Invalid || len(e.Fields) == 0 {
			t.Fatalf("refusal %v without fields", e)
		}
	})
}

// FuzzDecodeItemsFastPath: the decoder's fast path for the common item
// shape gives exactly what encoding/json gives (the slow path) on any
// body, item by item, and accepts nothing that is not JSON (an MQTT
// message goes through it on its own).
func FuzzDecodeItemsFastPath(f *testing.F) {
	for _, s := range []string{`{"device":1,"ts":"2026-11-23T02:00:00Z","values":{"water_m3":0.1,"fall":true,"state":"occupied"}}`,
		`{"device":12,"values":{"a":-1.5e3,"b":false,"a":2}}`, `{"Device":1}`, `{"device":1.0}`, `{"device":01}`, `{"device":1,"device":2}`,
		`{"device":1,"values":{"a":1e400}}`, `{"device":1,"values":{"é":1}}`, `{"device":1,"ts":"a\u0041"}`, `{"device":9223372036854775808}`,
		`{"device":1,"values":{}}`, `{"device":1,"values":null}`, `{ "device" : 3 , "values" : { "x" : 1 } } `, `{"device":-1}`, `{}`, `{"device":1,"values":{"a":1}`, `{"device":1,"values":{"a":01}}`, `{"ts":"x"} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := device.FastItem(body)
		if !ok {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("fast path accepted %q, which is not JSON", body)
		}
		var slow device.Item
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast path %#v, encoding/json %#v", body, fast, slow)
		}
	})
}

// FuzzSplitArray: cutting the body's array into its elements gives what
// encoding/json gives, whenever it answers.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, ` [ 1 , "a,]" , {"b":[1,{"c":"\"]"}]} , null ] `, `[[],[[]]]`, `{}`, `null`, `[1,]`, `["\\"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := device.SplitArray(body)
		var want []json.RawMessage
		err := json.Unmarshal(body, &want)
		if !ok {
			if err == nil && len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '[' {
				t.Fatalf("%q: not split, encoding/json reads %d elements", body, len(want))
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: split, encoding/json refuses it: %v", body, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, encoding/json %d", body, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: element %d %q, encoding/json %q", body, i, got[i], want[i])
			}
		}
	})
}

// FuzzReadingData: a reading's data column is exactly what encoding/json
// writes for it, whatever its names, texts and numbers.
func FuzzReadingData(f *testing.F) {
	for _, s := range []struct {
		a, b, text string
		x, y       float64
	}{{"heart_rate", "steps", "occupied", 72, 800}, {"a<", "b", "é", 1e-7, 1e21}, {"x", "", "", math.Copysign(0, -1), 1e20}, {"", "y", "\"q\"", 123456789.125, -1.5e-300}} {
		f.Add(s.a, s.b, s.text, s.x, s.y)
	}
	f.Fuzz(func(t *testing.T, a, b, text string, x, y float64) {
		for _, c := range []struct {
			v  map[string]float64
			tx map[string]string
		}{{map[string]float64{a: x, b: y}, nil}, {nil, map[string]string{a: text}}, {map[string]float64{a: x}, map[string]string{b: text, "state": text}}, {nil, nil}} {
			got, err := device.ReadingData(c.v, c.tx)
			want, werr := json.Marshal(struct {
				V map[string]float64 `json:"v,omitempty"`
				T map[string]string  `json:"t,omitempty"`
			}{c.v, c.tx})
			if (err != nil) != (werr != nil) || string(got) != string(want) {
				t.Fatalf("%v %q: got %s (%v), encoding/json %s (%v)", c.v, c.tx, got, err, want, werr)
			}
		}
	})
}
