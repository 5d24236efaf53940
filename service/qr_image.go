package service

// QRRenderer turns a raw pairing code into a PNG data URL
// ("data:image/png;base64,…"); injected because rendering needs a library
// (service/qrcode.Render).
type QRRenderer func(code string) (string, error)

// QRImage returns the PNG bytes of a data URL a QRRenderer made; EINVALID
// when it is not one (service/qrcode.PNG).
type QRImage func(dataURL string) ([]byte, error)
