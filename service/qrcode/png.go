package qrcode

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// pngWriter writes a symbol as a 1-bit, 2-colour paletted PNG.
//
// It writes the chunks itself instead of calling image/png: that encoder
// needs an 8-bit image (76 KB for a 276-pixel square) and reads it one
// interface call per pixel, six times slower than this in the package's
// benchmark. The rows go through compress/zlib as image/png's would.
type pngWriter struct {
	rows bytes.Buffer // filtered scanlines, the zlib input
	idat bytes.Buffer
	out  bytes.Buffer
	zw   *zlib.Writer
}

// palette: index 0 light, index 1 dark, as the modules are stored.
var palette = []byte{0xff, 0xff, 0xff, 0x00, 0x00, 0x00}

// Four pixels a module make each module one nibble of a 1-bit row; this
// fails to compile if ModulePixels changes.
const _ = uint(ModulePixels-4) + uint(4-ModulePixels)

const (
	filterNone = 0
	filterUp   = 2 // each byte minus the one above: a repeated row is all zeros
)

// png returns the PNG bytes of sym, valid until the scratch's next use.
func (s *scratch) png(sym symbol) ([]byte, error) {
	w := &s.pngw
	side := (sym.size + 2*QuietZone) * ModulePixels
	rowBytes := (side + 7) / 8

	w.rows.Reset()
	w.rows.Grow((1 + rowBytes) * side)
	// Quiet zone on top: one light row, then rows equal to it.
	w.rows.WriteByte(filterNone)
	pad(&w.rows, rowBytes)
	for range QuietZone*ModulePixels - 1 {
		w.rows.WriteByte(filterUp)
		pad(&w.rows, rowBytes)
	}
	for y := range sym.size {
		// The first pixel row of a module row carries the pixels; the other
		// ModulePixels-1 repeat it, which the Up filter turns into zeros.
		w.rows.WriteByte(filterNone)
		w.rows.Grow(rowBytes)
		row := w.rows.AvailableBuffer()[:rowBytes]
		clear(row)
		for x, dark := range sym.modules[y*sym.size:][:sym.size] {
			// A module is one nibble: high for even columns, low for odd.
			col := x + QuietZone
			row[col>>1] |= (dark * 0xf0) >> ((col & 1) * 4)
		}
		w.rows.Write(row)
		for range ModulePixels - 1 {
			w.rows.WriteByte(filterUp)
			pad(&w.rows, rowBytes)
		}
	}
	// Quiet zone at the bottom: the first row differs from the symbol's last.
	w.rows.WriteByte(filterNone)
	pad(&w.rows, rowBytes)
	for range QuietZone*ModulePixels - 1 {
		w.rows.WriteByte(filterUp)
		pad(&w.rows, rowBytes)
	}

	w.idat.Reset()
	if w.zw == nil {
		zw, err := zlib.NewWriterLevel(&w.idat, zlib.BestSpeed)
		if err != nil {
			return nil, err
		}
		w.zw = zw
	} else {
		w.zw.Reset(&w.idat)
	}
	if _, err := w.zw.Write(w.rows.Bytes()); err != nil {
		return nil, err
	}
	if err := w.zw.Close(); err != nil {
		return nil, err
	}

	w.out.Reset()
	w.out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(side))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(side))
	ihdr[8] = 1 // bit depth
	ihdr[9] = 3 // colour type: paletted
	// compression, filter and interlace methods: 0
	chunk(&w.out, "IHDR", ihdr[:])
	chunk(&w.out, "PLTE", palette)
	chunk(&w.out, "IDAT", w.idat.Bytes())
	chunk(&w.out, "IEND", nil)
	return w.out.Bytes(), nil
}

// pad appends n zero bytes.
func pad(b *bytes.Buffer, n int) {
	b.Grow(n)
	clear(b.AvailableBuffer()[:n])
	b.Write(b.AvailableBuffer()[:n])
}

// chunk appends one PNG chunk: length, type, data, CRC of type and data.
func chunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	start := b.Len()
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(b.Bytes()[start:]))
	b.Write(n[:])
}
