package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
	"testing/iotest"

	"whistle/internal/errs"
	"whistle/internal/i18n"
)

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 16), uint8(y * 16), 128, 255})
		}
	}
	return img
}

func encodeJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(4, 4), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngChunk frames one PNG chunk with its length and CRC.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// craftPNG builds a structurally complete PNG whose header declares w×h;
// its pixel data is a valid zlib stream far too short for that size, which
// is how a decompression bomb looks to a header check.
func craftPNG(t *testing.T, w, h uint32) []byte {
	t.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// withJPEGSize rewrites the frame header of a baseline JPEG to declare w×h.
func withJPEGSize(t *testing.T, b []byte, w, h uint16) []byte {
	t.Helper()
	out := bytes.Clone(b)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 marker in the test JPEG")
	}
	// FF C0, length (2), precision (1), height (2), width (2)
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

func TestCheckImage(t *testing.T) {
	jpg := encodeJPEG(t, 16, 8)
	pngb := encodePNG(t, 5, 7)
	badCRC := bytes.Clone(pngb)
	badCRC[len(badCRC)-20] ^= 0xff // inside the last IDAT or its CRC

	for _, tc := range []struct {
		name string
		in   []byte
		want Image // when accepted
		code errs.Code
		key  string // when refused
	}{
		{"real JPEG", jpg, Image{MIME: "image/jpeg", Ext: "jpg", Width: 16, Height: 8, Size: int64(len(jpg))}, "", ""},
		{"real PNG", pngb, Image{MIME: "image/png", Ext: "png", Width: 5, Height: 7, Size: int64(len(pngb))}, "", ""},
		{"JPEG with a trailer after EOI", append(bytes.Clone(jpg), "camera trailer"...), Image{MIME: "image/jpeg", Ext: "jpg", Width: 16, Height: 8, Size: int64(len(jpg) + 14)}, "", ""},
		{"12000×4000 declared, within limits", craftPNG(t, 12000, 4000), Image{MIME: "image/png", Ext: "png", Width: 12000, Height: 4000, Size: int64(len(craftPNG(t, 1, 1)))}, "", ""},

		{"empty", nil, Image{}, errs.Invalid, "media.empty"},
		{"text renamed .jpg", []byte("This is a text file that someone renamed to photo.jpg.\n"), Image{}, errs.Invalid, "media.unsupported_type"},
		{"GIF", encodeGIF(t), Image{}, errs.Invalid, "media.unsupported_type"},
		{"HTML", []byte("<!doctype html><script>alert(1)</script>"), Image{}, errs.Invalid, "media.unsupported_type"},
		{"JPEG magic only", []byte{0xff, 0xd8, 0xff}, Image{}, errs.Invalid, "media.corrupt"},
		{"truncated JPEG", jpg[:len(jpg)/2], Image{}, errs.Invalid, "media.corrupt"},
		{"JPEG without EOI", jpg[:len(jpg)-2], Image{}, errs.Invalid, "media.corrupt"},
		{"truncated PNG", pngb[:len(pngb)-12], Image{}, errs.Invalid, "media.corrupt"},
		{"PNG header only", pngb[:33], Image{}, errs.Invalid, "media.corrupt"},
		{"PNG with a damaged chunk", badCRC, Image{}, errs.Invalid, "media.corrupt"},
		{"PNG 100000×100000", craftPNG(t, 100000, 100000), Image{}, errs.Invalid, "media.too_many_pixels"},
		{"PNG 12001×1", craftPNG(t, 12001, 1), Image{}, errs.Invalid, "media.too_many_pixels"},
		{"PNG 8000×8000 (64 MP)", craftPNG(t, 8000, 8000), Image{}, errs.Invalid, "media.too_many_pixels"},
		{"PNG 0×10", craftPNG(t, 0, 10), Image{}, errs.Invalid, "media.corrupt"},
		{"JPEG 65535×65535", withJPEGSize(t, jpg, 65535, 65535), Image{}, errs.Invalid, "media.too_many_pixels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, data, err := CheckImage(bytes.NewReader(tc.in), DefaultMaxPhotoBytes)
			if tc.key == "" {
				if err != nil {
					t.Fatalf("got error %v, want %+v", err, tc.want)
				}
				if got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
				if !bytes.Equal(data, tc.in) {
					t.Errorf("returned %d bytes that differ from the %d read", len(data), len(tc.in))
				}
				return
			}
			e, ok := errs.As(err)
			if !ok {
				t.Fatalf("got %v (%+v), want *errs.Error %s/%s", err, got, tc.code, tc.key)
			}
			if e.Code != tc.code || e.Msg.Key != tc.key {
				t.Errorf("got %s/%s (%v), want %s/%s", e.Code, e.Msg.Key, err, tc.code, tc.key)
			}
			if data != nil {
				t.Errorf("got %d bytes with an error, want none", len(data))
			}
		})
	}
}

