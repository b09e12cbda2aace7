package file

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/logship/logship/config"
)

// fsizeChildEnv makes the test binary play the child of a short-write
// test: a process of its own, since RLIMIT_FSIZE limits every file the
// process writes.
const fsizeChildEnv = "LOGSHIP_FILE_FSIZE_CHILD"

// setFileSizeLimit sets the soft RLIMIT_FSIZE of this process (the hard
// limit stays, so the soft one can be raised again). Go ignores SIGXFSZ:
// a write past the limit fails with EFBIG after writing what fits.
func setFileSizeLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	lim.Cur = min(n, lim.Max)
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
}

// runChild runs the test named test in a child process with
// fsizeChildEnv=arg, and fails t if the child fails.
func runChild(t *testing.T, test, arg string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), fsizeChildEnv+"="+arg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
}

// childMain runs f as the child's body when fsizeChildEnv is set, and
// reports whether it did.
func childMain(f func(arg string) error) bool {
	arg := os.Getenv(fsizeChildEnv)
	if arg == "" {
		return false
	}
	if err := f(arg); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	return true
}

// shortWriteChild plays a restart after a crash: the file holds a1 and a2,
// and the replay brings a2 again with new events. The first write hits the
// file-size limit in the middle of b1 (a real short write: the kernel
// writes what fits and refuses the rest with EFBIG); then, with the limit
// lifted, the same batch is written again, as the lane's retry does.
func shortWriteChild(path string) error {
	ctx := context.Background()
	s, err := New(config.FileSink{Path: path}, Options{})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if err := s.Write(ctx, batchOf("s", "a1", "a2")); err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if s, err = New(config.FileSink{Path: path}, Options{}); err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := setFileSizeLimit(uint64(st.Size()) + 12); err != nil {
		return err
	}
	b := batchOf("s", "a2", "b1", "b2", "b3")
	if err := s.Write(ctx, b); err == nil {
		return fmt.Errorf("write past RLIMIT_FSIZE succeeded")
	}
	if err := setFileSizeLimit(^uint64(0)); err != nil {
		return err
	}
	if err := s.Write(ctx, b); err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return s.Close()
}

// TestShortWriteLeavesNoTornLine: a write cut short by the file-size limit
// (as by a full disk) must leave the file at its size before the batch, so
// that the retry does not glue a partial line to the batch written again;
// and the failed write must not count as having written the replayed
// events the file already held.
func TestShortWriteLeavesNoTornLine(t *testing.T) {
	if childMain(shortWriteChild) {
		return
	}
	path := filepath.Join(t.TempDir(), "out.ndjson")
	runChild(t, "TestShortWriteLeavesNoTornLine", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, data, "a1,a2,b1,b2,b3")
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

// failedCutChild: a short write whose truncation fails too (the one fault
// injected through a seam: ftruncate cannot be made to fail for real when
// shrinking). The sink must refuse every write while the partial batch is
// in the file, and write again once it could cut it.
func failedCutChild(path string) error {
	ctx := context.Background()
	s, err := New(config.FileSink{Path: path}, Options{})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if err := s.Write(ctx, batchOf("s", "a1")); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	cuts := 0
	s.truncate = func(f *os.File, size int64) error {
		if cuts++; cuts <= 2 {
			return fmt.Errorf("injected ftruncate failure %d", cuts)
		}
		return f.Truncate(size)
	}
	if err := setFileSizeLimit(uint64(st.Size()) + 12); err != nil {
		return err
	}
	b := batchOf("s", "b1", "b2")
	if err := s.Write(ctx, b); err == nil {
		return fmt.Errorf("write past RLIMIT_FSIZE succeeded")
	}
	if err := setFileSizeLimit(^uint64(0)); err != nil {
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
	if childMain(failedCutChild) {
		return
	}
	path := filepath.Join(t.TempDir(), "out.ndjson")
	runChild(t, "TestShortWriteWithFailedCutRefusesWrites", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, data, "a1,b1,b2")
}
