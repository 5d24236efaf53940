package qrcode

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
)

// The IDAT stream (zlib, RFC 1950, around one deflate block, RFC 1951) is
// written here by hand instead of by compress/zlib. The scanlines' shape
// is known: a module row is one scanline repeated ModulePixels times, each
// of its bytes holds two modules (one of 0x00, 0x0f, 0xf0, 0xff), and the
// quiet zone is zeros. So the block is the first scanline of each module
// row as literals, its repeats as one back-reference to it, and the quiet
// zone as a run of zeros, coded with one Huffman table made for those few
// symbols: a "dynamic" block whose header is the same for every image.
// zlib at BestSpeed hashed and matched all 9 KB of scanlines to find the
// same thing, and was most of a render.

// litLenLengths is the code length of each literal/length symbol: the row
// bytes short, the end of block and the 29 length codes long. The lengths
// make a complete prefix code (2/4 + 2/8 + 2/64 + 28/128 = 1), which
// decoders require.
var litLenLengths = func() [286]uint8 {
	var l [286]uint8
	l[0x00], l[0xff], l[0x0f], l[0xf0] = 2, 2, 3, 3
	for sym := 256; sym < 286; sym++ {
		l[sym] = 7
	}
	l[284], l[285] = 6, 6 // 285 is a run of 258: the quiet zone's zeros
	return l
}()

// distLengths is the code length of each distance symbol: distance 1 (the
// zero runs) and one other short, the rest 5 bits (2/16 + 28/32 = 1).
var distLengths = func() [30]uint8 {
	var l [30]uint8
	for i := range l {
		l[i] = 5
	}
	l[0], l[1] = 4, 4
	return l
}()

// codeLenLengths is the code length of each code-length symbol (RFC 1951
// 3.2.7): the lengths used above, and 17 and 18 for runs of unused
// symbols (7/8 + 2/16 = 1).
var codeLenLengths = func() [19]uint8 {
	var l [19]uint8
	for _, sym := range []int{2, 3, 4, 5, 6, 7, 18} {
		l[sym] = 3
	}
	l[0], l[17] = 4, 4
	return l
}()

// huffCode is a symbol's code, bit-reversed for deflate's LSB-first stream.
type huffCode struct {
	bits uint16
	len  uint8
}

// canonical assigns the canonical codes of RFC 1951 3.2.2 to lengths.
func canonical(lengths []uint8) []huffCode {
	var count [16]uint16
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	out := make([]huffCode, len(lengths))
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		out[sym] = huffCode{bits: bits.Reverse16(next[l]) >> (16 - l), len: l}
		next[l]++
	}
	return out
}

var (
	litLenCodes = [286]huffCode(canonical(litLenLengths[:]))
	distCodes   = canonical(distLengths[:])
	// blockHeader is the bits that open the block: the final-block flag,
	// the type (dynamic), and the three tables above.
	blockHeader = encodeBlockHeader()
)

// lengthBase and distBase are the first value of each length (257…285)
// and distance (0…29) symbol; their extra bits cover the rest.
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// codeLenOrder is the order the code-length code's lengths are sent in.
var codeLenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// bitWriter packs deflate's LSB-first bit stream.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

// bits writes the n low bits of v (n <= 32); whole 32-bit words go out.
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

func (w *bitWriter) code(c huffCode) { w.bits(uint64(c.bits), uint(c.len)) }

// flush writes the bits left, the last byte padded with zero bits.
func (w *bitWriter) flush() {
	for ; w.n > 0; w.n = max(w.n, 8) - 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
	}
}

// headerBits is one field of the block header.
type headerBits struct {
	v uint64
	n uint
}

