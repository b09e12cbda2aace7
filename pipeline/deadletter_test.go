package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logship/logship/event"
	"github.com/logship/logship/internal/fsizelimit"
)

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
	if err := fsizelimit.Set(uint64(st.Size()) + 40); err != nil {
		return err
	}
	b := deadEvents("b1", "b2")
	if err := d.write("http", "refused", b); err == nil {
		return fmt.Errorf("write past RLIMIT_FSIZE succeeded")
	}
	if err := fsizelimit.Set(^uint64(0)); err != nil {
		return err
	}
	return d.write("http", "refused", b)
}

// TestDeadLetterShortWrite: a dead-letter write cut short (disk full, file
// size limit) leaves no partial line for the retry to glue onto.
func TestDeadLetterShortWrite(t *testing.T) {
	if fsizelimit.Child(deadLetterChild) {
		return
	}
	path := filepath.Join(t.TempDir(), "dead-letter.ndjson")
	fsizelimit.RunChild(t, "TestDeadLetterShortWrite", path)
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
