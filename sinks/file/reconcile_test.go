package file

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logship/logship/event"
)

// shaped is a batch whose lines are shaped by the pipeline's fields stage:
// the event's id is known (event.ID) but the line carries it under
// another key, or not at all. msg tells the lines apart.
func shaped(src, shape string, ids ...string) *event.Batch {
	b := &event.Batch{}
	for _, id := range ids {
		var raw string
		switch shape {
		case "exclude":
			raw = `{"src":"` + src + `","msg":"` + id + `"}`
		case "rename":
			raw = `{"log_id":"` + id + `","src":"` + src + `","msg":"` + id + `"}`
		default:
			raw = `{"id":"` + id + `","src":"` + src + `","msg":"` + id + `"}`
		}
		b.Add(event.Event{ID: id, Source: src, Raw: []byte(raw)})
	}
	return b
}

// lines returns the "src:msg" of each line of path.
func lines(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" {
			continue
		}
		src, msg := "", ""
		if i := strings.Index(l, `"src":"`); i >= 0 {
			src = l[i+7 : i+7+strings.IndexByte(l[i+7:], '"')]
		}
		if i := strings.Index(l, `"msg":"`); i >= 0 {
			msg = l[i+7 : i+7+strings.IndexByte(l[i+7:], '"')]
		}
		out = append(out, src+":"+msg)
	}
	return strings.Join(out, ",")
}

// restart plays a crash and a restart: a new sink on the same path, as the
// next process would start (the file and its neighbours as left).
func restart(t *testing.T, s *Sink, cfg *Config) *Sink {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return start(t, cfg)
}