// countingReader yields n bytes that start like a JPEG, counting reads.
type countingReader struct {
	n, read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.n-c.read)]
	for i := range p {
		p[i] = 0
		if at := c.read + int64(i); at < 3 {
			p[i] = []byte{0xff, 0xd8, 0xff}[at]
		}
	}
	c.read += int64(len(p))
	return len(p), nil
}

func TestCheckImageTooLarge(t *testing.T) {
	r := &countingReader{n: 30 << 20}
	_, data, err := CheckImage(r, DefaultMaxPhotoBytes)
	e, ok := errs.As(err)
	if !ok || e.Code != errs.TooLarge || e.Msg.Key != "media.too_large" {
		t.Fatalf("got %v, want too_large/media.too_large", err)
	}
	if got, want := e.Msg.Args, []any{"10 MiB"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("message args: got %v, want %v", got, want)
	}
	if data != nil {
		t.Errorf("got %d bytes, want none", len(data))
	}
	if got, limit := r.read, int64(DefaultMaxPhotoBytes+1); got > limit {
		t.Errorf("read %d bytes of a 30 MiB input, want at most %d", got, limit)
	}
}

func TestCheckImageLimitIsInclusive(t *testing.T) {
	pngb := encodePNG(t, 3, 3)
	for _, tc := range []struct {
		max  int64
		want errs.Code
	}{
		{int64(len(pngb)), ""},
		{int64(len(pngb)) - 1, errs.TooLarge},
		{0, ""}, // the default
	} {
		_, _, err := CheckImage(bytes.NewReader(pngb), tc.max)
		if got := errs.CodeOf(err); got != tc.want {
			t.Errorf("%d-byte PNG, limit %d: got %q (%v), want %q", len(pngb), tc.max, got, err, tc.want)
		}
	}
}

func TestCheckImageReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"at once", iotest.ErrReader(boom)},
		{"after the magic", io.MultiReader(bytes.NewReader(encodeJPEG(t, 2, 2)[:600]), iotest.ErrReader(boom))},
	} {
		_, _, err := CheckImage(tc.r, 0)
		if !errors.Is(err, boom) {
			t.Errorf("%s: got %v, want an error wrapping %v", tc.name, err, boom)
		}
		if _, ok := errs.As(err); ok {
			t.Errorf("%s: got *errs.Error %v, want the reader's error (not the client's fault as far as we know)", tc.name, err)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{10 << 20, "10 MiB"},
		{3 << 19, "1.5 MiB"},
		{300 << 10, "300 KiB"},
		{999, "999 B"},
	} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d): got %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestMessageKeysExist keeps this package's keys in both catalogues.
func TestMessageKeysExist(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"media.bad_key", "media.corrupt", "media.empty", "media.not_found",
		"media.too_large", "media.too_many_pixels", "media.unsupported_type"} {
		if !cat.Has(key) {
			t.Errorf("catalogue lacks %q", key)
		}
	}
	// Arguments fit the message's verbs in both languages.
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		msg := cat.T(lang, "media.too_many_pixels", 100000, 100000, MaxImageSide, MaxImagePixels/1_000_000)
		if bytes.Contains([]byte(msg), []byte("%!")) {
			t.Errorf("%s: badly formatted message %q", lang, msg)
		}
	}
}

// TestJPEGComplete walks hand-made marker sequences that image/jpeg never
// writes: restart markers, fill bytes and several scans (progressive JPEG).
func TestJPEGComplete(t *testing.T) {
	seg := func(marker byte, payload ...byte) []byte {
		return append([]byte{0xff, marker, 0, byte(2 + len(payload))}, payload...)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	soi, eoi := []byte{0xff, 0xd8}, []byte{0xff, 0xd9}
	scan := []byte{0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xff, 0xd1, 0x78} // stuffed zero, RST0, fill + RST1
	progressive := cat(soi, seg(0xe0, 'J', 'F'), seg(0xda, 1, 2, 3), scan, seg(0xc4, 9), seg(0xda, 4), scan, eoi)
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"two scans with restarts and fill", progressive, true},
		{"fill bytes before a marker", cat(soi, []byte{0xff, 0xff}, seg(0xdb, 1), seg(0xda, 1), scan, eoi), true},
		{"trailer after EOI", cat(progressive, []byte("trailer")), true},
		{"no scan", cat(soi, seg(0xe0, 1), eoi), false},
		{"cut inside the second scan", progressive[:len(progressive)-4], false},
		{"cut inside a segment", progressive[:8], false},
		{"cut after a lone 0xff", cat(soi, seg(0xda, 1), []byte{1, 0xff}), false},
		{"garbage between segments", cat(soi, []byte{0x00}, seg(0xda, 1), eoi), false},
		{"segment length below 2", cat(soi, []byte{0xff, 0xe0, 0, 1}, eoi), false},
		{"second SOI", cat(soi, soi, seg(0xda, 1), eoi), false},
	} {
		if err := jpegComplete(tc.in); (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
