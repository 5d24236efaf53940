package qrcode_test

import (
	"bytes"
	"strings"
	"testing"

	"wagateway/service/qrcode"
)

func TestRenderRoundTrip(t *testing.T) {
	url, err := qrcode.Render("2@abc,def,ghi,jkl")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "data:image/png;base64,") {
		t.Fatalf("not a PNG data URL: %.40s", url)
	}
	png, err := qrcode.PNG(url)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatal("decoded bytes are not a PNG")
	}
}

func TestRenderAndDecodeErrors(t *testing.T) {
	if _, err := qrcode.Render(""); err == nil {
		t.Error("Render(\"\"): want error")
	}
	for _, in := range []string{"", "data:image/png;base64,", "data:text/plain;base64,aGk=", "data:image/png;base64,!!"} {
		if _, err := qrcode.PNG(in); err == nil {
			t.Errorf("PNG(%q): want error", in)
		}
	}
}
