package file

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logship/logship/event"
	"github.com/logship/logship/internal/fsizelimit"
)

// bigBatch is a batch of lines much longer than their journal records,
// so that a file-size limit can fall inside the data file's write while
// the journal's (smaller) write fits.
func bigBatch(src string, ids ...string) *event.Batch {
	b := &event.Batch{}
	pad := strings.Repeat("x", 300)
	for _, id := range ids {
		b.Add(event.Event{ID: id, Source: src, Raw: []byte(`{"id":"` + id + `","message":"` + pad + `"}`)})
	}
	return b
}

// shortWriteChild plays a restart after a crash: the file holds a1 and a2,
// and the replay brings a2 again with new events. The first write hits the
// file-size limit (a real short write: the kernel writes what fits and
// refuses the rest with EFBIG), in the data file 12 bytes into b1 (mode
// "data") or in the journal's record (mode "journal"); then, with the
// limit lifted, the same batch is written again, as the lane's retry does.
func shortWriteChild(arg string) error {
	mode, path, _ := strings.Cut(arg, ":")
	ctx := context.Background()
	s, err := New(withPath(path), Options{})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if err := s.Write(ctx, bigBatch("s", "a1", "a2")); err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if s, err = New(withPath(path), Options{}); err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	jpath, _ := journalPaths(path)
	limitOf := path
	if mode == "journal" {
		limitOf = jpath
	}
	st, err := os.Stat(limitOf)
	if err != nil {
		return err
	}
	if err := fsizelimit.Set(uint64(st.Size()) + 12); err != nil {
		return err
	}
	b := bigBatch("s", "a2", "b1", "b2", "b3")
	if err := s.Write(ctx, b); err == nil {
		return fmt.Errorf("write past RLIMIT_FSIZE succeeded")
	}
	if err := fsizelimit.Set(^uint64(0)); err != nil {
		return err
	}
	if err := s.Write(ctx, b); err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return s.Close()
}

// TestShortWriteLeavesNoTornLine: a write cut short by the file-size limit
// (as by a full disk) must leave the file and its journal at their sizes
// before the batch, so that the retry does not glue a partial line to the
// batch written again; the failed write must not count as having written
// the replayed events the file already held; and the journal must still
// reconcile a replay after a crash.
func TestShortWriteLeavesNoTornLine(t *testing.T) {
	if fsizelimit.Child(shortWriteChild) {
		return
	}
	for _, mode := range []string{"data", "journal"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.ndjson")
			fsizelimit.RunChild(t, "TestShortWriteLeavesNoTornLine", mode+":"+path)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkLines(t, data, "a1,a2,b1,b2,b3")
			// A crash now, with a checkpoint at a1: the replay is skipped.
			s := start(t, withPath(path))
			write(t, s, bigBatch("s", "a2", "b1", "b2"), bigBatch("s", "b3", "c1"))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if data, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
			checkLines(t, data, "a1,a2,b1,b2,b3,c1")
		})
	}
}

// failedCutChild: a short write whose truncation fails too (the one fault
// injected through a seam: ftruncate cannot be made to fail for real when
// shrinking). The sink must refuse every write while the partial batch is
// in the file, and write again once it could cut it.
func failedCutChild(path string) error {
	ctx := context.Background()
	s, err := New(withPath(path), Options{})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if err := s.Write(ctx, bigBatch("s", "a1", "a2")); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	cuts := 0
	s.truncate = func(f *os.File, size int64) error {
		if f == s.data.f {
			if cuts++; cuts <= 2 {
				return fmt.Errorf("injected ftruncate failure %d", cuts)
			}
		}
		return f.Truncate(size)
	}
	if err := fsizelimit.Set(uint64(st.Size()) + 12); err != nil {
		return err
	}
	b := bigBatch("s", "b1", "b2")
	if err := s.Write(ctx, b); err == nil {
		return fmt.Errorf("write past RLIMIT_FSIZE succeeded")
	}
	if err := fsizelimit.Set(^uint64(0)); err != nil {
		return err
	}
	torn, err := os.Stat(path)
	if err != nil {
		return err
	}
	if torn.Size() != st.Size()+12 {
		return fmt.Errorf("size after the short write = %d, want %d", torn.Size(), st.Size()+12)
	}
	if err := s.Write(ctx, b); err == nil || !strings.Contains(err.Error(), "cannot be cut") {
		return fmt.Errorf("write while the partial batch could not be cut: %v", err)
	}
	if now, err := os.Stat(path); err != nil || now.Size() != torn.Size() {
		return fmt.Errorf("the refused write changed the file (%v)", err)
	}
	if err := s.Write(ctx, b); err != nil {
		return fmt.Errorf("write once the cut works: %w", err)
	}
	return s.Close()
}

func TestShortWriteWithFailedCutRefusesWrites(t *testing.T) {
	if fsizelimit.Child(failedCutChild) {
		return
	}
	path := filepath.Join(t.TempDir(), "out.ndjson")
	fsizelimit.RunChild(t, "TestShortWriteWithFailedCutRefusesWrites", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, data, "a1,a2,b1,b2")
}

// checkLines fails unless data is whole NDJSON lines holding the ids want.
func checkLines(t *testing.T, data []byte, want string) {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("file ends inside a line: %q", data)
	}
	var ids []string
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var v struct{ ID string }
		if err := json.Unmarshal(line, &v); err != nil {
			t.Errorf("torn line %q: %v", line, err)
			continue
		}
		ids = append(ids, v.ID)
	}
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("ids = %s, want %s", got, want)
	}
}
