package registry

import (
	"fmt"
	"reflect"
	"testing"
)

// snapRoundTrip decodes data of block into copies of its subjects.
func snapRoundTrip(block int64, data []byte) ([]snapSubject, error) {
	var out []snapSubject
	d := &snapDecoder{intern: func(b []byte) string { return string(b) }}
	err := d.decode(block, data, func(s *snapSubject) error {
		c := *s
		c.facts = append([]snapFact(nil), s.facts...)
		if len(c.facts) == 0 {
			c.facts = nil
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func sampleSnap() []snapSubject {
	return []snapSubject{
		{id: 64, grid: "330303001001001", path: "330303.330303001.330303001001.330303001001001", cols: [snapCols]string{"F", "resident", "1950-02-03", "H1"}, household: 2,
			facts: []snapFact{{key: "dibao", value: "true", flags: snapVerified}, {key: "income_per_head", value: "700", flags: snapHousehold}}},
		{id: 65, grid: "330303001001001", path: "330303.330303001.330303001001.330303001001001", cols: [snapCols]string{"M", "resident", "", ""}},
		{id: 95, grid: "330303001002001", path: "330303.330303001.330303001002.330303001002001", cols: [snapCols]string{"M", "lodging", "2001-12-31", "H1"}, household: 2,
			facts: []snapFact{{key: "tags", value: `["a","b"]`, flags: snapVerified | snapHousehold}}},
	}
}

// TestSnapCodec: a block decodes to what was encoded; subjects out of
// order or of another block are refused at encoding.
func TestSnapCodec(t *testing.T) {
	in := sampleSnap()
	data, err := encodeSnap(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snapRoundTrip(2, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, in)
	}
	for name, ss := range map[string][]snapSubject{
		"none":          nil,
		"out of order":  {in[1], in[0]},
		"twice":         {in[0], in[0]},
		"another block": {in[0], {id: 96}},
	} {
		if _, err := encodeSnap(ss); err == nil {
			t.Errorf("%s: encoded, want an error", name)
		}
	}
}

// TestSnapDecodeRefusesMalformed: every truncation of a block, a wrong
// version, ids past the block or wrapped back into it, a string that is
// not there, bad flags and trailing bytes are errors, never a panic or a subject of another
// block.
func TestSnapDecodeRefusesMalformed(t *testing.T) {
	data, err := encodeSnap(sampleSnap())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := snapRoundTrip(2, data[:n]); err == nil {
			t.Errorf("truncated to %d of %d bytes: decoded", n, len(data))
		}
	}
	bad := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), data...)) }
	for name, c := range map[string]struct {
		block int64
		data  []byte
	}{
		"version": {2, bad(func(b []byte) []byte { b[0] = 9; return b })},
		// One empty string; one subject at offset 32, past the block's 32.
		"id past the block": {0, []byte{snapVersion, 1, 0, 1, 32, 0, 0, 0, 0, 0, 0, 0, 0}},
		// Two subjects at offsets 20 and 20: the second is id 41.
		"second id past the block": {0, []byte{snapVersion, 1, 0, 2, 20, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0}},
		"string index":             {0, []byte{snapVersion, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
		// The second subject's offset is 2⁶⁴−1: as an int64 it is −1,
		// which would give the first subject's id again, in the block.
		"id wrapped back": {0, []byte{snapVersion, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}},
		"trailing bytes": {2, bad(func(b []byte) []byte { return append(b, 0) })},
	} {
		if _, err := snapRoundTrip(c.block, c.data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// The first subject's first fact's flags: find the byte by encoding a
	// block whose only fact has flags the decoder refuses.
	one := []snapSubject{{id: 1, facts: []snapFact{{key: "k", value: "v", flags: 4}}}}
	data, err = encodeSnap(one)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapRoundTrip(0, data); err == nil {
		t.Error("flags 4: decoded")
	}
}

// FuzzSnapDecode: decoding arbitrary bytes returns subjects of the block
// in rising id order with string indexes in range, or an error; never a
// panic. What decodes encodes back to the same bytes.
func FuzzSnapDecode(f *testing.F) {
	data, err := encodeSnap(sampleSnap())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(int64(2), data)
	f.Add(int64(0), []byte{snapVersion, 0, 0})
	f.Fuzz(func(t *testing.T, block int64, data []byte) {
		block &= 1<<40 - 1
		got, err := snapRoundTrip(block, data)
		if err != nil {
			return
		}
		prev := int64(-1) << 62
		for _, s := range got {
			if snapBlock(s.id) != block || s.id <= prev {
				t.Fatalf("subject %d in block %d after %d", s.id, block, prev)
			}
			prev = s.id
		}
		if len(got) == 0 {
			return
		}
		again, err := encodeSnap(got)
		if err != nil {
			t.Fatalf("decoded %v, encoding it again: %v", got, err)
		}
		back, err := snapRoundTrip(block, again)
		if err != nil || fmt.Sprint(back) != fmt.Sprint(got) {
			t.Fatalf("re-encoded %v decodes to %v, %v", got, back, err)
		}
	})
}
