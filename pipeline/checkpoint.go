package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logship/logship/event"
)

// checkpointVersion is the format of the checkpoint file this build writes.
// Version 1 was one file per source under state_dir/checkpoints/; this
// build reads those once (migration) and then writes version 3.
//
// Version 3 is one JSON object:
//
//	{"version":3,"saved_at":"…","sources":[
//	  {"source":"…","application_id":"app_…",
//	   "positions":[{"last_id":"…","newest":"…","newest_ns":N,"recent":[["id",N],…],"delivered":N}],
//	   "sinks":{"file":0,"http":0}}]}
//
// Each source lists its distinct delivered positions once and maps every
// sink name to one of them (sinks that agree, the common case, share one).
// "delivered" (absent when 0) counts the lines up to the position, for
// `limit` across restarts. Version 2 is version 3 without "delivered"; this
// build reads it (as 0). A later version may add keys: a reader refuses a
// version it does not know rather than guessing.
const checkpointVersion = 3

// checkpointVersionNoCount is version 3 without "delivered", still read.
const checkpointVersionNoCount = 2

// Names inside state_dir.
const (
	checkpointFile = "checkpoints.json"
	legacyDir      = "checkpoints"             // version 1: one file per source
	migratedDir    = "checkpoints.v1-migrated" // legacyDir once migrated
	tempPrefix     = ".checkpoints.json.tmp-"
)

// Store keeps the checkpoints of every source in one file,
// state_dir/checkpoints.json, replaced as a whole at each save: a temp
// file written and fsynced, renamed over the old one, and the directory
// fsynced. A crash leaves the old file or the new one, never a torn one.
//
// Why one file rather than a file per source or an append-only journal:
// a round of saves must cost one durable write whatever the number of
// sources (with 500 sources, a file per source meant ~200 fsyncs and
// renames a second and most of the agent's CPU). A journal would append
// only the sources that changed, but at steady state nearly every source
// changes every round, so it would write about the same bytes, plus
// compaction and a replay at start. One file keeps loading trivial and
// the format easy to read and fix by hand; the encoded record of a source
// that did not change is reused as is.
//
// Store is safe for concurrent use.
type Store struct {
	dir string

	mu      sync.Mutex
	records map[string]*storeRecord // by source name, as the file holds them
	legacy  bool                    // no version 2 file yet: Load reads version 1 files
	// bw writes the file: the records are copied through it, not into one
	// buffer of the whole file (held between rounds, 6 MiB for 500
	// sources).
	bw *bufio.Writer
}

// storeRecord is one source in the file: decoded for Load, and encoded as
// last written.
type storeRecord struct {
	appID string
	// cp is the record as Load returns it, when decoded: a record Save
	// wrote keeps only raw (Load decodes it again), so that the store does
	// not hold a second copy of every source's look-back ids.
	cp      Checkpoint
	decoded bool
	raw     []byte
}

// Checkpoint is one source's saved state.
type Checkpoint struct {
	// Sinks is each sink's delivered position, by sink name.
	Sinks map[string]event.Position
	// Shared, when Sinks is nil, is the position of every sink: a version
	// 1 checkpoint, which had one position per source.
	Shared event.Position
}

// IsZero reports whether nothing was saved.
func (c Checkpoint) IsZero() bool { return c.Sinks == nil && c.Shared.IsZero() }

// Resume returns the position a source resumes from, given the names of
// the sinks configured now: the earliest in stream order of their saved
// positions (see oldest), so that no sink misses a line; each sink then skips what its
// own position covers. A sink the checkpoint does not know (added since)
// starts from there too. A sink saved with an empty position (it never
// accepted a line) makes the source start from `since` when fromSince,
// and is otherwise ignored. When no configured sink is known (all
// renamed), the oldest saved position is used.
func (c Checkpoint) Resume(sinks []string, fromSince bool) event.Position {
	if c.Sinks == nil {
		return c.Shared
	}
	var ps []event.Position
	for _, name := range sinks {
		pos, ok := c.Sinks[name]
		switch {
		case !ok:
		case pos.IsZero() && fromSince:
			return event.Position{}
		case !pos.IsZero():
			ps = append(ps, pos)
		}
	}
	if ps == nil {
		for _, pos := range c.Sinks {
			if !pos.IsZero() {
				ps = append(ps, pos)
			}
		}
	}
	return oldest(ps)
}

