package simulate

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzReadDevices: a devices file is refused, or every device in it has
// an id, a scenario its type can play, a district that is one topic level
// (so its topic is its own) and credentials; and what it read writes back
// and reads again unchanged.
func FuzzReadDevices(f *testing.F) {
	h := strings.Join(fileHeader, ",") + "\n"
	for _, s := range []string{
		h + "1,water_meter,330303,dev-1,pw,water\n2,smart_watch,330303,dev-2,pw,fall\n",
		h + "3,parking_sensor,330303,dev-3,pw,\n", h + "4,water_meter,330303,dev-4,pw,fall\n", h + "5,water_meter,33/03,dev-5,pw,water\n",
		h + "6,water_meter,330303,dev-6,,water\n", h + "0,water_meter,330303,dev-0,pw,water\n", h + "7,water_meter,330303,dev-7,pw,water\n7,water_meter,330303,dev-7,pw,leak\n",
		h, "", "id,type\n", h + "\"8\",water_meter,330303,\"dev\n8\",pw,water\n", h + "9,water_meter,+,dev-9,pw,water\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ds, err := ReadDevices(bytes.NewReader(raw))
		if err != nil {
			if ds != nil {
				t.Fatalf("an error with devices: %v", err)
			}
			return
		}
		if len(ds) == 0 {
			t.Fatal("no error and no devices")
		}
		ids := map[int64]bool{}
		for _, d := range ds {
			if d.ID <= 0 || ids[d.ID] || TypeOf(d.Scenario) != d.Type || !token(d.District) || d.Username == "" || d.Password == "" ||
				strings.ContainsAny(d.Topic(), "+#\x00") || strings.Count(d.Topic(), "/") != 4 {
				t.Fatalf("accepted %+v", d)
			}
			ids[d.ID] = true
		}
		var b bytes.Buffer
		if err := WriteDevices(&b, ds); err != nil {
			t.Fatal(err)
		}
		again, err := ReadDevices(&b)
		if err != nil || !slices.Equal(again, ds) {
			t.Fatalf("written and read again: %v\n%+v\n%+v", err, again, ds)
		}
	})
}
