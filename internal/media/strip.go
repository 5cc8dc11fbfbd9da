package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// StripMetadata removes metadata that can identify a resident — EXIF
// (GPS position, camera serial, time), XMP, IPTC and comments — from a
// checked JPEG or PNG, keeping everything needed to show the image (JFIF,
// ICC colour profiles, Adobe colour transform). Photos are shown to staff
// and, for public cases, to anyone; the location that matters is the
// case's, not the phone's. data must have passed CheckImage.
func StripMetadata(img Image, data []byte) []byte {
	switch img.MIME {
	case "image/jpeg":
		return stripJPEG(data)
	case "image/png":
		return stripPNG(data)
	}
	return data
}

func stripJPEG(data []byte) []byte {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return data
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return data // not a marker where one must be: leave the file alone
		}
		marker := data[i+1]
		if marker == 0xDA { // start of scan: the rest is image data
			return append(out, data[i:]...)
		}
		if marker == 0xD9 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			out = append(out, data[i:i+2]...)
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2 : i+4]))
		if n < 2 || i+2+n > len(data) {
			return data
		}
		seg := data[i : i+2+n]
		// APP1 (EXIF, XMP), APP13 (IPTC) and COM carry metadata.
		if marker != 0xE1 && marker != 0xED && marker != 0xFE {
			out = append(out, seg...)
		}
		i += 2 + n
	}
	return data
}

var pngDrop = map[string]bool{"eXIf": true, "tEXt": true, "iTXt": true, "zTXt": true, "tIME": true}

func stripPNG(data []byte) []byte {
	sig := []byte("\x89PNG\r\n\x1a\n")
	if !bytes.HasPrefix(data, sig) {
		return data
	}
	out := make([]byte, 0, len(data))
	out = append(out, sig...)
	i := len(sig)
	for i+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[i : i+4]))
		if n < 0 || i+12+n > len(data) {
			return data
		}
		typ := string(data[i+4 : i+8])
		chunk := data[i : i+12+n]
		if crc32.ChecksumIEEE(data[i+4:i+8+n]) != binary.BigEndian.Uint32(data[i+8+n:i+12+n]) {
			return data
		}
		if !pngDrop[typ] {
			out = append(out, chunk...)
		}
		i += 12 + n
		if typ == "IEND" {
			return out
		}
	}
	return data
}
