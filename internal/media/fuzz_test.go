package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"whistle/internal/errs"
)

// FuzzCheckImage feeds arbitrary bytes to the upload check, as an uploaded
// photo part would. A refusal must be an *errs.Error (a 4xx on the wire);
// an accepted file must be a JPEG or PNG of sane dimensions, returned
// byte for byte.
func FuzzCheckImage(f *testing.F) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var p, j bytes.Buffer
	_ = png.Encode(&p, img)
	_ = jpeg.Encode(&j, img, &jpeg.Options{Quality: 50})
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Add(p.Bytes()[:len(p.Bytes())-5])
	f.Add(j.Bytes()[:len(j.Bytes())/2])
	f.Add([]byte("\xff\xd8\xff"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\xff\xff\xff\xff\x00\x00\x00\x01\x08\x02\x00\x00\x00"))
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		im, out, err := CheckImage(bytes.NewReader(data), limit)
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("a refusal that is not an errs.Error: %T %v", err, err)
			}
			return
		}
		if im.MIME != "image/jpeg" && im.MIME != "image/png" {
			t.Fatalf("accepted MIME %q", im.MIME)
		}
		if im.Width <= 0 || im.Height <= 0 || im.Width > MaxImageSide || im.Height > MaxImageSide {
			t.Fatalf("accepted %d×%d", im.Width, im.Height)
		}
		if !bytes.Equal(out, data) || im.Size != int64(len(data)) {
			t.Fatalf("the accepted bytes differ from the upload (%d vs %d)", len(out), len(data))
		}
	})
}
