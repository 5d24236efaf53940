package qrcode

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"rsc.io/qr/coding"
)

// TestCodewordsMatchRSCCoding compares the codewords, check bytes
// included, with rsc.io/qr/coding's Encode and AddCheckBytes for every
// version and level, each mode, and random data of random lengths up to
// what the version holds (so every padding case and block split).
func TestCodewordsMatchRSCCoding(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 18004))
	alphabets := map[mode]string{
		numericMode:      "0123456789",
		alphanumericMode: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:",
		byteMode:         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=,\x00\xff",
	}
	for v := coding.Version(coding.MinVersion); v <= coding.MaxVersion; v++ {
		for lev := coding.L; lev <= coding.H; lev++ {
			p, err := coding.NewPlan(v, lev, 0)
			if err != nil {
				t.Fatal(err)
			}
			l := &layout{version: v, dataBytes: p.DataBytes, blocks: p.Blocks, checkBytes: p.CheckBytes / p.Blocks}
			l.checkRows = checkRows(l.checkBytes)
			for m, alphabet := range alphabets {
				most := 0 // the longest code of this mode the version holds
				for dataBits(m, most+1, v) <= p.DataBytes*8 {
					most++
				}
				for _, n := range []int{0, 1, 2, 3, most - 1, most, r.IntN(most + 1), r.IntN(most + 1)} {
					if n < 0 {
						continue
					}
					b := make([]byte, n)
					for i := range b {
						b[i] = alphabet[r.IntN(len(alphabet))]
					}
					code := string(b)
					var enc coding.Encoding = coding.String(code)
					switch m {
					case numericMode:
						enc = coding.Num(code)
					case alphanumericMode:
						enc = coding.Alpha(code)
					}
					if got, want := dataBits(m, n, v), enc.Bits(v); got != want {
						t.Fatalf("version %d mode %d, %d chars: %d bits, rsc.io/qr/coding %d", v, m, n, got, want)
					}
					var want coding.Bits
					enc.Encode(&want, v)
					want.AddCheckBytes(v, lev)
					prefix := []byte{0xa5} // appending keeps what dst held
					got := l.codewords(prefix, m, code)
					if !bytes.Equal(got[:1], prefix) || !bytes.Equal(got[1:], want.Bytes()) {
						t.Fatalf("version %d level %v mode %d, %d chars: codewords differ from rsc.io/qr/coding's", v, lev, m, n)
					}
				}
			}
		}
	}
}

// TestModeOf checks the mode choice against rsc.io/qr/coding's Check,
// which the package used before, on the edges of each alphabet.
func TestModeOf(t *testing.T) {
	for _, code := range []string{"", "0", "0123456789", "A", "Z0 $%*+-./:", "a", "0a", "AZ,", "é", "1\xff", "0\x00", "/:;", "@", "[", "`"} {
		want := byteMode
		switch {
		case coding.Num(code).Check() == nil:
			want = numericMode
		case coding.Alpha(code).Check() == nil:
			want = alphanumericMode
		}
		if got := modeOf(code); got != want {
			t.Errorf("modeOf(%q) = %d, want %d", code, got, want)
		}
	}
}
