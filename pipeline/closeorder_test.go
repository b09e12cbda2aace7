package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks/file"
)

// probeSink is a real file sink that, when closed, records what the
// checkpoint file held at that moment.
type probeSink struct {
	*file.Sink
	checkpoint string
	atClose    string
}

func (s *probeSink) Close() error {
	data, _ := os.ReadFile(s.checkpoint)
	s.atClose = string(data)
	return s.Sink.Close()
}

// TestCloseSyncsSinksBeforeSaving: with a file sink in `fsync: interval`
// mode (writes acknowledged before they are on disk), Close closes the
// sink (its final fsync) before it saves the checkpoint, so the checkpoint
// never covers lines a power loss could still take.
func TestCloseSyncsSinksBeforeSaving(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfg := file.NewDefaultConfig()
	cfg.Path, cfg.Fsync, cfg.FsyncInterval = out, "interval", config.Duration(time.Hour)
	fs, err := file.New(cfg, file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &probeSink{Sink: fs, checkpoint: filepath.Join(dir, "state", "checkpoints.json")}
	store, err := pipeline.OpenStore(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.WithDefaults(pipeline.Options{
		Sources:        []pipeline.Source{{Name: "s", AppID: "app_1"}},
		Sinks:          []pipeline.SinkSpec{{Name: "file", Sink: sink, Batch: config.Batch{MaxWait: config.Duration(10 * time.Millisecond)}}},
		Store:          store,
		DeadLetterPath: filepath.Join(dir, "dead.ndjson"),
		// No periodic save: the only one is Close's.
		CheckpointInterval: time.Hour,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		id := fmt.Sprintf("id-%d", i)
		raw := fmt.Appendf(nil, `{"id":%q,"date":"2026-11-28T00:00:00Z","message":"line %d"}`, id, i)
		if err := p.Submit(t.Context(), event.Event{Raw: raw, ID: id, Date: int64(i+1) * int64(time.Millisecond), Source: "s", AppID: "app_1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sink.atClose, "id-9") {
		t.Fatalf("the checkpoint covered id-9 before the file sink's final sync: %s", sink.atClose)
	}
	data, err := os.ReadFile(sink.checkpoint)
	if err != nil || !strings.Contains(string(data), `"last_id":"id-9"`) {
		t.Fatalf("checkpoint after Close: %v %s", err, data)
	}
	lines, _ := os.ReadFile(out)
	if n := strings.Count(string(lines), "\n"); n != 10 {
		t.Fatalf("file holds %d lines", n)
	}
}
