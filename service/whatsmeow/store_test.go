package whatsmeow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wagateway/service"
)

func TestParseStore(t *testing.T) {
	tests := []struct {
		in          string
		wantDialect string
		wantDSN     string
		wantDir     string
		wantErr     bool
	}{
		{"file:data/whatsmeow.db", "sqlite", "file:data/whatsmeow.db?" + sqlitePragmas, "data", false},
		{"file:/var/lib/wa/wa.db?_pragma=busy_timeout(9000)", "sqlite", "file:/var/lib/wa/wa.db?" + sqlitePragmas + "&_pragma=busy_timeout(9000)", "/var/lib/wa", false},
		{"wa.db", "sqlite", "file:wa.db?" + sqlitePragmas, ".", false},
		{"postgres://u:p@db:5432/wa?sslmode=disable", "postgres", "postgres://u:p@db:5432/wa?sslmode=disable", "", false},
		{"postgresql://db/wa", "postgres", "postgresql://db/wa", "", false},
		{"mysql://u:secret@db/wa", "", "", "", true},
		{"", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseStore(tt.in)
			if tt.wantErr {
				if service.ErrorCode(err) != service.EINVALID || strings.Contains(err.Error(), "secret") {
					t.Fatalf("want an invalid error without the password, got %v", err)
				}
				return
			}
			if err != nil || got.dialect != tt.wantDialect || got.dsn != tt.wantDSN || got.dir != tt.wantDir {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestSQLiteStoreCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	d := newTestDriver(t, "file:"+filepath.Join(dir, "whatsmeow.db"))
	if _, err := os.Stat(filepath.Join(dir, "whatsmeow.db")); err != nil {
		t.Fatalf("store file not created: %v", err)
	}
	testSessionTable(t, d)
}

// testSessionTable checks our table and its join with whatsmeow's devices
// on whichever database d runs.
func testSessionTable(t *testing.T, d *Driver) {
	t.Helper()
	ctx := context.Background()
	tab := d.sessions
	if err := tab.create(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if jid, err := tab.get(ctx, "nobody"); err != nil || jid != "" {
		t.Fatalf("get(nobody) = %q, %v", jid, err)
	}
	if err := tab.put(ctx, "a", "1@s.whatsapp.net"); err != nil {
		t.Fatal(err)
	}
	if err := tab.put(ctx, "a", "2@s.whatsapp.net"); err != nil { // upsert
		t.Fatal(err)
	}
	if err := tab.put(ctx, "b", "3@s.whatsapp.net"); err != nil {
		t.Fatal(err)
	}
	if jid, _ := tab.get(ctx, "a"); jid != "2@s.whatsapp.net" {
		t.Fatalf("get(a) = %q after upsert", jid)
	}
	if err := tab.delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	all, err := tab.all(ctx)
	if err != nil || len(all) != 1 || all["a"] != "2@s.whatsapp.net" {
		t.Fatalf("all = %v, %v", all, err)
	}
	if err := tab.delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}

	// Devices and rows together: only sessions with a device are paired.
	jid := pairDevice(t, d, "s1", "15551230000")
	pairDevice(t, d, "s2", "15551230001")
	if err := tab.put(ctx, "orphan", "15559999999.0:3@s.whatsapp.net"); err != nil {
		t.Fatal(err)
	}
	ids, err := d.Paired(ctx)
	if err != nil || strings.Join(ids, ",") != "s1,s2" {
		t.Fatalf("Paired = %v, %v", ids, err)
	}
	if err := d.Logout(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if dev, err := d.container.GetDevice(ctx, jid); err != nil || dev != nil {
		t.Fatalf("device of s1 after Logout: %v, %v", dev, err)
	}
	ids, err = d.Paired(ctx)
	if err != nil || strings.Join(ids, ",") != "s2" {
		t.Fatalf("Paired after Logout = %v, %v", ids, err)
	}
}
