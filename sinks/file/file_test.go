package file

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
)

var _ pipeline.Sink = (*Sink)(nil)
var _ pipeline.Starter = (*Sink)(nil)
var _ pipeline.Reopener = (*Sink)(nil)

func batchOf(src string, ids ...string) *event.Batch {
	b := &event.Batch{}
	for _, id := range ids {
		b.Add(event.Event{ID: id, Source: src, Raw: []byte(`{"id":"` + id + `","message":"m ` + id + `"}`)})
	}
	return b
}

func readIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, `"id":"`)
		j := strings.Index(line[i+6:], `"`)
		ids = append(ids, line[i+6:i+6+j])
	}
	return ids
}

func start(t *testing.T, cfg *Config) *Sink {
	t.Helper()
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWriteCreatesParentsAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "out.ndjson")
	s := start(t, withPath(path))
	if err := s.Write(t.Context(), batchOf("s", "1", "2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode = %v", st.Mode().Perm())
	}
	if got := strings.Join(readIDs(t, path), ","); got != "1,2" {
		t.Fatalf("ids = %s", got)
	}
}

// TestReconcileAfterCrash plays what a SIGKILL leaves: events written after
// the last checkpoint, and a torn last line. The replay must add each id
// once.
func TestReconcileAfterCrash(t *testing.T) {
	tests := []struct {
		name     string
		existing string // file content before the restart
		replay   []string
		want     string
	}{
		{
			name:     "clean tail",
			existing: `{"id":"1"}` + "\n" + `{"id":"2"}` + "\n" + `{"id":"3"}` + "\n",
			replay:   []string{"2", "3", "4", "5"},
			want:     "1,2,3,4,5",
		},
		{
			name:     "torn last line",
			existing: `{"id":"1"}` + "\n" + `{"id":"2"}` + "\n" + `{"id":"3","mess`,
			replay:   []string{"2", "3", "4"},
			want:     "1,2,3,4",
		},
		{
			name:     "only a torn line",
			existing: `{"id":"1","mess`,
			replay:   []string{"1", "2"},
			want:     "1,2",
		},
		{
			name:   "empty file",
			replay: []string{"1"},
			want:   "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.ndjson")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			s := start(t, withPath(path))
			// The replay comes in two batches, then new events.
			half := len(tt.replay) / 2
			for _, b := range [][]string{tt.replay[:half], tt.replay[half:]} {
				if err := s.Write(context.Background(), batchOf("s", b...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(readIDs(t, path), ","); got != tt.want {
				t.Fatalf("ids = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestReconcileStopsAfterReplay: once a source writes an id the file did
// not hold, later events of that source are written even if their id
// appeared in the tail (ids are per application: another source may reuse
// one).
func TestReconcileStopsAfterReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	if err := os.WriteFile(path, []byte(`{"id":"1"}`+"\n"+`{"id":"x"}`+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	s := start(t, withPath(path))
	for _, b := range []*event.Batch{batchOf("a", "1", "2"), batchOf("a", "x")} {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if got := strings.Join(readIDs(t, path), ","); got != "1,x,2,x" {
		t.Fatalf("ids = %s", got)
	}
}

func TestReopenAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	s := start(t, withPath(path, func(c *Config) { c.Fsync = "interval" }))
	if err := s.Write(t.Context(), batchOf("s", "1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), batchOf("s", "2")); err != nil { // still the old file
		t.Fatal(err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), batchOf("s", "3")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := strings.Join(readIDs(t, path+".1"), ","); got != "1,2" {
		t.Fatalf("rotated = %s", got)
	}
	if got := strings.Join(readIDs(t, path), ","); got != "3" {
		t.Fatalf("new = %s", got)
	}
}

// withPath returns the default configuration for path, edited.
func withPath(path string, edit ...func(*Config)) *Config {
	c := NewDefaultConfig()
	c.Path = path
	for _, e := range edit {
		e(c)
	}
	return c
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, c := range []*Config{
		NewDefaultConfig(),
		withPath("x", func(c *Config) { c.Mode = "rw" }),
		withPath("x", func(c *Config) { c.Fsync = "sometimes" }),
	} {
		if _, err := New(c, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // every problem, "path: message" one per line
	}{
		{"defaults with a path", func(*Config) {}, ""},
		{"path", func(c *Config) { c.Path = "" }, "path: required"},
		{"fsync", func(c *Config) { c.Fsync = "always" }, "fsync: must be batch, interval or never"},
		{"fsync_interval", func(c *Config) { c.FsyncInterval = -1 }, "fsync_interval: must be positive"},
		{"mode", func(c *Config) { c.Mode = "0999" }, "mode: must be octal permission bits such as 0640"},
		{"mode too large", func(c *Config) { c.Mode = "01777" }, "mode: must be octal permission bits such as 0640"},
		{"reconcile_bytes", func(c *Config) { c.ReconcileBytes = -1 }, "reconcile_bytes: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := withPath("/out/a.ndjson", tt.edit)
			got := ""
			if ps := c.Validate(); len(ps) > 0 {
				got = ps.Error()
			}
			if got != tt.want {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
	if m, ok := withPath("x", func(c *Config) { c.Mode = "600" }).FileMode(); !ok || m != 0o600 {
		t.Errorf("FileMode %o %v", m, ok)
	}
	if k, p := withPath("/x").LocalFile(); k != "path" || p != "/x" {
		t.Errorf("LocalFile %q %q", k, p)
	}
}

// TestReopenFailureRetriesOpen: a reopen that fails (here the rotated
// path is taken by a directory, which even root cannot open for writing)
// must not close the sink for good: writes fail with a retryable error
// while the path cannot be opened, and go to the new file once it can.
func TestReopenFailureRetriesOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	s := start(t, withPath(path))
	if err := s.Write(t.Context(), batchOf("s", "1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(); err == nil {
		t.Fatal("reopen onto a directory succeeded")
	}
	for range 2 {
		err := s.Write(t.Context(), batchOf("s", "2"))
		if err == nil || event.IsPermanent(err) {
			t.Fatalf("write while the path cannot be opened: %v, want a retryable error", err)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), batchOf("s", "2")); err != nil {
		t.Fatalf("write once the path can be opened again: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readIDs(t, path+".1"), ","); got != "1" {
		t.Fatalf("rotated = %s", got)
	}
	if got := strings.Join(readIDs(t, path), ","); got != "2" {
		t.Fatalf("new = %s", got)
	}
}
