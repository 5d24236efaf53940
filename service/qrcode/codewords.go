package qrcode

import (
	"encoding/binary"

	"rsc.io/qr/coding"
)

// The codewords (data, padding, Reed–Solomon check bytes) are computed
// here, to the byte as rsc.io/qr/coding's Encode and AddCheckBytes make
// them (TestCodewordsMatchRSCCoding), because those were a third of a
// symbol: a per-call generator polynomial and allocations, one Write call
// per 8 bits, and a Check that formats an error for every non-numeric code.

// mode is a QR data mode: the densest one that holds the whole code is
// used, as rsc.io/qr does.
type mode uint8

const (
	numericMode mode = iota
	alphanumericMode
	byteMode
)

// alphanumericValue is 1 + the value of each byte of the alphanumeric
// mode's alphabet, 0 for the other bytes.
var alphanumericValue = func() (t [256]uint8) {
	for i, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:" {
		t[c] = uint8(i + 1)
	}
	return t
}()

// modeOf scans code once. Bytes decide, not runes: any byte of a non-ASCII
// rune is outside both smaller alphabets, as the rune is.
func modeOf(code string) mode {
	m := numericMode
	for i := range len(code) {
		c := code[i]
		switch {
		case c-'0' < 10:
		case alphanumericValue[c] != 0:
			m = alphanumericMode
		default:
			return byteMode
		}
	}
	return m
}

// sizeClass is the index into a mode's count lengths: versions 1–9,
// 10–26, 27–40.
func sizeClass(v coding.Version) int {
	switch {
	case v <= 9:
		return 0
	case v <= 26:
		return 1
	}
	return 2
}

// countBits is the length of the character count field per mode and
// size class.
var countBits = [3][3]uint{
	numericMode:      {10, 12, 14},
	alphanumericMode: {9, 11, 13},
	byteMode:         {8, 16, 16},
}

// dataBits is how many bits code takes in mode at version v.
func dataBits(m mode, n int, v coding.Version) int {
	head := 4 + int(countBits[m][sizeClass(v)])
	switch m {
	case numericMode:
		return head + (10*n+2)/3
	case alphanumericMode:
		return head + (11*n+1)/2
	}
	return head + 8*n
}

// bitAppender appends a big-endian bit stream to a byte slice.
type bitAppender struct {
	b   []byte
	acc uint64 // the pending bits are its n low bits
	n   uint
}

// write appends the n (at most 32) low bits of v.
func (w *bitAppender) write(v uint64, n uint) {
	w.acc = w.acc<<n | v&(1<<n-1)
	w.n += n
	for w.n >= 8 {
		w.n -= 8
		w.b = append(w.b, byte(w.acc>>w.n))
	}
}

// codewords appends to dst the data codewords of code in mode for layout l
// (mode indicator, count, data, terminator, pad bytes), then each block's
// check bytes.
func (l *layout) codewords(dst []byte, m mode, code string) []byte {
	w := bitAppender{b: dst}
	w.write(1<<m, 4) // 1, 2, 4: numeric, alphanumeric, byte
	w.write(uint64(len(code)), countBits[m][sizeClass(l.version)])
	switch m {
	case numericMode:
		i := 0
		for ; i+3 <= len(code); i += 3 {
			w.write(uint64(code[i]-'0')*100+uint64(code[i+1]-'0')*10+uint64(code[i+2]-'0'), 10)
		}
		switch len(code) - i {
		case 1:
			w.write(uint64(code[i]-'0'), 4)
		case 2:
			w.write(uint64(code[i]-'0')*10+uint64(code[i+1]-'0'), 7)
		}
	case alphanumericMode:
		i := 0
		for ; i+2 <= len(code); i += 2 {
			w.write(uint64(alphanumericValue[code[i]]-1)*45+uint64(alphanumericValue[code[i+1]]-1), 11)
		}
		if i < len(code) {
			w.write(uint64(alphanumericValue[code[i]]-1), 6)
		}
	default:
		// The mode and count are 12 or 20 bits: every byte of code
		// straddles two bytes of output, by a nibble.
		b, carry := w.b, byte(w.acc)<<4
		for i := range len(code) {
			c := code[i]
			b = append(b, carry|c>>4)
			carry = c << 4
		}
		w.b, w.acc = b, uint64(carry>>4)
	}
	// Terminator: up to four zero bits; then zeros to a byte boundary and
	// the pad bytes 0xec, 0x11, … (coding.Bits.Pad).
	data := len(dst) + l.dataBytes
	if left := uint(data-len(w.b))*8 - w.n; left <= 4 {
		w.write(0, left)
	} else {
		w.write(0, 4)
		w.write(0, -w.n&7)
		for pad := byte(0xec); len(w.b) < data; pad ^= 0xec ^ 0x11 {
			w.b = append(w.b, pad)
		}
	}
	out := w.b
	blockData := out[len(dst):]
	for i := range l.blocks {
		n := l.dataBytes / l.blocks
		if i >= l.blocks-l.dataBytes%l.blocks {
			n++ // the last blocks have one more data byte
		}
		out = l.appendCheckBytes(out, blockData[:n])
		blockData = blockData[n:]
	}
	return out
}

// appendCheckBytes appends the Reed–Solomon check bytes of one block: the
// remainder of data·x^check divided by the generator polynomial. The
// remainder (at most 30 bytes) stays in four registers, its first byte in
// the top of r0; each data byte shifts it a byte and XORs in a row of
// checkRows, the generator times that byte, instead of multiplying the
// generator's terms one at a time.
func (l *layout) appendCheckBytes(dst, data []byte) []byte {
	var r0, r1, r2, r3 uint64
	for _, d := range data {
		g := &l.checkRows[d^byte(r0>>56)]
		r0 = (r0<<8 | r1>>56) ^ g[0]
		r1 = (r1<<8 | r2>>56) ^ g[1]
		r2 = (r2<<8 | r3>>56) ^ g[2]
		r3 = r3<<8 ^ g[3]
	}
	var rem [32]byte
	binary.BigEndian.PutUint64(rem[0:], r0)
	binary.BigEndian.PutUint64(rem[8:], r1)
	binary.BigEndian.PutUint64(rem[16:], r2)
	binary.BigEndian.PutUint64(rem[24:], r3)
	return append(dst, rem[:l.checkBytes]...)
}

// checkRows returns, for each byte c, the generator polynomial of check
// bytes (its leading 1 left out) times c, laid out as appendCheckBytes's
// registers.
func checkRows(check int) *[256][4]uint64 {
	f := coding.Field
	// gen[0] is the leading term; multiply in (x - α^i) for each i, as
	// rsc.io/qr/gf256 does.
	gen := make([]byte, check+1)
	gen[check] = 1
	for i := range check {
		a := f.Exp(i)
		for j := range check {
			gen[j] = f.Mul(gen[j], a) ^ gen[j+1]
		}
		gen[check] = f.Mul(gen[check], a)
	}
	rows := new([256][4]uint64)
	for c := range 256 {
		var row [32]byte
		for j, g := range gen[1:] {
			row[j] = f.Mul(g, byte(c))
		}
		for k := range rows[c] {
			rows[c][k] = binary.BigEndian.Uint64(row[8*k:])
		}
	}
	return rows
}