// oldest returns the earliest in stream order of the non-empty positions
// (zero if none): the one with the smallest newest date and, among those
// sharing it, the one with the fewest lines delivered. The newest date of
// a prefix of the stream only grows along the stream, but it stays the
// same over lines dated earlier than it (lines out of order, within the
// look-back): two sinks, one a few lines behind the other, often share
// it. Picking the one further along then resumes the source after lines
// the other sink never got, and they were lost to it (found by the
// simulation, seeds 21036, 21327, 21863 and 22124).
func oldest(ps []event.Position) event.Position {
	var o event.Position
	for _, p := range ps {
		if p.IsZero() {
			continue
		}
		if o.IsZero() || p.Newest < o.Newest || p.Newest == o.Newest && p.Delivered < o.Delivered {
			o = p
		}
	}
	return o
}

// OpenStore opens the checkpoints of state directory dir, creating it if
// needed (and then fsyncing its parent, so that it survives a power loss).
// It removes the temp files an interrupted save left behind and reads the
// checkpoint file: a file that is corrupt or of another version is an
// error, since starting anyway would silently replay days of logs or skip
// some. Without a version 2 file, Load reads version 1 files (migration).
func OpenStore(dir string) (*Store, error) {
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	s := &Store{dir: dir, records: map[string]*storeRecord{}}
	if err := s.removeTemps(); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, checkpointFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.legacy = true
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("checkpoint file: %w", err)
	}
	if err := s.decode(data); err != nil {
		return nil, fmt.Errorf("checkpoint file %s %w", path, err)
	}
	return s, nil
}

// mkdirDurable creates dir and its missing parents, fsyncing each created
// directory's parent.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// removeTemps removes the temp files of interrupted saves (this version's
// and version 1's).
func (s *Store) removeTemps() error {
	for _, pattern := range []string{
		filepath.Join(s.dir, tempPrefix+"*"),
		filepath.Join(s.dir, legacyDir, ".tmp-*"),
	} {
		names, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove leftover checkpoint temp file: %w", err)
			}
		}
	}
	return nil
}

// The version 2 file, as decoded.
type (
	fileJSON struct {
		Version int               `json:"version"`
		Sources []json.RawMessage `json:"sources"`
	}
	recordJSON struct {
		Source        string         `json:"source"`
		ApplicationID string         `json:"application_id"`
		Positions     []positionJSON `json:"positions"`
		Sinks         map[string]int `json:"sinks"`
	}
	positionJSON struct {
		LastID      string     `json:"last_id"`
		NewestNanos int64      `json:"newest_ns"`
		Recent      []seenPair `json:"recent"`
		Delivered   int64      `json:"delivered"`
	}
	// seenPair is an event.Seen as ["id", date_ns].
	seenPair event.Seen
)

func (p *seenPair) UnmarshalJSON(b []byte) error {
	var a []json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a) != 2 {
		return errors.New("a recent entry is not [id, date_ns]")
	}
	if err := json.Unmarshal(a[0], &p.ID); err != nil {
		return err
	}
	return json.Unmarshal(a[1], &p.Date)
}

// decode reads a version 2 file into s.records. Its errors read after
// "checkpoint file PATH".
func (s *Store) decode(data []byte) error {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("is corrupt (%v): fix or remove it to start from `since`", err)
	}
	if f.Version != checkpointVersion && f.Version != checkpointVersionNoCount {
		return fmt.Errorf("has version %d, this logship reads versions %d and %d", f.Version, checkpointVersionNoCount, checkpointVersion)
	}
	for i, raw := range f.Sources {
		var r recordJSON
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("is corrupt (sources[%d]: %v): fix or remove it", i, err)
		}
		cp, err := r.checkpoint()
		if err == nil && r.Source == "" {
			err = errors.New("no source name")
		}
		if err == nil && s.records[r.Source] != nil {
			err = errors.New("source listed twice")
		}
		if err != nil {
			return fmt.Errorf("is corrupt (sources[%d]: %v): fix or remove it", i, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return err
		}
		s.records[r.Source] = &storeRecord{appID: r.ApplicationID, cp: cp, decoded: true, raw: compact.Bytes()}
	}
	return nil
}

// checkpoint checks and converts a decoded record.
func (r *recordJSON) checkpoint() (Checkpoint, error) {
	ps := make([]event.Position, len(r.Positions))
	for i, p := range r.Positions {
		// A last id without a newest date is a position of lines dated
		// ahead of the clock only (they move the last id, not the date),
		// which Recent then holds.
		if (p.LastID == "") != (p.NewestNanos == 0 && len(p.Recent) == 0) || (p.LastID == "" && p.Delivered != 0) {
			return Checkpoint{}, fmt.Errorf("positions[%d]: no position", i)
		}
		if p.Delivered < 0 {
			return Checkpoint{}, fmt.Errorf("positions[%d]: negative delivered", i)
		}
		ps[i] = event.Position{LastID: p.LastID, Newest: p.NewestNanos, Delivered: p.Delivered}
		if len(p.Recent) > 0 {
			ps[i].Recent = make([]event.Seen, len(p.Recent))
			for j, sp := range p.Recent {
				ps[i].Recent[j] = event.Seen(sp)
			}
		}
	}
	cp := Checkpoint{Sinks: make(map[string]event.Position, len(r.Sinks))}
	for name, i := range r.Sinks {
		if i < 0 || i >= len(ps) {
			return Checkpoint{}, fmt.Errorf("sink %s: no position %d", name, i)
		}
		cp.Sinks[name] = ps[i]
	}
	return cp, nil
}