func write(t *testing.T, s *Sink, bs ...*event.Batch) {
	t.Helper()
	for _, b := range bs {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReconcileWhateverTheFieldsStageDid (issue 8 case 6): the lines carry
// the id under another key, or not at all; the replay after a crash is
// still written once.
func TestReconcileWhateverTheFieldsStageDid(t *testing.T) {
	for _, shape := range []string{"id", "exclude", "rename"} {
		t.Run(shape, func(t *testing.T) {
			cfg := withPath(filepath.Join(t.TempDir(), "out.ndjson"))
			s := start(t, cfg)
			write(t, s, shaped("a", shape, "1", "2", "3"), shaped("a", shape, "4"))
			s = restart(t, s, cfg)
			// The checkpoint was at 1: the replay brings 2, 3, 4 again.
			write(t, s, shaped("a", shape, "2", "3"), shaped("a", shape, "4", "5", "6"))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := lines(t, cfg.Path), "a:1,a:2,a:3,a:4,a:5,a:6"; got != want {
				t.Fatalf("lines = %s, want %s", got, want)
			}
		})
	}
}

// TestReconcileKeyedBySource: two sources may carry the same ids (one
// application followed twice, filtered two ways). What one source wrote
// before the crash must neither make the other skip its lines nor be
// written again by its own replay.
func TestReconcileKeyedBySource(t *testing.T) {
	cfg := withPath(filepath.Join(t.TempDir(), "out.ndjson"))
	s := start(t, cfg)
	write(t, s, shaped("a", "id", "1", "2"))
	s = restart(t, s, cfg)
	// Source b had not written 1 and 2 yet; source a's checkpoint was
	// before 1.
	write(t, s, shaped("b", "id", "1", "2"), shaped("a", "id", "1", "2", "3"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := lines(t, cfg.Path), "a:1,a:2,b:1,b:2,a:3"; got != want {
		t.Fatalf("lines = %s, want %s", got, want)
	}
}

// TestReconcileAcrossRotation: lines written to a file that logrotate
// renamed away after the last checkpoint are not written again to the new
// file after a crash.
func TestReconcileAcrossRotation(t *testing.T) {
	cfg := withPath(filepath.Join(t.TempDir(), "out.ndjson"))
	s := start(t, cfg)
	write(t, s, shaped("a", "id", "1", "2", "3"))
	if err := os.Rename(cfg.Path, cfg.Path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(t, s, shaped("a", "id", "4", "5"))
	s = restart(t, s, cfg)
	// The checkpoint was at 1.
	write(t, s, shaped("a", "id", "2", "3", "4"), shaped("a", "id", "5", "6"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := lines(t, cfg.Path+".1"), "a:1,a:2,a:3"; got != want {
		t.Errorf("rotated = %s, want %s", got, want)
	}
	if got, want := lines(t, cfg.Path), "a:4,a:5,a:6"; got != want {
		t.Errorf("new = %s, want %s", got, want)
	}
}

// TestJournalRotation: the journal is bounded: past reconcile_bytes of
// data it starts a new generation, the older one is dropped, and what the
// two generations hold still reconciles a replay of the last batches.
func TestJournalRotation(t *testing.T) {
	cfg := withPath(filepath.Join(t.TempDir(), "out.ndjson"), func(c *Config) { c.ReconcileBytes = 1000 })
	s := start(t, cfg)
	var ids []string
	for i := range 100 {
		id := strconv.Itoa(1000 + i)
		ids = append(ids, id)
		write(t, s, shaped("a", "id", id))
	}
	cur, old := journalPaths(cfg.Path)
	for _, p := range []string{cur, old} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// About 1000 bytes of data in lines of 40: 25 records of ~70 bytes.
		if st.Size() > 4000 {
			t.Errorf("%s holds %d bytes: not bounded by reconcile_bytes", filepath.Base(p), st.Size())
		}
	}
	s = restart(t, s, cfg)
	// The checkpoint was 20 lines back (800 bytes, within reconcile_bytes).
	write(t, s, shaped("a", "id", ids[80:90]...), shaped("a", "id", append(ids[90:], "new")...))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, 101)
	for _, id := range append(ids, "new") {
		want = append(want, "a:"+id)
	}
	if got := lines(t, cfg.Path); got != strings.Join(want, ",") {
		t.Fatalf("lines = %s", got)
	}
}

// TestReconcileOff: reconcile_bytes 0 keeps no journal and skips nothing
// (a torn last line is still cut); a journal left from before is ignored.
func TestReconcileOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	s := start(t, withPath(path))
	write(t, s, shaped("a", "id", "1", "2"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"id":"3","src":"a","ms`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	jpath, _ := journalPaths(path)
	before, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := withPath(path, func(c *Config) { c.ReconcileBytes = 0 })
	s = start(t, cfg)
	write(t, s, shaped("a", "id", "2", "3"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := lines(t, path), "a:1,a:2,a:2,a:3"; got != want {
		t.Fatalf("lines = %s, want %s", got, want)
	}
	if after, err := os.ReadFile(jpath); err != nil || string(after) != string(before) {
		t.Fatalf("the journal changed with reconcile_bytes 0 (%v)", err)
	}
}

// TestJournalUnavailable: a journal that cannot be created or read (here a
// directory took its name, which even root cannot open as a file) does
// not stop the sink: it writes without one and reconciles by the lines'
// id, as before the journal.
func TestJournalUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	jpath, _ := journalPaths(path)
	if err := os.Mkdir(jpath, 0o750); err != nil {
		t.Fatal(err)
	}
	cfg := withPath(path)
	s := start(t, cfg)
	write(t, s, shaped("a", "id", "1", "2", "3"))
	s = restart(t, s, cfg)
	write(t, s, shaped("a", "id", "2", "3", "4"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := lines(t, path), "a:1,a:2,a:3,a:4"; got != want {
		t.Fatalf("lines = %s, want %s", got, want)
	}
}

// cutBatchByCrash writes source a's lines 1 and 2, then the batch 3–6,
// and leaves the file as a SIGKILL between pages would: lines 3 and 4
// whole, 5 torn, 6 not written, the batch's journal record (written
// first) claiming all four.
func cutBatchByCrash(t *testing.T, cfg *Config, path string) {
	t.Helper()
	s := start(t, cfg)
	write(t, s, shaped("a", "exclude", "1", "2"))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, shaped("a", "exclude", "3", "4", "5", "6"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	line := int64(len(`{"src":"a","msg":"3"}`) + 1)
	if err := os.Truncate(path, st.Size()+2*line+5); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileBatchCutByCrash: a SIGKILL can cut a batch's write between
// pages, leaving some of its lines whole, one torn, and its journal record
// (written first) claiming the whole batch. The lines that are whole are
// not written again; the others are.
func TestReconcileBatchCutByCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	cfg := withPath(path)
	cutBatchByCrash(t, cfg, path)
	s := start(t, cfg)
	write(t, s, shaped("a", "exclude", "2", "3", "4"), shaped("a", "exclude", "5", "6", "7"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := lines(t, path), "a:1,a:2,a:3,a:4,a:5,a:6,a:7"; got != want {
		t.Fatalf("lines = %s, want %s", got, want)
	}
}

// TestReconcileBatchCutByCrashThenAnotherCrash: a batch cut by a crash
// (its journal record claims lines the file does not hold), then the next
// run writes past where that batch would have ended, other sources' lines
// first, and is killed in its turn before the cut batch's missing lines
// came again. The run after must still write those lines: the record of
// the cut batch counts for what the file held of it, not for what it
// claimed, once the file has grown past its claimed end.
func TestReconcileBatchCutByCrashThenAnotherCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	cfg := withPath(path)
	cutBatchByCrash(t, cfg, path)
	// The second run: source b's lines come first and take the file past
	// the end the cut batch claimed; then it is killed (between batches).
	s := start(t, cfg)
	write(t, s, shaped("b", "exclude", "10", "11", "12", "13", "14", "15"))
	// The third run: source a's replay from its checkpoint (before 3).
	s = restart(t, s, cfg)
	write(t, s, shaped("a", "exclude", "3", "4", "5", "6", "7"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := lines(t, path), "a:1,a:2,a:3,a:4,b:10,b:11,b:12,b:13,b:14,b:15,a:5,a:6,a:7"; got != want {
		t.Fatalf("lines = %s, want %s", got, want)
	}
}
