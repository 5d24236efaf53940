package qrcode

import (
	"errors"
	"sync"

	"rsc.io/qr/coding"
)

// level is the error correction level: M, as before, restores 15 % of the
// symbol and keeps a ~230-character WhatsApp code at version 11 (61 modules).
const level = coding.M

// symbol is one QR symbol, one byte per module (1 dark, 0 light), row-major.
type symbol struct {
	size    int
	modules []byte
}

// layout is everything about a version that does not depend on the code:
// for each mask, the module values with all data bits zero, and where each
// data bit goes.
type layout struct {
	size int
	base [8][]byte
	data []dataModule
	// For symbols up to 64 modules wide (version 11, which holds any
	// WhatsApp code): base as bit rows and bit columns, bit x = module x,
	// so masks are scored a line per machine word (see bitPenalty).
	rows, cols [8][]uint64
}

var (
	layoutOnce [coding.MaxVersion + 1]sync.Once
	layouts    [coding.MaxVersion + 1]*layout
	layoutErr  [coding.MaxVersion + 1]error
)

// layoutFor builds a version's layout once; rsc.io/qr/coding's plans are
// expensive (they lay out every pattern), the layout is read-only after.
func layoutFor(v coding.Version) (*layout, error) {
	layoutOnce[v].Do(func() {
		l := &layout{}
		for m := range coding.Mask(8) {
			p, err := coding.NewPlan(v, level, m)
			if err != nil {
				layoutErr[v] = err
				return
			}
			l.size = len(p.Pixel)
			base := make([]byte, 0, l.size*l.size)
			for y, row := range p.Pixel {
				for x, pix := range row {
					base = append(base, byte(pix&coding.Black))
					if r := pix.Role(); m == 0 && (r == coding.Data || r == coding.Check) {
						l.data = append(l.data, dataModule{
							bit: int32(pix.Offset()), index: int32(y*l.size + x), x: uint8(x), y: uint8(y),
						})
					}
				}
			}
			l.base[m] = base
			if l.size <= 64 {
				l.rows[m], l.cols[m] = lines(base, l.size)
			}
		}
		layouts[v] = l
	})
	return layouts[v], layoutErr[v]
}

// dataModule is a module that carries a data or check bit: which bit of the
// codewords, and where.
type dataModule struct {
	bit   int32
	index int32 // y*size + x
	x, y  uint8
}

// errTooLong is returned for a code that no QR version holds.
var errTooLong = errors.New("code too long for a QR symbol")

// scratch holds the buffers one render reuses.
type scratch struct {
	bits       coding.Bits
	data       []byte   // data bit of each module, 0 where there is none
	modules    []byte   // candidate symbol for the mask being scored
	rows, cols []uint64 // candidate's lines (symbols up to 64 wide)
	dataRows   []uint64
	dataCols   []uint64
	pngw       pngWriter
}

// symbol encodes code in the smallest version that holds it and applies the
// mask with the lowest penalty, as the QR standard prescribes.
func (s *scratch) symbol(code string) (symbol, error) {
	enc := encoding(code)
	v := coding.Version(coding.MinVersion)
	for enc.Bits(v) > v.DataBytes(level)*8 {
		if v++; v > coding.MaxVersion {
			return symbol{}, errTooLong
		}
	}
	l, err := layoutFor(v)
	if err != nil {
		return symbol{}, err
	}
	s.bits.Reset()
	enc.Encode(&s.bits, v)
	s.bits.AddCheckBytes(v, level)
	codewords := s.bits.Bytes()

	n := l.size * l.size
	s.data = grow(s.data, n)
	clear(s.data)
	small := l.size <= 64
	if small {
		s.dataRows, s.dataCols = growWords(s.dataRows, l.size), growWords(s.dataCols, l.size)
		clear(s.dataRows)
		clear(s.dataCols)
	}
	for _, d := range l.data {
		b := codewords[d.bit>>3] >> (7 - d.bit&7) & 1
		s.data[d.index] = b
		if small {
			s.dataRows[d.y] |= uint64(b) << d.x
			s.dataCols[d.x] |= uint64(b) << d.y
		}
	}
	best, bestPenalty := 0, -1
	if small {
		// Scoring a bit line is XOR of the mask's base with the data's line.
		s.rows, s.cols = growWords(s.rows, l.size), growWords(s.cols, l.size)
		for m := range l.base {
			for i := range l.size {
				s.rows[i] = l.rows[m][i] ^ s.dataRows[i]
				s.cols[i] = l.cols[m][i] ^ s.dataCols[i]
			}
			if p := bitPenalty(s.rows, s.cols, l.size); bestPenalty < 0 || p < bestPenalty {
				best, bestPenalty = m, p
			}
		}
	} else {
		s.modules = grow(s.modules, n)
		for m := range l.base {
			for i, b := range l.base[m] {
				s.modules[i] = b ^ s.data[i]
			}
			if p := penalty(s.modules, l.size); bestPenalty < 0 || p < bestPenalty {
				best, bestPenalty = m, p
			}
		}
	}
	s.modules = grow(s.modules, n)
	for i, b := range l.base[best] {
		s.modules[i] = b ^ s.data[i]
	}
	return symbol{size: l.size, modules: s.modules}, nil
}

// lines returns the rows and columns of a module grid up to 64 wide as
// words, bit x of row y (and bit y of column x) being module (x, y).
func lines(modules []byte, size int) (rows, cols []uint64) {
	rows, cols = make([]uint64, size), make([]uint64, size)
	for y := range size {
		for x, c := range modules[y*size:][:size] {
			rows[y] |= uint64(c) << x
			cols[x] |= uint64(c) << y
		}
	}
	return rows, cols
}

// encoding picks the densest single mode for code, as rsc.io/qr does.
func encoding(code string) coding.Encoding {
	switch {
	case coding.Num(code).Check() == nil:
		return coding.Num(code)
	case coding.Alpha(code).Check() == nil:
		return coding.Alpha(code)
	}
	return coding.String(code)
}

func growWords(b []uint64, n int) []uint64 {
	if cap(b) < n {
		return make([]uint64, n)
	}
	return b[:n]
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