// decode returns the record's checkpoint, decoded from its JSON when it
// was not yet.
func (r *storeRecord) decode() (Checkpoint, error) {
	if r.decoded {
		return r.cp, nil
	}
	var rj recordJSON
	if err := json.Unmarshal(r.raw, &rj); err != nil {
		return Checkpoint{}, err
	}
	return rj.checkpoint()
}

// Load returns the checkpoint saved for source (zero if none). A
// checkpoint of another application is an error, as is, while migrating,
// a version 1 file that cannot be read, is corrupt or has another version.
func (s *Store) Load(source, appID string) (Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[source]; r != nil {
		if r.appID != appID {
			return Checkpoint{}, fmt.Errorf("checkpoint of source %s in %s belongs to application %s, not %s: remove its entry or rename the source",
				source, filepath.Join(s.dir, checkpointFile), r.appID, appID)
		}
		if !r.decoded {
			cp, err := r.decode()
			if err != nil {
				return Checkpoint{}, fmt.Errorf("checkpoint of source %s: %w", source, err)
			}
			r.cp, r.decoded = cp, true
		}
		return r.cp, nil
	}
	if !s.legacy {
		return Checkpoint{}, nil
	}
	pos, err := loadV1(filepath.Join(s.dir, legacyDir, safeName(source)+".json"), source, appID)
	return Checkpoint{Shared: pos}, err
}

// Newest returns the newest date, in Unix nanoseconds, that any sink's
// position reached (0 when nothing was saved).
func (c Checkpoint) Newest() int64 {
	n := c.Shared.Newest
	for _, pos := range c.Sinks {
		n = max(n, pos.Newest)
	}
	return n
}

// Forget removes the records of the sources whose name starts with prefix
// and for which drop returns true; the file loses them at the next Save.
// It returns the names removed, sorted. A later Save with positions for
// one of them writes it again.
func (s *Store) Forget(prefix string, drop func(source, appID string, cp Checkpoint) bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for name, r := range s.records {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		// A record that cannot be decoded is left for Load to report.
		if cp, err := r.decode(); err == nil && drop(name, r.appID, cp) {
			delete(s.records, name)
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	return gone
}

// safeName makes a source name safe for a file name (version 1 files).
func safeName(source string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, source)
}

// v1File is the on-disk form of version 1.
type v1File struct {
	Version       int    `json:"version"`
	ApplicationID string `json:"application_id"`
	LastID        string `json:"last_id"`
	NewestNanos   int64  `json:"newest_ns"`
	Recent        []struct {
		ID   string `json:"id"`
		Date int64  `json:"date_ns"`
	} `json:"recent"`
}

// loadV1 reads a version 1 checkpoint file; missing is the zero Position.
func loadV1(p, source, appID string) (event.Position, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return event.Position{}, nil
	}
	if err != nil {
		return event.Position{}, fmt.Errorf("checkpoint of source %s: %w", source, err)
	}
	var f v1File
	if err := json.Unmarshal(data, &f); err != nil {
		return event.Position{}, fmt.Errorf("checkpoint %s is corrupt (%v): fix or remove it to start from `since`", p, err)
	}
	switch {
	case f.Version != 1:
		return event.Position{}, fmt.Errorf("checkpoint %s has version %d, this logship reads version 1 files only to migrate them", p, f.Version)
	case f.ApplicationID != appID:
		return event.Position{}, fmt.Errorf("checkpoint %s belongs to application %s, not %s: remove it or rename the source", p, f.ApplicationID, appID)
	case f.LastID == "" || f.NewestNanos == 0:
		return event.Position{}, fmt.Errorf("checkpoint %s is corrupt (no position): fix or remove it", p)
	}
	pos := event.Position{LastID: f.LastID, Newest: f.NewestNanos, Recent: make([]event.Seen, len(f.Recent))}
	for i, r := range f.Recent {
		pos.Recent[i] = event.Seen{ID: r.ID, Date: r.Date}
	}
	return pos, nil
}

// SourceState is one source's state for Save.
type SourceState struct {
	Source, AppID string
	// Positions are the delivered positions of the sinks, in the order of
	// Save's sinks; nil means unchanged since the last Save (the record
	// written then is reused).
	Positions []event.Position
}

