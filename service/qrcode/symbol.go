package qrcode

import (
	"encoding/binary"
	"errors"
	"math"
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
// for each mask, the module values with all data bits zero; where each
// codeword bit goes; and the block structure and generator for the check
// bytes.
type layout struct {
	version coding.Version
	size    int
	base    [8][]byte
	// For symbols up to 64 modules wide (version 11, which holds any
	// WhatsApp code): base as bit rows, bit x = module x, so masks are
	// scored a row per machine word (see bitPenalty).
	rows [8][]uint64

	// bitModule is where each codeword bit goes, in codeword bit order.
	bitModule []module
	// For symbols up to 64 wide, the codewords are placed a byte at a
	// time where they fill a 2×4 block, and bit by bit where not (see
	// placeBits).
	blockBytes []blockByte
	looseBits  []looseBit

	dataBytes  int // data codewords, all blocks
	blocks     int
	checkBytes int // check codewords per block
	checkRows  *[256][4]uint64
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
		l := &layout{version: v}
		for m := range coding.Mask(8) {
			p, err := coding.NewPlan(v, level, m)
			if err != nil {
				layoutErr[v] = err
				return
			}
			l.size = len(p.Pixel)
			if m == 0 {
				l.dataBytes, l.blocks, l.checkBytes = p.DataBytes, p.Blocks, p.CheckBytes/p.Blocks
				l.bitModule = make([]module, 8*(p.DataBytes+p.CheckBytes))
			}
			base := make([]byte, 0, l.size*l.size)
			for y, row := range p.Pixel {
				for x, pix := range row {
					base = append(base, byte(pix&coding.Black))
					if r := pix.Role(); m == 0 && (r == coding.Data || r == coding.Check) {
						l.bitModule[pix.Offset()] = module{x: uint8(x), y: uint8(y)}
					}
				}
			}
			l.base[m] = base
			if l.size <= 64 {
				l.rows[m] = bitRows(base, l.size)
			}
		}
		if l.size <= 64 {
			l.blockBytes, l.looseBits = placements(l.bitModule)
		}
		l.checkRows = checkRows(l.checkBytes)
		layouts[v] = l
	})
	return layouts[v], layoutErr[v]
}

// module is a module's column and row (a symbol is at most 177 wide).
type module struct{ x, y uint8 }

// blockByte is a codeword whose bits fill a 2-wide, 4-high block, two bits
// a row, the first bit right: most codewords, away from the patterns and
// the turns at the top and bottom.
type blockByte struct {
	index     uint16 // of the codeword
	left, top uint8  // the block's left column and top row
	down      uint8  // 1 if the first bits are in the top row, 0 bottom
}

// looseBit is a bit of a codeword that is not a blockByte.
type looseBit struct {
	bit  uint16 // its offset in the codewords, MSB first
	x, y uint8
}

// placements sorts the codewords of a layout into blockBytes and the bits
// of the rest.
func placements(bitModule []module) (blocks []blockByte, loose []looseBit) {
	for i := 0; i < len(bitModule); i += 8 {
		m := bitModule[i : i+8]
		x, y, dir := int(m[0].x), int(m[0].y), int(m[2].y)-int(m[0].y)
		isBlock := x >= 1 && (dir == 1 || dir == -1)
		for k, p := range m {
			isBlock = isBlock && int(p.x) == x-k&1 && int(p.y) == y+dir*(k>>1)
		}
		if isBlock {
			b := blockByte{index: uint16(i / 8), left: uint8(x - 1), top: uint8(min(y, y+3*dir))}
			if dir == 1 {
				b.down = 1
			}
			blocks = append(blocks, b)
			continue
		}
		for k, p := range m {
			loose = append(loose, looseBit{bit: uint16(i + k), x: p.x, y: p.y})
		}
	}
	return blocks, loose
}

// blockBits turns a blockByte's codeword into the order placeBits reads:
// two bits per row from the top, the right one high. A codeword placed
// upwards starts at the bottom, in the low bits, so it is already in that
// order; one placed downwards has its 2-bit groups reversed.
var blockBits = func() (t [2][256]uint8) {
	for b := range 256 {
		t[0][b] = uint8(b)
		t[1][b] = uint8(b>>6 | b>>2&0x0c | b<<2&0x30 | b<<6)
	}
	return t
}()