func encodeBlockHeader() []headerBits {
	var h []headerBits
	put := func(v uint64, n uint) { h = append(h, headerBits{v, n}) }
	put(1, 1) // the final block
	put(2, 2) // dynamic Huffman codes
	put(uint64(len(litLenLengths)-257), 5)
	put(uint64(len(distLengths)-1), 5)
	put(uint64(len(codeLenOrder)-4), 4)
	for _, sym := range codeLenOrder {
		put(uint64(codeLenLengths[sym]), 3)
	}
	clCodes := canonical(codeLenLengths[:])
	lengths := append(append([]uint8{}, litLenLengths[:]...), distLengths[:]...)
	for i := 0; i < len(lengths); {
		run := 1
		for i+run < len(lengths) && lengths[i+run] == lengths[i] {
			run++
		}
		switch {
		case lengths[i] == 0 && run >= 11:
			run = min(run, 138)
			c := clCodes[18]
			put(uint64(c.bits), uint(c.len))
			put(uint64(run-11), 7)
		case lengths[i] == 0 && run >= 3:
			c := clCodes[17]
			put(uint64(c.bits), uint(c.len))
			put(uint64(run-3), 3)
		default:
			run = 1
			c := clCodes[lengths[i]]
			put(uint64(c.bits), uint(c.len))
		}
		i += run
	}
	return h
}

// deflater writes one image's block and keeps the Adler-32 of the bytes it
// stands for.
type deflater struct {
	w    bitWriter
	a, b uint64 // Adler-32 sums, mod adlerMod
}

const adlerMod = 65521

var errModule = errors.New("qrcode: module neither 0 nor 1")

// quadLiterals is what four modules of a row, two scanline bytes, add to
// the block and the checksum, indexed by the modules as bits (the first
// high).
type quadLiterals struct {
	bits uint16 // the two literals' codes, the first in the low bits
	len  uint8
	sum  uint16 // x1 + x2
	// 2·x1 + x2: with 2·(the sum before), what the two bytes add to the
	// sum of prefix sums (Adler-32's b).
	prefix uint16
}

var quads = func() (t [16]quadLiterals) {
	for q := range t {
		x1 := byte(q>>3&1*0xf0 | q>>2&1*0x0f)
		x2 := byte(q>>1&1*0xf0 | q&1*0x0f)
		c1, c2 := litLenCodes[x1], litLenCodes[x2]
		t[q] = quadLiterals{
			bits: c1.bits | c2.bits<<c1.len, len: c1.len + c2.len,
			sum: uint16(x1) + uint16(x2), prefix: 2*uint16(x1) + uint16(x2),
		}
	}
	return t
}()