// Save replaces the checkpoint file with states, durably: one file
// written, fsynced and renamed, and one fsync of the directory, whatever
// the number of sources. sinks names the positions of each state. A
// source whose positions are all empty is left out; a source the file
// holds but states does not (no longer configured) is kept. The first
// Save after a migration renames the version 1 directory to
// checkpoints.v1-migrated.
func (s *Store) Save(sinks []string, states []SourceState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range states {
		if st.Positions == nil {
			continue
		}
		var reuse []byte // the source's previous record: its capacity fits
		if r := s.records[st.Source]; r != nil {
			reuse = r.raw[:0]
		}
		raw := appendRecord(reuse, sinks, st)
		if raw == nil {
			delete(s.records, st.Source)
			continue
		}
		s.records[st.Source] = &storeRecord{appID: st.AppID, raw: raw}
	}
	names := make([]string, 0, len(s.records))
	for name := range s.records {
		names = append(names, name)
	}
	slices.Sort(names)
	err := writeReplace(filepath.Join(s.dir, checkpointFile), func(f io.Writer) error {
		if s.bw == nil {
			s.bw = bufio.NewWriterSize(f, 64<<10)
		}
		w := s.bw
		w.Reset(f)
		var head [128]byte
		b := append(head[:0], `{"version":`...)
		b = strconv.AppendInt(b, checkpointVersion, 10)
		b = append(b, `,"saved_at":"`...)
		b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","sources":[`...)
		_, _ = w.Write(b)
		for i, name := range names {
			if i > 0 {
				_ = w.WriteByte(',')
			}
			_ = w.WriteByte('\n')
			_, _ = w.Write(s.records[name].raw)
		}
		_, _ = w.WriteString("\n]}\n")
		err := w.Flush() // the first write error, if any, sticks until here
		w.Reset(nil)
		return err
	})
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if s.legacy {
		s.legacy = false
		old := filepath.Join(s.dir, legacyDir)
		if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, filepath.Join(s.dir, migratedDir)); err != nil {
				return fmt.Errorf("checkpoints migrated to %s, but: %w", checkpointFile, err)
			}
			return syncDir(s.dir)
		}
	}
	return nil
}

// appendRecord appends st's JSON object to b; it returns nil when every
// position is empty.
func appendRecord(b []byte, sinks []string, st SourceState) []byte {
	distinct := make([]int, len(sinks)) // sink -> index among the distinct positions
	var uniq []event.Position
	empty := true
	for k, p := range st.Positions {
		empty = empty && p.IsZero()
		j := slices.IndexFunc(uniq, func(u event.Position) bool { return samePosition(u, p) })
		if j < 0 {
			j = len(uniq)
			uniq = append(uniq, p)
		}
		distinct[k] = j
	}
	if empty {
		return nil
	}
	size := 128
	for _, p := range uniq {
		size += 96 + len(p.LastID)
		for _, r := range p.Recent {
			size += len(r.ID) + 26
		}
	}
	b = slices.Grow(b, size)
	b = append(b, `{"source":`...)
	b = event.AppendString(b, st.Source)
	b = append(b, `,"application_id":`...)
	b = event.AppendString(b, st.AppID)
	b = append(b, `,"positions":[`...)
	for j, p := range uniq {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"last_id":`...)
		b = event.AppendString(b, p.LastID)
		if p.Newest != 0 {
			b = append(b, `,"newest":"`...)
			b = time.Unix(0, p.Newest).UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		b = append(b, `,"newest_ns":`...)
		b = strconv.AppendInt(b, p.Newest, 10)
		b = append(b, `,"recent":[`...)
		for i, r := range p.Recent {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = event.AppendString(b, r.ID)
			b = append(b, ',')
			b = strconv.AppendInt(b, r.Date, 10)
			b = append(b, ']')
		}
		b = append(b, ']')
		if p.Delivered != 0 {
			b = append(b, `,"delivered":`...)
			b = strconv.AppendInt(b, p.Delivered, 10)
		}
		b = append(b, '}')
	}
	b = append(b, `],"sinks":{`...)
	for k, name := range sinks {
		if k > 0 {
			b = append(b, ',')
		}
		b = event.AppendString(b, name)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(distinct[k]), 10)
	}
	return append(b, "}}"...)
}

// samePosition reports whether a and b are the same position.
func samePosition(a, b event.Position) bool {
	return a.LastID == b.LastID && a.Newest == b.Newest && a.Delivered == b.Delivered && slices.Equal(a.Recent, b.Recent)
}

// writeReplace writes to path what write writes, through a synced temp
// file and a rename, so that a crash leaves the old content or the new
// one, never a torn file. The directory is not synced (see syncDir).
func writeReplace(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPrefix)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory, making the renames and creations in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
