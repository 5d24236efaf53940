package qrcode_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"wagateway/service/qrcode"
)

// whatsAppCode is shaped like whatsmeow's pairing code: "2@" and a server
// reference, then the noise key, identity key and advertising secret, each
// 32 bytes in standard base64, comma-separated.
func whatsAppCode(r *rand.Rand, refBytes int) string {
	b64 := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return "2@" + b64(refBytes) + "," + b64(32) + "," + b64(32) + "," + b64(32)
}

// codes is the table the tests decode: real-shaped codes from 197 to 251
// characters (the most version 11 holds at level M), and two edges.
func codes() []string {
	r := rand.New(rand.NewPCG(15, 230))
	out := []string{"2@a,b,c,d"}
	for _, ref := range []int{45, 54, 60, 66, 68, 70, 72, 75, 78, 84} {
		out = append(out, whatsAppCode(r, ref))
	}
	return append(out, whatsAppCode(r, 120)) // version 13: 69 modules
}

func TestRenderDecodesToTheExactCode(t *testing.T) {
	for _, code := range codes() {
		url, err := qrcode.Render(code)
		if err != nil {
			t.Fatalf("Render(%d chars): %v", len(code), err)
		}
		b, err := qrcode.PNG(url)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%d chars: png.Decode: %v", len(code), err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		// No PURE_BARCODE hint: the reader has to find the finder patterns,
		// as a phone camera does.
		res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("%d chars: QR reader: %v", len(code), err)
		}
		if res.GetText() != code {
			t.Fatalf("decoded %q, want %q", res.GetText(), code)
		}
	}
}

func TestRenderIsASmallOneBitPNGWithFourPixelModules(t *testing.T) {
	for _, code := range codes() {
		url, err := qrcode.Render(code)
		if err != nil {
			t.Fatal(err)
		}
		b, err := qrcode.PNG(url)
		if err != nil {
			t.Fatal(err)
		}
		if len(code) >= 197 && len(code) <= 251 && len(b) > 1500 {
			t.Errorf("%d chars: PNG is %d bytes, want at most 1,500", len(code), len(b))
		}
		// IHDR follows the 8-byte signature and the chunk's length and type.
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")) {
			t.Fatalf("%d chars: no PNG signature and IHDR", len(code))
		}
		if depth, colour := b[24], b[25]; depth != 1 || colour != 3 {
			t.Errorf("%d chars: bit depth %d colour type %d, want 1-bit paletted (1, 3)", len(code), depth, colour)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := img.(*image.Paletted)
		if !ok || len(p.Palette) != 2 {
			t.Fatalf("%d chars: decoded %T, want a 2-colour paletted image", len(code), img)
		}
		side := int(binary.BigEndian.Uint32(b[16:20]))
		modules := side/qrcode.ModulePixels - 2*qrcode.QuietZone
		if side%qrcode.ModulePixels != 0 || (modules-17)%4 != 0 {
			t.Fatalf("%d chars: side %d px is not (4v+17+2·%d)·%d", len(code), side, qrcode.QuietZone, qrcode.ModulePixels)
		}
		dark := func(x, y int) bool { return p.ColorIndexAt(x, y) == 1 }
		q := qrcode.QuietZone * qrcode.ModulePixels
		for i := 0; i < side; i++ {
			for j := 0; j < q; j++ {
				if dark(i, j) || dark(j, i) || dark(i, side-1-j) || dark(side-1-j, i) {
					t.Fatalf("%d chars: dark pixel in the quiet zone near (%d, %d)", len(code), i, j)
				}
			}
		}
		// The top-left finder's outer ring is 7 modules wide: 28 dark pixels
		// on its first row, light right after.
		for x := q; x < q+7*qrcode.ModulePixels; x++ {
			if !dark(x, q) {
				t.Fatalf("%d chars: finder row light at x=%d, want 7 modules of %d px", len(code), x, qrcode.ModulePixels)
			}
		}
		if dark(q+7*qrcode.ModulePixels, q) {
			t.Fatalf("%d chars: finder wider than 7 modules", len(code))
		}
	}
}

func TestRenderAndDecodeErrors(t *testing.T) {
	if _, err := qrcode.Render(""); err == nil {
		t.Error("Render(\"\"): want error")
	}
	if _, err := qrcode.Render(strings.Repeat("x", 3000)); err == nil {
		t.Error("Render(3,000 bytes): want error, no version holds it")
	}
	for _, in := range []string{"", "data:image/png;base64,", "data:text/plain;base64,aGk=", "data:image/png;base64,!!"} {
		if _, err := qrcode.PNG(in); err == nil {
			t.Errorf("PNG(%q): want error", in)
		}
	}
}