// moduleRow writes one module row's scanline (rowBytes long: the filter
// byte, then the pixels) as literals, straight from the modules, four at a
// time, and adds it to the checksum times times (it is written once; the
// caller refers back to it for the repeats). Modules must be 0 or 1.
//
// The loop is most of the PNG. The bit writer's state is in locals, and
// each step's at most 6 bits go out by storing the accumulator whole and
// advancing by the bytes completed, without a branch on whether a word is
// full.
func (d *deflater) moduleRow(mods []byte, rowBytes, times int) error {
	acc, nb, out := d.w.acc, d.w.n, slices.Grow(d.w.out, rowBytes/2+16)
	pos, buf := len(out), out[:cap(out)]
	var sum, prefixSums uint64 // Adler-32's a and b of the row alone
	literal := func(c byte) {
		code := litLenCodes[c]
		acc |= uint64(code.bits) << nb
		nb += uint(code.len)
		sum += uint64(c)
		prefixSums += sum
	}
	flush := func() {
		binary.LittleEndian.PutUint64(buf[pos:], acc)
		pos += int(nb >> 3)
		acc >>= nb &^ 7
		nb &= 7
	}
	for range 1 + QuietZone/2 { // the filter byte (None) and the quiet zone
		literal(0)
	}
	// A module is one nibble: high for even columns, low for odd (the
	// quiet zone is even, so a module pair is one byte).
	var notBits uint32
	i := 0
	for ; i+4 <= len(mods); i += 4 {
		x := binary.LittleEndian.Uint32(mods[i:]) // module i in the low byte
		notBits |= x
		// Gather the four bytes' low bits, module i to bit 3, module i+3
		// to bit 0; the products land on distinct bits, without carries.
		q := quads[x*0x08040201>>24&0xf]
		acc |= uint64(q.bits) << nb
		nb += uint(q.len)
		prefixSums += 2*sum + uint64(q.prefix)
		sum += uint64(q.sum)
		flush()
	}
	for ; i < len(mods); i += 2 {
		m := mods[i]
		notBits |= uint32(m)
		c := m * 0xf0
		if i+1 < len(mods) {
			notBits |= uint32(mods[i+1])
			c |= mods[i+1] * 0x0f
		}
		literal(c)
	}
	for range rowBytes - 1 - QuietZone/2 - (len(mods)+1)/2 {
		literal(0)
		flush()
	}
	flush()
	if notBits&^0x01010101 != 0 {
		return errModule
	}
	d.w.acc, d.w.n, d.w.out = acc, nb, buf[:pos]
	// Appending n bytes x_1…x_n: a += Σx, b += n·a + Σ(n−i+1)·x_i, the
	// sum of the prefix sums. Done t times, in one step (a row is under
	// 100 bytes, no term overflows):
	// b += t·n·a + n·Σx·t(t−1)/2 + t·Σ(n−i+1)·x_i, a += t·Σx.
	n, t := uint64(rowBytes), uint64(times)
	d.b = (d.b + t*n*d.a + n*sum*(t*(t-1)/2) + t*prefixSums) % adlerMod
	d.a = (d.a + t*sum) % adlerMod
	return nil
}

// zeros writes n zero bytes (n >= 4): one literal, then a run of them.
func (d *deflater) zeros(n int) {
	d.w.code(litLenCodes[0])
	d.repeat(n-1, 1)
	d.b = (d.b + uint64(n)*d.a) % adlerMod
}

// repeat writes back-references that copy n bytes (n >= 3) from dist
// bytes back, at most 258 each.
func (d *deflater) repeat(n, dist int) {
	for n > 0 {
		l := min(n, 258)
		if rest := n - l; rest > 0 && rest < 3 {
			l = n - 3 // leave a run long enough for one more reference
		}
		d.match(l, dist)
		n -= l
	}
}

func (d *deflater) match(length, dist int) {
	i := len(lengthBase) - 1
	for int(lengthBase[i]) > length {
		i--
	}
	d.w.code(litLenCodes[257+i])
	d.w.bits(uint64(length-int(lengthBase[i])), uint(lengthExtra[i]))
	j := len(distBase) - 1
	for int(distBase[j]) > dist {
		j--
	}
	d.w.code(distCodes[j])
	d.w.bits(uint64(dist-int(distBase[j])), uint(distExtra[j]))
}

// The quiet zone must be a whole number of bytes (two modules each).
const _ = -uint(QuietZone % 2)

// zlibImage appends to dst the zlib stream of sym's scanlines, every one
// with filter type None.
func zlibImage(dst []byte, sym symbol) ([]byte, error) {
	d := deflater{w: bitWriter{out: append(dst, 0x78, 0x01)}, a: 1} // deflate, 32 KB window, no dictionary
	for _, f := range blockHeader {
		d.w.bits(f.v, f.n)
	}
	rowBytes := 1 + ((sym.size+2*QuietZone)*ModulePixels+7)/8
	quiet := QuietZone * ModulePixels * rowBytes
	d.zeros(quiet)
	for y := range sym.size {
		if err := d.moduleRow(sym.modules[y*sym.size:][:sym.size], rowBytes, ModulePixels); err != nil {
			return nil, err
		}
		d.repeat((ModulePixels-1)*rowBytes, rowBytes)
	}
	d.zeros(quiet)
	d.w.code(litLenCodes[256])
	d.w.flush()
	return binary.BigEndian.AppendUint32(d.w.out, uint32(d.b<<16|d.a)), nil
}
