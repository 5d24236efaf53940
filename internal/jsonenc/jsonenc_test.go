package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"wagateway/internal/jsonenc"
	"wagateway/service"
)

// strs are strings that take each path: plain, empty, HTML and JSON
// escapes, control bytes, non-ASCII, invalid UTF-8, a data URL.
var strs = []string{
	"", "abc", "s-001", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\there",
	"\x00\x1f", "ñandú", "\u2028\u2029", "\xff\xfe", "data:image/png;base64,iVBORw0KGgo+/=",
}

// times include the zero time, zones, nanoseconds, and years encoding/json
// refuses.
func times(r *rand.Rand) time.Time {
	switch r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	case 2:
		return time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	case 3:
		return time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).In(time.FixedZone("x", -5*3600+1800))
	default:
		return time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).UTC()
	}
}

func str(r *rand.Rand) string { return strs[r.IntN(len(strs))] }

// same fails t unless got and its error are json.Marshal(want)'s.
func same(t *testing.T, got []byte, err error, want any) {
	t.Helper()
	exp, expErr := json.Marshal(want)
	if (err != nil) != (expErr != nil) || (err != nil && err.Error() != expErr.Error()) {
		t.Fatalf("error %v, encoding/json %v, for %#v", err, expErr, want)
	}
	if err == nil && !bytes.Equal(got, exp) {
		t.Fatalf("got  %s\nwant %s", got, exp)
	}
}

func TestUpdateMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		u := service.Update{
			ID: str(r), Kind: service.Kind(str(r)), Lane: service.Lane(str(r)), SessionID: str(r),
			QR: str(r), Status: service.Status(str(r)), Reason: str(r), At: times(r),
			Attempts: r.IntN(3) * (r.IntN(2000) - 1000),
			Lease:    &service.Lease{SessionID: "ignored"},
		}
		got, err := jsonenc.Update([]byte("prefix"), u)
		if err == nil {
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("%s: the buffer's bytes were lost", got)
			}
			got = got[len("prefix"):]
		}
		same(t, got, err, u)
	}
}

func TestStatusRecordMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		rec := service.StatusRecord{SessionID: str(r), Status: service.Status(str(r)), Reason: str(r), UpdatedAt: times(r)}
		got, err := jsonenc.StatusRecord(nil, rec)
		same(t, got, err, rec)
	}
}

// cachedQR is the caches' row type QRWithCode stands for.
type cachedQR struct {
	service.QR
	Code string `json:"code,omitempty"`
}

func TestQRWithCodeMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		q := service.QR{SessionID: str(r), Code: str(r), Image: str(r), IssuedAt: times(r), ExpiresAt: times(r)}
		got, err := jsonenc.QRWithCode(nil, q)
		same(t, got, err, cachedQR{QR: q, Code: q.Code})
	}
}

// TestTheTypesHaveNoFieldTheEncodersSkip fails when a field is added to a
// type: its encoder must write it too (and this list learn it).
func TestTheTypesHaveNoFieldTheEncodersSkip(t *testing.T) {
	for typ, written := range map[reflect.Type][]string{
		reflect.TypeFor[service.Update]():       {"ID", "Kind", "Lane", "SessionID", "QR", "Status", "Reason", "At", "Attempts", "Lease"},
		reflect.TypeFor[service.StatusRecord](): {"SessionID", "Status", "Reason", "UpdatedAt"},
		reflect.TypeFor[service.QR]():           {"SessionID", "Code", "Image", "IssuedAt", "ExpiresAt"},
	} {
		var fields []string
		for f := range typ.Fields() {
			fields = append(fields, f.Name)
		}
		if !slices.Equal(fields, written) {
			t.Errorf("%s has fields %v; its encoder writes %v", typ, fields, written)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	u := service.Update{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: "s-000123",
		QR: "data:image/png;base64," + string(bytes.Repeat([]byte("iVBORw0KGgo+"), 108)), At: time.Now()}
	b.Run("jsonenc", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = jsonenc.Update(buf[:0], u)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(u)
		}
	})
}
