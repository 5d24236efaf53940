// Package qrcode renders WhatsApp pairing codes as PNG data URLs.
//
// The symbol's layout comes from rsc.io/qr/coding; this package encodes the
// codewords and their Reed–Solomon check bytes (to the byte as that package
// does), picks the mask (ISO/IEC 18004 penalty rules) and writes the 1-bit
// PNG itself, because all are on the hot path of every pairing session. It
// never logs the code it renders.
package qrcode

import (
	"encoding/base64"
	"fmt"
	"sync"
	"unsafe"

	"wagateway/service"
)

// ModulePixels is the width of one QR module in the PNG: four pixels is
// what a phone camera reads reliably from a screen.
const ModulePixels = 4

// QuietZone is the light border around the symbol, in modules, as the QR
// standard asks.
const QuietZone = 4

// prefix is how every data URL this package returns starts.
const prefix = "data:image/png;base64,"

// Render implements service.QRRenderer.
var _ service.QRRenderer = Render

// scratchPool keeps the buffers of one render (symbol grids, PNG rows, the
// zlib writer) so a render allocates only its result.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Render encodes code as a QR image and returns it as a PNG data URL.
func Render(code string) (string, error) {
	if code == "" {
		return "", service.Errorf(service.EINVALID, "empty QR code")
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	sym, err := s.symbol(code)
	if err != nil {
		return "", fmt.Errorf("render qr: %w", err)
	}
	png, err := s.png(sym)
	if err != nil {
		return "", fmt.Errorf("render qr: %w", err)
	}
	out := make([]byte, len(prefix)+base64.StdEncoding.EncodedLen(len(png)))
	copy(out, prefix)
	base64.StdEncoding.Encode(out[len(prefix):], png)
	// out is never written again: the string shares it, as strings.Builder
	// does, instead of copying the 2 KB (half of a render's bytes).
	return unsafe.String(unsafe.SliceData(out), len(out)), nil
}

// PNG returns the image bytes of a data URL produced by Render.
func PNG(dataURL string) ([]byte, error) {
	if len(dataURL) <= len(prefix) || dataURL[:len(prefix)] != prefix {
		return nil, service.Errorf(service.EINVALID, "not a PNG data URL")
	}
	b, err := base64.StdEncoding.DecodeString(dataURL[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("decode qr data url: %w", err)
	}
	return b, nil
}
