package qrcode

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// pngWriter writes a symbol as a 1-bit, 2-colour paletted PNG.
//
// It writes the chunks itself instead of calling image/png: that encoder
// needs an 8-bit image (76 KB for a 276-pixel square) and reads it one
// interface call per pixel, six times slower than compress/zlib on the
// rows in the package's benchmark; and the rows are deflated by hand
// (deflate.go), which is faster again.
type pngWriter struct {
	idat []byte
	out  bytes.Buffer
}

// palette: index 0 light, index 1 dark, as the modules are stored.
var palette = []byte{0xff, 0xff, 0xff, 0x00, 0x00, 0x00}

// Four pixels a module make each module one nibble of a 1-bit row; this
// fails to compile if ModulePixels changes.
const _ = uint(ModulePixels-4) + uint(4-ModulePixels)

// png returns the PNG bytes of sym, valid until the scratch's next use.
func (s *scratch) png(sym symbol) ([]byte, error) {
	w := &s.pngw
	side := (sym.size + 2*QuietZone) * ModulePixels
	var err error
	if w.idat, err = zlibImage(w.idat[:0], sym); err != nil {
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
	chunk(&w.out, "IDAT", w.idat)
	chunk(&w.out, "IEND", nil)
	return w.out.Bytes(), nil
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
