package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/logship/logship/event"
)

// checkpointVersion is the format of the checkpoint files this build writes
// and reads.
const checkpointVersion = 1

// Store keeps one checkpoint file per source in a directory. A file is
// replaced atomically (temp file, fsync, rename, fsync of the directory), so
// a crash leaves either the old or the new checkpoint, never a torn one.
// Store is safe for concurrent use on distinct sources.
type Store struct {
	dir string
}

// checkpointFile is the on-disk form.
type checkpointFile struct {
	Version       int        `json:"version"`
	Source        string     `json:"source"`
	ApplicationID string     `json:"application_id"`
	LastID        string     `json:"last_id"`
	Newest        string     `json:"newest,omitempty"` // RFC 3339, for people
	NewestNanos   int64      `json:"newest_ns"`
	Recent        []seenJSON `json:"recent"`
	SavedAt       string     `json:"saved_at"`
}

type seenJSON struct {
	ID   string `json:"id"`
	Date int64  `json:"date_ns"`
}

// OpenStore returns the store in dir/checkpoints, creating it if needed.
func OpenStore(dir string) (*Store, error) {
	d := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("checkpoint directory: %w", err)
	}
	return &Store{dir: d}, nil
}

// path returns the file of a source; the name is made safe for a file name.
func (s *Store) path(source string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, source)
	return filepath.Join(s.dir, safe+".json")
}

// Load returns the delivered position saved for source. A missing file is
// the zero Position. A file that cannot be read, is corrupt, has another
// version or belongs to another application is an error: starting anyway
// would silently replay days of logs or skip some.
func (s *Store) Load(source, appID string) (event.Position, error) {
	p := s.path(source)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return event.Position{}, nil
	}
	if err != nil {
		return event.Position{}, fmt.Errorf("checkpoint of source %s: %w", source, err)
	}
	var f checkpointFile
	if err := json.Unmarshal(data, &f); err != nil {
		return event.Position{}, fmt.Errorf("checkpoint %s is corrupt (%v): fix or remove it to start from `since`", p, err)
	}
	switch {
	case f.Version != checkpointVersion:
		return event.Position{}, fmt.Errorf("checkpoint %s has version %d, this logship reads version %d", p, f.Version, checkpointVersion)
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

// Save replaces the checkpoint of source with pos, durably.
func (s *Store) Save(source, appID string, pos event.Position) error {
	if err := s.Stage(source, appID, pos); err != nil {
		return err
	}
	return s.Sync()
}

// Stage replaces the checkpoint of source with pos: the file's content is
// on disk, but the replacement itself survives a power loss only after
// Sync. Saving many sources, Stage each then Sync once.
func (s *Store) Stage(source, appID string, pos event.Position) error {
	f := checkpointFile{
		Version:       checkpointVersion,
		Source:        source,
		ApplicationID: appID,
		LastID:        pos.LastID,
		Newest:        time.Unix(0, pos.Newest).UTC().Format(time.RFC3339Nano),
		NewestNanos:   pos.Newest,
		Recent:        make([]seenJSON, len(pos.Recent)),
		SavedAt:       time.Now().UTC().Format(time.RFC3339Nano),
	}
	for i, r := range pos.Recent {
		f.Recent[i] = seenJSON{ID: r.ID, Date: r.Date}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return writeReplace(s.path(source), data)
}

// Sync makes the replacements staged so far durable (fsync of the
// directory).
func (s *Store) Sync() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save checkpoint: sync directory: %w", err)
	}
	return nil
}

// writeReplace writes data to path through a synced temp file and a
// rename, so that a crash leaves the old content or the new one, never a
// torn file. The directory is not synced (see Store.Sync).
func writeReplace(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}
