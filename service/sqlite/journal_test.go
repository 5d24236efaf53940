package sqlite_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/outboxtest"
	"wagateway/service/sqlite"
)

// A log whose last record a crash cut short opens with every whole record
// before it; the damaged file is kept beside for an operator.
func TestOutboxLogTornTail(t *testing.T) {
	for name, damage := range map[string]func(t *testing.T, path string){
		"cut short": func(t *testing.T, path string) {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()-3); err != nil {
				t.Fatal(err)
			}
		},
		"garbage after": func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("\x20\x00\x00\x00\x01\x02\x03\x04half a record")); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := open(t, dir, newClock())
			items := outboxtest.AddN(t, newOutbox(t, db, sqlite.OutboxConfig{}), service.LaneHigh, 3)
			if err := sqlite.Crash(db); err != nil {
				t.Fatal(err)
			}
			damage(t, filepath.Join(dir, sqlite.JournalName))

			ob := newOutbox(t, open(t, dir, newClock()), sqlite.OutboxConfig{})
			want := items
			if name == "cut short" {
				want = items[:2] // the last Add was the cut record
			}
			outboxtest.SameIDs(t, "after the damage", outboxtest.MustClaim(t, ob, service.LaneHigh, 10), want)
			kept, _ := filepath.Glob(filepath.Join(dir, sqlite.JournalName+".damaged-*"))
			if len(kept) != 1 {
				t.Fatalf("damaged logs kept: %v, want one", kept)
			}
			// The new log is whole: a second reopen reads it all.
			next := outboxtest.AddN(t, ob, service.LaneHigh, 1)
			if last := want[len(want)-1]; service.CompareIDs(next[0].ID, last.ID) <= 0 {
				t.Fatalf("id %s after the damage is not after %s", next[0].ID, last.ID)
			}
		})
	}
}

// The log stays bounded by what is pending, however many events pass,
// and a compaction commits the cache rows whose records it drops: a crash
// right after one loses none.
func TestOutboxLogCompacts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := open(t, dir, newClock())
	ob, c := newOutbox(t, db, sqlite.OutboxConfig{}), sqlite.NewCache(db)
	sqlite.CompactEvery(db, 64<<10)
	var last service.Update
	for i := range 500 { // about 2.5 MB of records: each QR twice, item and cache row
		id := fmt.Sprintf("s%d", i%20)
		at := t0.Add(time.Duration(i) * time.Second)
		if err := c.SetQR(ctx, service.QR{SessionID: id, Image: stormImage, IssuedAt: at}, time.Hour); err != nil {
			t.Fatal(err)
		}
		var err error
		if last, err = ob.Add(ctx, service.Update{Kind: service.KindQR, Lane: service.LaneNormal, SessionID: id, QR: stormImage, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	// 20 pending QR items and up to the compaction size of records since.
	if size := sqlite.LogSize(db); size > 64<<10+20*5<<10 {
		t.Fatalf("log of %d bytes for 20 pending items: not compacted", size)
	}
	if err := sqlite.Crash(db); err != nil {
		t.Fatal(err)
	}
	again := open(t, dir, newClock())
	for i := range 20 {
		qr, ok, err := sqlite.NewCache(again).GetQR(ctx, fmt.Sprintf("s%d", i))
		if err != nil || !ok || !qr.IssuedAt.Equal(t0.Add(time.Duration(480+i)*time.Second)) {
			t.Fatalf("s%d after the crash: %+v, %v, %v; want the newest QR", i, qr, ok, err)
		}
	}
	got := outboxtest.MustClaim(t, newOutbox(t, again, sqlite.OutboxConfig{}), service.LaneNormal, 100)
	if len(got) != 20 || got[19].ID != last.ID {
		t.Fatalf("after the crash: %d pending, last %v; want 20 ending with %s", len(got), outboxtest.IDs(got), last.ID)
	}
	if g := got[19]; g.SessionID != last.SessionID || g.QR != stormImage || !g.At.Equal(last.At) {
		t.Fatalf("after the crash the last item reads %s %s at %v; want %s with its QR at %v", g.SessionID, truncate(g.QR), g.At, last.SessionID, last.At)
	}
}

// A data directory of a gateway before the log (schema version 2) keeps
// its pending items: Open moves the table's rows, with their ids and
// attempts, into the log, drops the table, and gives ids after its last.
func TestOpenMovesTheOutboxTableToTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	item := func(id string) string {
		b, _ := json.Marshal(outboxtest.Status(id, service.LaneHigh, t0))
		return string(b)
	}
	oldDatabase(t, dir,
		`CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL, item BLOB NOT NULL,
			added_ns INTEGER NOT NULL, consumer TEXT, claimed_ns INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0)`,
		`INSERT INTO outbox (id, lane, item, added_ns, consumer, claimed_ns, attempts) VALUES
			(7, 'high', '`+item("a")+`', 1, 'old-gateway', 5, 2), (9, 'high', '`+item("b")+`', 2, NULL, 0, 0)`,
		`INSERT INTO outbox (lane, item, added_ns) VALUES ('high', 'x', 3)`, // id 10, then deleted:
		`DELETE FROM outbox WHERE id = 10`,                                  // the sequence stays at 10
		`CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, at_ns INTEGER NOT NULL DEFAULT 0, expires_ns INTEGER NOT NULL DEFAULT 0)`,
		`PRAGMA user_version = 2`,
	)

	db := open(t, dir, newClock())
	var tables int
	if err := rawQuery(t, db, "SELECT count(*) FROM sqlite_schema WHERE name = 'outbox'", &tables); err != nil || tables != 0 {
		t.Fatalf("outbox tables after the move: %d, %v", tables, err)
	}
	ob := newOutbox(t, db, sqlite.OutboxConfig{Consumer: "new-gateway"})
	got := outboxtest.MustClaim(t, ob, service.LaneHigh, 10)
	if len(got) != 2 || got[0].ID != "7" || got[0].SessionID != "a" || got[0].Attempts != 3 || got[1].ID != "9" || got[1].Attempts != 1 {
		t.Fatalf("moved items: %+v", got)
	}
	if next := outboxtest.AddN(t, ob, service.LaneNormal, 1)[0]; next.ID != "11" {
		t.Fatalf("first id after the move: %s, want 11", next.ID)
	}
	// Moved for good: the next open reads them from the log.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := newOutbox(t, open(t, dir, newClock()), sqlite.OutboxConfig{}).Stats(ctx)
	if err != nil || st.Depth[service.LaneHigh] != 2 || st.Depth[service.LaneNormal] != 1 {
		t.Fatalf("after a second open: %+v, %v", st.Depth, err)
	}
}

// A log with a record this gateway does not know (a newer gateway wrote
// it) is refused, not half read.
func TestOpenRefusesAnUnknownRecord(t *testing.T) {
	dir := t.TempDir()
	body := []byte{99}
	rec := append([]byte{1, 0, 0, 0}, crc32c(body)...)
	if err := os.WriteFile(filepath.Join(dir, sqlite.JournalName), append(rec, body...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "unknown record type 99") {
		t.Fatalf("Open of a log with an unknown record: %v", err)
	}
}

func crc32c(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

func truncate(s string) string { return s[:min(len(s), 40)] }
