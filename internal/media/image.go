// Package media checks and stores the photos residents and staff attach to
// cases. CheckImage decides by content, not by file name, whether an upload
// is a JPEG or PNG photo of sane dimensions; a BlobStore keeps the checked
// bytes under a key that the case records in the database.
package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"whistle/internal/errs"
)

// Limits on photos.
const (
	// DefaultMaxPhotoBytes is the default largest photo: a phone photo is
	// 2–6 MB, so 10 MiB leaves room without inviting abuse.
	DefaultMaxPhotoBytes = 10 << 20
	// MaxPhotos is the most photos one case, or one step of it, may carry.
	MaxPhotos = 9
	// MaxImageSide is the largest width or height accepted, in pixels.
	MaxImageSide = 12000
	// MaxImagePixels is the largest width×height accepted. A small file can
	// declare a huge image (a decompression bomb) that would exhaust memory
	// when a thumbnail is made; 50 megapixels is above any phone camera.
	MaxImagePixels = 50_000_000
)

// Image describes a checked photo.
type Image struct {
	MIME   string // "image/jpeg" or "image/png"
	Ext    string // "jpg" or "png", without a dot
	Width  int
	Height int
	Size   int64 // bytes
}

// sniffLen is how much CheckImage reads before it decides on the type, so
// that a large file of the wrong type is refused without reading it all.
const sniffLen = 512

var errTruncated = errors.New("the file ends before the image does")

// CheckImage reads a photo from r and checks it: at most maxBytes long (a
// non-positive maxBytes means DefaultMaxPhotoBytes), a JPEG or PNG by its
// magic bytes, a well-formed header with dimensions within MaxImageSide and
// MaxImagePixels, and a complete file (JPEG up to its end-of-image marker,
// PNG up to IEND with valid chunk checksums). It never reads more than
// maxBytes+1 bytes from r. It returns the bytes it checked, so that the
// caller stores exactly those.
//
// Refusals are *errs.Error values: TooLarge (media.too_large) or Invalid
// (media.empty, media.unsupported_type, media.corrupt,
// media.too_many_pixels). A failing r yields its own error, wrapped.
//
// Pixel data is not decoded, which would cost up to 200 MB for a 50
// megapixel image; a file whose structure is complete but whose compressed
// pixels are garbage therefore passes.
func CheckImage(r io.Reader, maxBytes int64) (Image, []byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPhotoBytes
	}
	lr := io.LimitReader(r, maxBytes+1)
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(lr, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Image{}, nil, fmt.Errorf("media: read photo: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return Image{}, nil, errs.E(errs.Invalid, "media.empty")
	}
	var img Image
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		img.MIME, img.Ext = "image/jpeg", "jpg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		img.MIME, img.Ext = "image/png", "png"
	default:
		return Image{}, nil, errs.E(errs.Invalid, "media.unsupported_type")
	}

	var buf bytes.Buffer
	buf.Write(head)
	if _, err := buf.ReadFrom(lr); err != nil {
		return Image{}, nil, fmt.Errorf("media: read photo: %w", err)
	}
	if int64(buf.Len()) > maxBytes {
		return Image{}, nil, errs.E(errs.TooLarge, "media.too_large", humanBytes(maxBytes))
	}
	data := buf.Bytes()
	img.Size = int64(len(data))

	var cfg image.Config
	var complete func([]byte) error
	if img.MIME == "image/jpeg" {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		complete = jpegComplete
	} else {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		complete = pngComplete
	}
	if err != nil {
		return Image{}, nil, errs.E(errs.Invalid, "media.corrupt").Wrap(err)
	}
	img.Width, img.Height = cfg.Width, cfg.Height
	if img.Width <= 0 || img.Height <= 0 {
		return Image{}, nil, errs.E(errs.Invalid, "media.corrupt").Wrap(fmt.Errorf("dimensions %d×%d", img.Width, img.Height))
	}
	if img.Width > MaxImageSide || img.Height > MaxImageSide || int64(img.Width)*int64(img.Height) > MaxImagePixels {
		return Image{}, nil, errs.E(errs.Invalid, "media.too_many_pixels", img.Width, img.Height, MaxImageSide, MaxImagePixels/1_000_000)
	}
	if err := complete(data); err != nil {
		return Image{}, nil, errs.E(errs.Invalid, "media.corrupt").Wrap(err)
	}
	return img, data, nil
}

// jpegComplete walks the JPEG's segments and entropy-coded scans up to the
// end-of-image marker, so that a truncated upload (the usual way a photo
// breaks) is refused; DecodeConfig alone reads only up to the frame header.
func jpegComplete(b []byte) error {
	pos, sawScan := 2, false // after SOI
	for {
		if pos >= len(b) {
			return errTruncated
		}
		if b[pos] != 0xff {
			return fmt.Errorf("jpeg: no marker at byte %d", pos)
		}
		for pos < len(b) && b[pos] == 0xff { // fill bytes
			pos++
		}
		if pos >= len(b) {
			return errTruncated
		}
		m := b[pos]
		pos++
		switch {
		case m == 0xd9: // EOI; anything after it (camera trailers) is ignored
			if !sawScan {
				return errors.New("jpeg: no image data")
			}
			return nil
		case m == 0x01 || 0xd0 <= m && m <= 0xd7: // TEM, RSTn: no length
			continue
		case m == 0x00 || m == 0xd8:
			return fmt.Errorf("jpeg: unexpected marker %#x at byte %d", m, pos-1)
		}
		if pos+2 > len(b) {
			return errTruncated
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		if n < 2 {
			return fmt.Errorf("jpeg: bad segment length at byte %d", pos)
		}
		pos += n
		if pos > len(b) {
			return errTruncated
		}
		if m != 0xda { // not SOS
			continue
		}
		sawScan = true
		// Entropy-coded data runs to the next marker other than a
		// stuffed zero, a restart marker or a fill byte.
		for {
			i := bytes.IndexByte(b[pos:], 0xff)
			if i < 0 || pos+i+1 >= len(b) {
				return errTruncated
			}
			pos += i
			next := b[pos+1]
			if next == 0x00 || 0xd0 <= next && next <= 0xd7 {
				pos += 2
				continue
			}
			if next == 0xff {
				pos++
				continue
			}
			break
		}
	}
}

// pngComplete walks the PNG's chunks up to IEND, checking each CRC, so that
// a truncated or damaged upload is refused.
func pngComplete(b []byte) error {
	pos, sawData := 8, false // after the signature
	for {
		if pos+8 > len(b) {
			return errTruncated
		}
		n := binary.BigEndian.Uint32(b[pos:])
		if n > 1<<31-1 {
			return fmt.Errorf("png: bad chunk length at byte %d", pos)
		}
		end := pos + 12 + int(n)
		if end > len(b) || end < pos {
			return errTruncated
		}
		typ := string(b[pos+4 : pos+8])
		if crc32.ChecksumIEEE(b[pos+4:end-4]) != binary.BigEndian.Uint32(b[end-4:]) {
			return fmt.Errorf("png: bad checksum in chunk %q", typ)
		}
		switch typ {
		case "IDAT":
			sawData = true
		case "IEND":
			if !sawData {
				return errors.New("png: no image data")
			}
			return nil
		}
		pos = end
	}
}

// humanBytes formats a limit for messages: "10 MiB", "1.5 MiB", "300 KiB".
func humanBytes(n int64) string {
	unit, name := int64(1), "B"
	switch {
	case n >= 1<<20:
		unit, name = 1<<20, "MiB"
	case n >= 1<<10:
		unit, name = 1<<10, "KiB"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/float64(unit)), ".0") + " " + name
}
