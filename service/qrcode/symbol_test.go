package qrcode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	"rsc.io/qr/coding"
)

// TestSymbolMatchesReferenceEncoder compares every module with ZXing's
// encoder, which lays out, masks and scores by the standard: the same data
// must give the same symbol, mask choice included.
func TestSymbolMatchesReferenceEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(18004, 1))
	var s scratch
	masks, sizes := map[int]bool{}, map[int]bool{}
	// 20 to 254 characters are versions 2 to 11 (bit-line scoring), the
	// rest up to version 19 take the module-by-module path.
	for i := range 50 {
		code := "2@" + randomText(r, 20+i*6)
		if i >= 40 {
			code = "2@" + randomText(r, 260+(i-40)*50)
		}
		sym, err := s.symbol(code)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := encoder.Encoder_encodeWithoutHint(code, decoder.ErrorCorrectionLevel_M)
		if err != nil {
			t.Fatal(err)
		}
		m := ref.GetMatrix()
		if m.GetWidth() != sym.size {
			t.Fatalf("%d chars: %d modules, reference %d", len(code), sym.size, m.GetWidth())
		}
		for y := range sym.size {
			for x := range sym.size {
				if int8(sym.modules[y*sym.size+x]) != m.Get(x, y) {
					t.Fatalf("%d chars: module (%d, %d) differs from the reference (mask %d)", len(code), x, y, ref.GetMaskPattern())
				}
			}
		}
		want := referencePenalty(m)
		if got := penalty(sym.modules, sym.size); got != want {
			t.Fatalf("%d chars: penalty %d, reference %d", len(code), got, want)
		}
		if sym.size <= 64 {
			if got := bitPenalty(bitRows(sym.modules, sym.size), sym.size); got != want {
				t.Fatalf("%d chars: bit penalty %d, reference %d", len(code), got, want)
			}
		}
		sizes[sym.size] = true
		masks[ref.GetMaskPattern()] = true
	}
	if !sizes[61] || !sizes[65] {
		t.Fatalf("sizes %v: the table misses version 11 or 12", sizes)
	}
	if len(masks) < 4 {
		t.Fatalf("only masks %v chosen over 50 codes: the table does not exercise mask choice", masks)
	}
}

func referencePenalty(m *encoder.ByteMatrix) int {
	return encoder.MaskUtil_applyMaskPenaltyRule1(m) + encoder.MaskUtil_applyMaskPenaltyRule2(m) +
		encoder.MaskUtil_applyMaskPenaltyRule3(m) + encoder.MaskUtil_applyMaskPenaltyRule4(m)
}

// randomText is n characters of the alphabet WhatsApp codes use (base64 and
// commas), so the symbol is in byte mode like the real ones.
func randomText(r *rand.Rand, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=,"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestPlaceBitsMatchesBitByBit compares the byte-at-a-time placement with
// setting each codeword bit's module, for every version up to 64 modules
// wide and random codewords.
func TestPlaceBitsMatchesBitByBit(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 4))
	for _, l := range narrowLayouts(t) {
		v := l.version
		codewords := make([]byte, len(l.bitModule)/8)
		fillRandom(r, codewords)
		rows := make([]uint64, l.size)
		for i := range rows {
			rows[i] = r.Uint64() // placeBits clears them
		}
		l.placeBits(codewords, rows)
		want := make([]byte, l.size*l.size)
		for i, m := range l.bitModule {
			want[int(m.y)*l.size+int(m.x)] = codewords[i/8] >> (7 - i%8) & 1
		}
		wantRows := bitRows(want, l.size)
		for i := range l.size {
			if rows[i] != wantRows[i] {
				t.Fatalf("version %d: row %d differs", v, i)
			}
		}
		// Versions 2 to 6 have their one alignment pattern's edge in a
		// strip, which shifts the codewords after it by a module: most are
		// placed bit by bit. Version 11 holds the WhatsApp codes.
		if v == 11 && len(l.blockBytes) < len(codewords)*4/5 {
			t.Errorf("version %d: only %d of %d codewords placed a byte at a time", v, len(l.blockBytes), len(codewords))
		}
	}
}

// TestBitPenaltyMatchesPenalty scores random symbols of every version up to
// 64 modules wide under each mask: bitPenalty must equal penalty (which
// TestSymbolMatchesReferenceEncoder checks against ZXing), and bestMask
// must choose the mask with the lowest penalty, the first on ties.
func TestBitPenaltyMatchesPenalty(t *testing.T) {
	r := rand.New(rand.NewPCG(783, 11))
	for _, l := range narrowLayouts(t) {
		v := l.version
		codewords := make([]byte, len(l.bitModule)/8)
		dataRows, rows := make([]uint64, l.size), make([]uint64, l.size)
		modules := make([]byte, l.size*l.size)
		for range 100 {
			fillRandom(r, codewords)
			l.placeBits(codewords, dataRows)
			want, wantPenalty := 0, math.MaxInt
			for m := range l.base {
				for i := range l.size {
					rows[i] = l.rows[m][i] ^ dataRows[i]
					for x := range l.size {
						modules[i*l.size+x] = byte(rows[i] >> x & 1)
					}
				}
				full := penalty(modules, l.size)
				if p := bitPenalty(rows, l.size); full != p {
					t.Fatalf("version %d mask %d: bit penalty %d, penalty %d", v, m, p, full)
				}
				if full < wantPenalty {
					want, wantPenalty = m, full
				}
			}
			if got := l.bestMask(dataRows, rows); got != want {
				t.Fatalf("version %d: bestMask chose mask %d, the penalties %d", v, got, want)
			}
		}
	}
}

// narrowLayouts returns the layouts of every version up to 64 modules
// wide: those placed and scored as bit rows.
func narrowLayouts(t *testing.T) []*layout {
	t.Helper()
	var out []*layout
	for v := coding.Version(1); 17+4*int(v) <= 64; v++ {
		l, err := layoutFor(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// fillRandom sets every byte of b from r.
func fillRandom(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
}