// placeBits writes the codewords' bits as the rows of a symbol up to 64
// wide, cleared first.
func (l *layout) placeBits(codewords []byte, rows []uint64) {
	clear(rows)
	for _, p := range l.blockBytes {
		b := blockBits[p.down&1][codewords[p.index]]
		r := rows[p.top:][:4]
		r[0] |= uint64(b&3) << p.left
		r[1] |= uint64(b>>2&3) << p.left
		r[2] |= uint64(b>>4&3) << p.left
		r[3] |= uint64(b>>6) << p.left
	}
	for _, p := range l.looseBits {
		b := uint64(codewords[p.bit>>3] >> (7 - p.bit&7) & 1)
		rows[p.y] |= b << p.x
	}
}

// errTooLong is returned for a code that no QR version holds.
var errTooLong = errors.New("code too long for a QR symbol")

// scratch holds the buffers one render reuses.
type scratch struct {
	codewords []byte
	data      []byte   // data bit of each module (symbols over 64 wide)
	modules   []byte   // candidate symbol for the mask being scored
	rows      []uint64 // candidate's rows (symbols up to 64 wide)
	dataRows  []uint64
	pngw      pngWriter
}

// symbol encodes code in the smallest version that holds it and applies the
// mask with the lowest penalty, as the QR standard prescribes.
func (s *scratch) symbol(code string) (symbol, error) {
	m := modeOf(code)
	v := coding.Version(coding.MinVersion)
	for dataBits(m, len(code), v) > v.DataBytes(level)*8 {
		if v++; v > coding.MaxVersion {
			return symbol{}, errTooLong
		}
	}
	l, err := layoutFor(v)
	if err != nil {
		return symbol{}, err
	}
	s.codewords = l.codewords(s.codewords[:0], m, code)
	codewords := s.codewords

	n := l.size * l.size
	if l.size > 64 {
		s.data = grow(s.data, n)
		clear(s.data)
		for i, d := range l.bitModule {
			s.data[int(d.y)*l.size+int(d.x)] = codewords[i>>3] >> (7 - i&7) & 1
		}
		best, bestPenalty := 0, -1
		s.modules = grow(s.modules, n)
		for m := range l.base {
			for i, b := range l.base[m] {
				s.modules[i] = b ^ s.data[i]
			}
			if p := penalty(s.modules, l.size); bestPenalty < 0 || p < bestPenalty {
				best, bestPenalty = m, p
			}
		}
		for i, b := range l.base[best] {
			s.modules[i] = b ^ s.data[i]
		}
		return symbol{size: l.size, modules: s.modules}, nil
	}

	s.dataRows = growWords(s.dataRows, l.size)
	l.placeBits(codewords, s.dataRows)
	s.rows = growWords(s.rows, l.size)
	best := l.bestMask(s.dataRows, s.rows)
	// The symbol's bytes from its rows, eight modules a store; the last
	// store of a row runs into the next row, which is written after it,
	// and the last row's into spare capacity.
	s.modules = grow(s.modules, n+8)[:n]
	out := s.modules[:n+8]
	for y := range l.size {
		row := l.rows[best][y] ^ s.dataRows[y]
		for x := 0; x < l.size; x += 8 {
			binary.LittleEndian.PutUint64(out[y*l.size+x:], moduleBytes[byte(row>>x)])
		}
	}
	return symbol{size: l.size, modules: s.modules}, nil
}

// bestMask is the mask with the lowest penalty for the data's rows, the
// first on ties, for a symbol up to 64 wide; rows holds the candidates.
func (l *layout) bestMask(dataRows, rows []uint64) int {
	best, bestPenalty := 0, math.MaxInt
	for m := range l.base {
		// A candidate's row is XOR of the mask's base with the data's row.
		for i := range l.size {
			rows[i] = l.rows[m][i] ^ dataRows[i]
		}
		if p := bitPenalty(rows, l.size); p < bestPenalty {
			best, bestPenalty = m, p
		}
	}
	return best
}

// moduleBytes spreads the 8 bits of a byte to 8 bytes, low bit first.
var moduleBytes = func() (t [256]uint64) {
	for b := range 256 {
		for i := range 8 {
			t[b] |= uint64(b>>i&1) << (8 * i)
		}
	}
	return t
}()

// bitRows returns the rows of a module grid up to 64 wide as words, bit x
// of row y being module (x, y).
func bitRows(modules []byte, size int) []uint64 {
	rows := make([]uint64, size)
	for y := range size {
		for x, c := range modules[y*size:][:size] {
			rows[y] |= uint64(c) << x
		}
	}
	return rows
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
