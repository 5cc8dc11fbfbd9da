package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// withJPEGSegment inserts a segment right after SOI.
func withJPEGSegment(t *testing.T, marker byte, payload []byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(2, 2, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	return append(append(append([]byte{}, raw[:2]...), seg...), raw[2:]...)
}

func TestStripMetadata(t *testing.T) {
	gps := []byte("Exif\x00\x00GPSLatitude 27.95 GPSLongitude 120.75")
	t.Run("jpeg exif removed", func(t *testing.T) {
		in := withJPEGSegment(t, 0xE1, gps)
		img, data, err := CheckImage(bytes.NewReader(in), 0)
		if err != nil {
			t.Fatal(err)
		}
		out := StripMetadata(img, data)
		if bytes.Contains(out, []byte("GPSLatitude")) {
			t.Error("EXIF GPS survived")
		}
		if _, _, err := CheckImage(bytes.NewReader(out), 0); err != nil {
			t.Errorf("stripped JPEG no longer valid: %v", err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
			t.Errorf("stripped JPEG does not decode: %v", err)
		}
	})
	t.Run("jpeg icc kept", func(t *testing.T) {
		in := withJPEGSegment(t, 0xE2, []byte("ICC_PROFILE\x00fake"))
		img, data, _ := CheckImage(bytes.NewReader(in), 0)
		if out := StripMetadata(img, data); !bytes.Contains(out, []byte("ICC_PROFILE")) {
			t.Error("the ICC profile was dropped")
		}
	})
	t.Run("png text and exif removed", func(t *testing.T) {
		var b bytes.Buffer
		if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
			t.Fatal(err)
		}
		raw := b.Bytes()
		ihdrEnd := 8 + 12 + 13
		in := append(append(append([]byte{}, raw[:ihdrEnd]...), pngChunk("eXIf", gps)...), pngChunk("tEXt", []byte("Author\x00resident 13812345678"))...)
		in = append(in, raw[ihdrEnd:]...)
		img, data, err := CheckImage(bytes.NewReader(in), 0)
		if err != nil {
			t.Fatal(err)
		}
		out := StripMetadata(img, data)
		if bytes.Contains(out, []byte("GPSLatitude")) || bytes.Contains(out, []byte("13812345678")) {
			t.Error("PNG metadata survived")
		}
		if _, err := png.Decode(bytes.NewReader(out)); err != nil {
			t.Errorf("stripped PNG does not decode: %v", err)
		}
	})
}
