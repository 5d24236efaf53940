package qrcode

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	skip2 "github.com/skip2/go-qrcode"
	"rsc.io/qr"
)

// legacyRender is Render as it was before issue 15 (skip2's encoder and PNG
// at 256 px), kept only as the benchmark's baseline.
func legacyRender(code string) (string, error) {
	png, err := skip2.Encode(code, skip2.Medium, 256)
	if err != nil {
		return "", err
	}
	return prefix + base64.StdEncoding.EncodeToString(png), nil
}

// benchCode is a 229-character code shaped like whatsmeow's.
var benchCode = func() string {
	r := rand.New(rand.NewPCG(1, 2))
	b64 := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return "2@" + b64(68) + "," + b64(32) + "," + b64(32) + "," + b64(32)
}()

// BenchmarkRender compares the whole render (code to data URL) with the
// legacy path, in one run so machine load affects both alike.
func BenchmarkRender(b *testing.B) {
	for _, bm := range []struct {
		name   string
		render func(string) (string, error)
	}{{"legacy-skip2", legacyRender}, {"new", Render}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.render(benchCode); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSymbol compares the candidate encoders on the symbol alone (no
// PNG): this is the measurement the encoder was chosen on.
func BenchmarkSymbol(b *testing.B) {
	b.Run("skip2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q, err := skip2.New(benchCode, skip2.Medium)
			if err != nil {
				b.Fatal(err)
			}
			_ = q.Bitmap()
		}
	})
	b.Run("gozxing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encoder.Encoder_encodeWithoutHint(benchCode, decoder.ErrorCorrectionLevel_M); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rsc-qr-mask0", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := qr.Encode(benchCode, qr.M); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-rsc-coding-best-mask", func(b *testing.B) {
		b.ReportAllocs()
		var s scratch
		for b.Loop() {
			if _, err := s.symbol(benchCode); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// pngBuffers lets image/png reuse its zlib writer, as Render reuses its own.
type pngBuffers struct{ b *png.EncoderBuffer }

func (p *pngBuffers) Get() *png.EncoderBuffer  { return p.b }
func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.b = b }

// zlibIDAT is the IDAT stream as the PNG writer made it before deflate.go:
// the scanlines (repeats as Up-filtered zeros) through compress/zlib at
// BestSpeed. Kept only as BenchmarkPNG's baseline.
func zlibIDAT(zw *zlib.Writer, idat *bytes.Buffer, sym symbol) ([]byte, error) {
	side := (sym.size + 2*QuietZone) * ModulePixels
	rowBytes := (side + 7) / 8
	var rows bytes.Buffer
	blank := make([]byte, rowBytes)
	for range QuietZone * ModulePixels {
		rows.WriteByte(2) // Up: zeros repeat the row above
		rows.Write(blank)
	}
	row := make([]byte, rowBytes)
	for y := range sym.size {
		clear(row)
		for x, dark := range sym.modules[y*sym.size:][:sym.size] {
			col := x + QuietZone
			row[col>>1] |= (dark * 0xf0) >> ((col & 1) * 4)
		}
		rows.WriteByte(0)
		rows.Write(row)
		for range ModulePixels - 1 {
			rows.WriteByte(2)
			rows.Write(blank)
		}
	}
	for range QuietZone * ModulePixels {
		rows.WriteByte(0)
		rows.Write(blank)
	}
	idat.Reset()
	zw.Reset(idat)
	if _, err := zw.Write(rows.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return idat.Bytes(), nil
}

// BenchmarkPNG compares this package's PNG writer with image/png on the same
// symbol, image/png given the 8-bit paletted image it needs, and its
// deflate by hand with compress/zlib on the same scanlines.
func BenchmarkPNG(b *testing.B) {
	var s scratch
	sym, err := s.symbol(benchCode)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("image-png", func(b *testing.B) {
		b.ReportAllocs()
		enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}
		pal := color.Palette{color.Gray{0xff}, color.Gray{0}}
		side := (sym.size + 2*QuietZone) * ModulePixels
		var buf bytes.Buffer
		for b.Loop() {
			img := image.NewPaletted(image.Rect(0, 0, side, side), pal)
			for y := range side {
				for x := range side {
					mx, my := x/ModulePixels-QuietZone, y/ModulePixels-QuietZone
					if mx >= 0 && my >= 0 && mx < sym.size && my < sym.size {
						img.Pix[y*side+x] = sym.modules[my*sym.size+mx]
					}
				}
			}
			buf.Reset()
			if err := enc.Encode(&buf, img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("idat-zlib", func(b *testing.B) {
		b.ReportAllocs()
		var idat bytes.Buffer
		zw, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed) // reused, as the writer before did
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := zlibIDAT(zw, &idat, sym); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("idat-by-hand", func(b *testing.B) {
		b.ReportAllocs()
		var idat []byte
		for b.Loop() {
			if idat, err = zlibImage(idat[:0], sym); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.png(sym); err != nil {
				b.Fatal(err)
			}
		}
	})
}
