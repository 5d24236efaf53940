// Package qrcode renders WhatsApp pairing codes as PNG data URLs with
// github.com/skip2/go-qrcode. It never logs the code it renders.
package qrcode

import (
	"encoding/base64"
	"fmt"

	goqrcode "github.com/skip2/go-qrcode"

	"wagateway/service"
)

// Size is the PNG's width and height in pixels: big enough for a phone
// camera, small enough (~2 KB) to travel in batches.
const Size = 256

// prefix is how every data URL this package returns starts.
const prefix = "data:image/png;base64,"

// Render implements service.QRRenderer.
var _ service.QRRenderer = Render

// Render encodes code as a QR image and returns it as a PNG data URL.
func Render(code string) (string, error) {
	if code == "" {
		return "", service.Errorf(service.EINVALID, "empty QR code")
	}
	png, err := goqrcode.Encode(code, goqrcode.Medium, Size)
	if err != nil {
		return "", fmt.Errorf("render qr: %w", err)
	}
	return prefix + base64.StdEncoding.EncodeToString(png), nil
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
