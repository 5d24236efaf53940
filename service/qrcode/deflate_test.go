package qrcode

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"
)

// The hand-written deflate stream must decode, through image/png's zlib,
// to exactly the symbol's pixels: every version's size (so every scanline
// length and distance code the back-references use) with random modules.
func TestPNGIsPixelExactForEverySize(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 15))
	var s scratch
	for size := 21; size <= 177; size += 4 {
		sym := symbol{size: size, modules: make([]byte, size*size)}
		for i := range sym.modules {
			sym.modules[i] = byte(r.UintN(2))
		}
		b, err := s.png(sym)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("size %d: png.Decode: %v", size, err)
		}
		p := img.(*image.Paletted)
		side := (size + 2*QuietZone) * ModulePixels
		if got := p.Bounds().Dx(); got != side {
			t.Fatalf("size %d: %d px wide, want %d", size, got, side)
		}
		for y := range side {
			for x := range side {
				mx, my := x/ModulePixels-QuietZone, y/ModulePixels-QuietZone
				var want uint8
				if mx >= 0 && my >= 0 && mx < size && my < size {
					want = sym.modules[my*size+mx]
				}
				if got := p.ColorIndexAt(x, y); got != want {
					t.Fatalf("size %d: pixel (%d, %d) is %d, want %d", size, x, y, got, want)
				}
			}
		}
	}
}

// A symbol's bytes outside what a scanline can hold are refused, not
// written as a stream that decodes to something else.
func TestPNGRefusesAModuleThatIsNotABit(t *testing.T) {
	var s scratch
	sym := symbol{size: 21, modules: make([]byte, 21*21)}
	sym.modules[5] = 2
	if _, err := s.png(sym); err == nil {
		t.Fatal("png of a module valued 2: no error")
	}
}
