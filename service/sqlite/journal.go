package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// JournalName is the outbox log inside the data directory.
const JournalName = "outbox.log"

// minCompact is the size the log may reach before its first compaction;
// after one it may grow by as much as the snapshot again, so compacting
// costs at most about as much as the appends did.
const minCompact = 16 << 20

// maxRecord bounds a record's length when reading: a larger length is
// damage, not a record (an item is a few KB).
const maxRecord = 64 << 20

// Record types of the log. A record is its body's length (4 bytes, little
// endian), the body's CRC-32C (4 bytes), then the body: the type, then its
// fields as varints and length-prefixed bytes.
const (
	recSeq     byte = 1 // the last id given, so ids keep increasing after every item left
	recAdd     byte = 2 // an item with its claim, and the id of the item it supersedes (0: none)
	recRemove  byte = 3 // items of a lane acknowledged or dead-lettered
	recClaim   byte = 4 // items claimed by a consumer at a time: one more attempt each
	recCache   byte = 5 // a cache row not yet in the database
	recUncache byte = 6 // cache keys invalidated; none: all of them
	recLease   byte = 7 // a session's lease row as it now is
	recKnown   byte = 8 // a session registered: Restore starts it
	recForget  byte = 9 // a session forgotten: not known, not running
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journal is the append-only file under the outbox: every change of the
// outbox's items is one record, written before the change counts. Appends
// are write calls without fsync, the promise of SQLite's
// synchronous(NORMAL): a killed process loses nothing, a power cut may lose
// the last records. A compaction rewrites the file as a snapshot of what
// is pending (fsynced, then renamed over the log), so its size stays
// bounded by the pending items, not by the events that passed.
//
// A journal is not safe for concurrent use: logState's mutex guards it.
type journal struct {
	path      string
	f         *os.File
	size      int64
	compactAt int64
	grow      int64 // the least growth between two compactions (minCompact)
	broken    error // an append that could not be undone: appends fail until a compaction
	buf       []byte
	writes    int64 // appends that succeeded
}

// frame appends one record to the journal's buffer: reserve the header,
// let fill write the body, then set length and CRC.
func frame(buf []byte, fill func(e *encoder)) []byte {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	e := encoder{b: buf}
	fill(&e)
	buf = e.b
	body := buf[start+8:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(body, castagnoli))
	return buf
}

// append writes records (whole frames) at the end of the file. A failed or
// short write is cut off again, so the file never holds half a record
// before a whole one; if even that fails the journal refuses appends
// until a compaction rewrites it.
func (j *journal) append(records []byte) error {
	if j.broken != nil {
		return fmt.Errorf("outbox log %s: unusable since an earlier write failed: %w", j.path, j.broken)
	}
	n, err := j.f.Write(records)
	if err == nil {
		j.size += int64(n)
		j.writes++
		return nil
	}
	if terr := j.f.Truncate(j.size); terr != nil {
		j.broken = errors.Join(err, terr)
	} else if _, serr := j.f.Seek(j.size, io.SeekStart); serr != nil {
		j.broken = errors.Join(err, serr)
	}
	return fmt.Errorf("outbox log %s: write: %w", j.path, err)
}

// due reports whether the log has grown enough to compact.
func (j *journal) due() bool { return j.broken != nil || j.size >= j.compactAt }

// replace makes snapshot (whole frames) the new log: written to a
// temporary file and fsynced, renamed over the log, the directory fsynced.
// Until the rename the old log stands, so a crash at any point leaves one
// whole log.
func (j *journal) replace(snapshot []byte) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("outbox log: compact: %w", err)
	}
	_, err = f.Write(snapshot)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("outbox log: compact: %w", err)
	}
	syncDir(filepath.Dir(j.path))
	if j.f != nil {
		_ = j.f.Close()
	}
	j.f, j.size, j.broken = f, int64(len(snapshot)), nil
	j.compactAt = j.size + max(j.grow, j.size)
	return nil
}

// postpone moves the next compaction on after one failed: the log stays
// whole, it only grows.
func (j *journal) postpone() { j.compactAt = j.size + j.grow }

// close fsyncs and closes the file.
func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := errors.Join(j.f.Sync(), j.f.Close())
	j.f = nil
	return err
}

// syncDir makes a rename in dir durable; where a directory cannot be
// fsynced the rename is as durable as the file system makes it anyway.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// readJournal reads the records of the log at path, in order, into apply.
// It stops at the first record that is cut short or fails its CRC (the
// tail of a write a power cut interrupted) and returns how many bytes it
// skipped there. A missing log is an empty one.
func readJournal(path string, apply func(typ byte, d *decoder) error) (skipped int64, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox log: read %s: %w", path, err)
	}
	off := 0
	for off < len(b) {
		if len(b)-off < 8 {
			break
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n < 1 || n > maxRecord || len(b)-off-8 < n {
			break
		}
		body := b[off+8 : off+8+n]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[off+4:]) {
			break
		}
		d := decoder{b: body[1:]}
		if err := apply(body[0], &d); err != nil {
			return 0, fmt.Errorf("outbox log %s: record at offset %d: %w", path, off, err)
		}
		if d.err != nil {
			return 0, fmt.Errorf("outbox log %s: record at offset %d: %w", path, off, d.err)
		}
		off += 8 + n
	}
	return int64(len(b) - off), nil
}

// setAside renames a damaged log out of the way (kept for an operator)
// and returns its new name.
func setAside(path string, now time.Time) string {
	aside := fmt.Sprintf("%s.damaged-%d", path, now.UnixNano())
	if err := os.Rename(path, aside); err != nil {
		return ""
	}
	return aside
}

// encoder writes a record's fields.
type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) string(v string)  { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }

func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

// decoder reads a record's fields; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

var errShortRecord = errors.New("record shorter than its fields")

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if d.err != nil || n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if d.err != nil || n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := append([]byte(nil), d.b[:n]...) // not kept pointing into the whole file
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) bool() bool { return d.byte() == 1 }

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShortRecord
	}
}
