package policy

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestBlockRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		block int64
		es    []blockEntry
	}{
		{"one subject", 0, []blockEntry{{id: 1, path: "330303/001/", packed: "ENM-"}}},
		{"the block's edges", 3, []blockEntry{{id: 3 << blockShift, path: "a/", packed: "E"}, {id: 3<<blockShift + 1<<blockShift - 1, path: "a/", packed: "NNNNN"}}},
		{"paths shared and not", 1, []blockEntry{{id: 1 << blockShift, path: "a/", packed: "EEM"}, {id: 1<<blockShift + 1, path: "b/", packed: "N-"}, {id: 1<<blockShift + 3, path: "a/", packed: ""}}},
		{"a hundred policies", 9, []blockEntry{{id: 9 << blockShift, path: "x/y/", packed: strings.Repeat("ENM-N", 20)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := encodeBlock(tc.es)
			if err != nil {
				t.Fatal(err)
			}
			var got []blockEntry
			if err := decodeBlock(tc.block, data, func(e blockEntry) error { got = append(got, e); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.es) {
				t.Errorf("got %+v, want %+v", got, tc.es)
			}
		})
	}
}

func TestEncodeBlockRefuses(t *testing.T) {
	tests := []struct {
		name string
		es   []blockEntry
	}{
		{"out of order", []blockEntry{{id: 2, packed: "E"}, {id: 1, packed: "E"}}},
		{"twice", []blockEntry{{id: 2, packed: "E"}, {id: 2, packed: "N"}}},
		{"two blocks", []blockEntry{{id: 1, packed: "E"}, {id: 1 << blockShift, packed: "E"}}},
		{"a letter not a result", []blockEntry{{id: 1, packed: "EX"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := encodeBlock(tc.es); err == nil {
				t.Errorf("encodeBlock(%+v) = nil error, want one", tc.es)
			}
		})
	}
}

func TestDecodeBlockRefuses(t *testing.T) {
	good, err := encodeBlock([]blockEntry{{id: 1, path: "a/", packed: "ENM"}, {id: 2, path: "a/", packed: "ENM"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"another version", append([]byte{9}, good[1:]...)},
		{"cut short", good[:len(good)-1]},
		{"trailing bytes", append(slices.Clone(good), 0)},
		{"ids out of order", func() []byte { b := slices.Clone(good); i := bytes.LastIndexByte(b, 2); b[i] = 1; return b }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := decodeBlock(0, tc.data, func(blockEntry) error { return nil }); err == nil {
				t.Errorf("decodeBlock(%v) = nil error, want one", tc.data)
			}
		})
	}
}

// FuzzDecodeBlock: stored data never makes the decoder panic, and what it
// accepts encodes back to data that decodes to the same entries.
func FuzzDecodeBlock(f *testing.F) {
	for _, es := range [][]blockEntry{
		{{id: 1, path: "330303/001/", packed: "ENM-"}},
		{{id: 16, path: "a/", packed: "EEM"}, {id: 17, path: "b/", packed: "N-"}, {id: 19, path: "a/", packed: ""}},
	} {
		data, err := encodeBlock(es)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blockOf(es[0].id), data)
	}
	f.Fuzz(func(t *testing.T, block int64, data []byte) {
		block &= 1<<40 - 1
		var got []blockEntry
		if err := decodeBlock(block, data, func(e blockEntry) error { got = append(got, e); return nil }); err != nil {
			return
		}
		if len(got) == 0 {
			return
		}
		again, err := encodeBlock(got)
		if err != nil {
			t.Fatalf("decoded entries %+v do not encode: %v", got, err)
		}
		var back []blockEntry
		if err := decodeBlock(block, again, func(e blockEntry) error { back = append(back, e); return nil }); err != nil {
			t.Fatalf("re-encoded block does not decode: %v", err)
		}
		if !slices.Equal(back, got) {
			t.Fatalf("round trip: got %+v, want %+v", back, got)
		}
	})
}

// BenchmarkBlockCodec is a re-check's work on one block besides the
// database: decode a full block of subjects × 100 policies, encode it.
func BenchmarkBlockCodec(b *testing.B) {
	var es []blockEntry
	for i := range 1 << blockShift {
		es = append(es, blockEntry{id: int64(i), path: "330303/001/001/", packed: strings.Repeat("NNENMNNNN-", 10)})
	}
	data, err := encodeBlock(es)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var got []blockEntry
		if err := decodeBlock(0, data, func(e blockEntry) error { got = append(got, e); return nil }); err != nil {
			b.Fatal(err)
		}
		if _, err := encodeBlock(got); err != nil {
			b.Fatal(err)
		}
	}
}
