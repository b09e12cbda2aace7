package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/logship/logship/event"
)

// deadLetterChildEnv makes the test binary play the child of
// TestDeadLetterShortWrite: RLIMIT_FSIZE limits every file of the process
// that sets it.
const deadLetterChildEnv = "LOGSHIP_DEADLETTER_FSIZE_CHILD"

func setFileSizeLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	lim.Cur = min(n, lim.Max)
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
}

func deadEvents(ids ...string) []event.Event {
	var es []event.Event
	for _, id := range ids {
		es = append(es, event.Event{ID: id, Source: "s", Raw: []byte(`{"id":"` + id + `","message":"m"}`)})
	}
	return es
}

// deadLetterChild writes dead letters, then a batch cut short by the
// file-size limit (a real short write, EFBIG), then the same batch again
// as the lane's retry does.
func deadLetterChild(path string) error {
	d := newDeadLetters(path)
	defer d.close()
	if err := d.write("http", "refused", deadEvents("a1")); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := setFileSizeLimit(uint64(st.Size()) + 40); err != nil {
		return err
	}
	b := deadEvents("b1", "b2")
	if err := d.write("http", "refused", b); err == nil {
		return fmt.Errorf("write past RLIMIT_FSIZE succeeded")
	}
	if err := setFileSizeLimit(^uint64(0)); err != nil {
		return err
	}
	return d.write("http", "refused", b)
}

// TestDeadLetterShortWrite: a dead-letter write cut short (disk full, file
// size limit) leaves no partial line for the retry to glue onto.
func TestDeadLetterShortWrite(t *testing.T) {
	if p := os.Getenv(deadLetterChildEnv); p != "" {
		if err := deadLetterChild(p); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		return
	}
	path := filepath.Join(t.TempDir(), "dead-letter.ndjson")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDeadLetterShortWrite$", "-test.count=1")
	cmd.Env = append(os.Environ(), deadLetterChildEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
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
	if got := strings.Join(ids, ","); got != "a1,b1,b2" {
		t.Errorf("ids = %s, want a1,b1,b2", got)
	}
}
