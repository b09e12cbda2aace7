package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/logship/logship/event"
)

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "state") // created, parents too
	s := openStore(t, dir)
	if cp, err := s.Load("app", "app_1"); err != nil || !cp.IsZero() {
		t.Fatalf("missing checkpoint: %+v, %v", cp, err)
	}
	a := event.Position{LastID: "x9", Newest: 1_700_000_000_123_000_000,
		Recent: []event.Seen{{ID: "x8", Date: 1_700_000_000_000_000_000}, {ID: "x9", Date: 1_700_000_000_123_000_000}}, Delivered: 42}
	b := event.Position{LastID: `we"ird\id`, Newest: 1_600_000_000_000_000_001}
	sinks := []string{"file", "http", "kafka", "late"}
	states := []SourceState{
		{Source: "app/../weird name", AppID: "app_1", Positions: []event.Position{a, b, a, {}}},
		{Source: "other", AppID: "app_2", Positions: []event.Position{b, b, b, b}},
		{Source: "never", AppID: "app_3", Positions: []event.Position{{}, {}, {}, {}}},
	}
	if err := s.Save(sinks, states); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*Store{s, openStore(t, dir)} { // in memory and read back
		cp, err := st.Load("app/../weird name", "app_1")
		want := Checkpoint{Sinks: map[string]event.Position{"file": a, "http": b, "kafka": a, "late": {}}}
		if err != nil || !reflect.DeepEqual(cp, want) {
			t.Fatalf("got %+v, %v; want %+v", cp, err, want)
		}
		if cp, err := st.Load("never", "app_3"); err != nil || !cp.IsZero() {
			t.Fatalf("source with empty positions: %+v, %v", cp, err)
		}
	}
	// One file, and positions shared between sinks written once.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "checkpoints.json" {
		t.Fatalf("files in state dir: %v", entries)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "checkpoints.json"))
	var f struct {
		Version int
		Sources []struct{ Positions []json.RawMessage }
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 3 || len(f.Sources) != 2 ||
		len(f.Sources[0].Positions) != 3 || len(f.Sources[1].Positions) != 1 {
		t.Fatalf("file: %v\n%s", err, data)
	}

	// A second Save with unchanged sources (nil positions) keeps them, and
	// a source no longer configured stays in the file.
	s2 := openStore(t, dir)
	c := event.Position{LastID: "c", Newest: 5}
	if err := s2.Save(sinks, []SourceState{{Source: "other", AppID: "app_2", Positions: []event.Position{c, c, c, c}}}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Save(sinks, []SourceState{{Source: "other", AppID: "app_2"}}); err != nil {
		t.Fatal(err)
	}
	s3 := openStore(t, dir)
	if cp, _ := s3.Load("other", "app_2"); cp.Sinks["http"].LastID != "c" {
		t.Fatalf("other: %+v", cp)
	}
	if cp, _ := s3.Load("app/../weird name", "app_1"); cp.Sinks["file"].LastID != "x9" {
		t.Fatalf("unconfigured source lost: %+v", cp)
	}
}

func TestStoreRefusesBadCheckpoints(t *testing.T) {
	const pos = `{"last_id":"a","newest_ns":1,"recent":[["a",1]]}`
	tests := []struct {
		name, content, want string
	}{
		{"corrupt", `{"version":2,"sources":[`, "is corrupt"},
		{"truncated to nothing", ``, "is corrupt"},
		{"other version", `{"version":7,"sources":[]}`, "has version 7, this logship reads versions 2 and 3"},
		{"other application", `{"version":2,"sources":[{"source":"src","application_id":"app_2","positions":[` + pos + `],"sinks":{"f":0}}]}`, "belongs to application app_2"},
		{"no position", `{"version":2,"sources":[{"source":"src","application_id":"app_1","positions":[{"last_id":"a"}],"sinks":{"f":0}}]}`, "no position"},
		{"sink without position", `{"version":2,"sources":[{"source":"src","application_id":"app_1","positions":[` + pos + `],"sinks":{"f":1}}]}`, "sink f: no position 1"},
		{"bad recent", `{"version":2,"sources":[{"source":"src","application_id":"app_1","positions":[{"last_id":"a","newest_ns":1,"recent":[["a"]]}],"sinks":{"f":0}}]}`, "is corrupt"},
		{"twice", `{"version":2,"sources":[{"source":"src","application_id":"app_1","positions":[],"sinks":{}},{"source":"src","application_id":"app_1","positions":[],"sinks":{}}]}`, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "checkpoints.json"), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenStore(dir)
			if err == nil {
				_, err = s.Load("src", "app_1")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestStoreMigratesVersion1: the per-source files of version 1 are read
// once (with their own checks), then the first Save writes version 2 and
// sets the old directory aside.
func TestStoreMigratesVersion1(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(old, 0o750); err != nil {
		t.Fatal(err)
	}
	v1 := `{"version":1,"source":"a/b","application_id":"app_1","last_id":"x9","newest":"…","newest_ns":1700000000123000000,` +
		`"recent":[{"id":"x8","date_ns":1700000000000000000},{"id":"x9","date_ns":1700000000123000000}],"saved_at":"…"}`
	for name, content := range map[string]string{"a_b.json": v1, "bad.json": `{"version":1,"last_id":`, ".tmp-a_b.json-123": "torn"} {
		if err := os.WriteFile(filepath.Join(old, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, dir)
	if _, err := os.Stat(filepath.Join(old, ".tmp-a_b.json-123")); !os.IsNotExist(err) {
		t.Fatalf("leftover temp file not removed: %v", err)
	}
	want := event.Position{LastID: "x9", Newest: 1_700_000_000_123_000_000,
		Recent: []event.Seen{{ID: "x8", Date: 1_700_000_000_000_000_000}, {ID: "x9", Date: 1_700_000_000_123_000_000}}}
	cp, err := s.Load("a/b", "app_1")
	if err != nil || !reflect.DeepEqual(cp, Checkpoint{Shared: want}) {
		t.Fatalf("migrated: %+v, %v", cp, err)
	}
	if got := cp.Resume([]string{"file", "http"}, false); !reflect.DeepEqual(got, want) {
		t.Fatalf("resume: %+v", got)
	}
	if _, err := s.Load("bad", "app_1"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt version 1 file: %v", err)
	}
	if _, err := s.Load("a/b", "app_2"); err == nil || !strings.Contains(err.Error(), "belongs to application app_1") {
		t.Fatalf("other application: %v", err)
	}
	if err := s.Save([]string{"file"}, []SourceState{{Source: "a/b", AppID: "app_1", Positions: []event.Position{cp.Shared}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("version 1 directory still in place: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints.v1-migrated", "a_b.json")); err != nil {
		t.Fatal(err)
	}
	cp, err = openStore(t, dir).Load("a/b", "app_1")
	if err != nil || !reflect.DeepEqual(cp.Sinks["file"], want) {
		t.Fatalf("after migration: %+v, %v", cp, err)
	}
}

func TestStoreRemovesLeftoverTemps(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".checkpoints.json.tmp-12345")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	openStore(t, dir)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("leftover temp file: %v", err)
	}
}

func TestCheckpointResume(t *testing.T) {
	old := event.Position{LastID: "o", Newest: 10}
	mid := event.Position{LastID: "m", Newest: 20}
	behind := event.Position{LastID: "b", Newest: 30, Delivered: 6}
	ahead := event.Position{LastID: "f", Newest: 30, Delivered: 10}
	tests := []struct {
		name      string
		cp        Checkpoint
		sinks     []string
		fromSince bool
		want      event.Position
	}{
		{"version 1", Checkpoint{Shared: mid}, []string{"a"}, false, mid},
		{"oldest of the configured", Checkpoint{Sinks: map[string]event.Position{"a": mid, "b": old}}, []string{"a", "b"}, false, old},
		{"removed sink ignored", Checkpoint{Sinks: map[string]event.Position{"a": mid, "gone": old}}, []string{"a", "new"}, false, mid},
		{"all renamed: oldest saved", Checkpoint{Sinks: map[string]event.Position{"x": mid, "y": old}}, []string{"a"}, false, old},
		{"empty sink, no since: ignored", Checkpoint{Sinks: map[string]event.Position{"a": mid, "b": {}}}, []string{"a", "b"}, false, mid},
		{"empty sink, since: from since", Checkpoint{Sinks: map[string]event.Position{"a": mid, "b": {}}}, []string{"a", "b"}, true, event.Position{}},
		// Lines dated before the newest one (out of order) leave the newest
		// date as it was: the position with fewer lines is the earlier one
		// (seed 21036 of the simulation).
		{"same newest date: fewer delivered", Checkpoint{Sinks: map[string]event.Position{"a": ahead, "b": behind}}, []string{"a", "b"}, false, behind},
		{"same newest date, other order", Checkpoint{Sinks: map[string]event.Position{"a": behind, "b": ahead}}, []string{"b", "a"}, false, behind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cp.Resume(tt.sinks, tt.fromSince); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestStoreVersion2AndAheadOnly: a version 2 file (no "delivered") reads as
// 0 delivered; a position holding only lines dated ahead of the clock (a
// last id, no newest date, the lines in recent) loads.
func TestStoreVersion2AndAheadOnly(t *testing.T) {
	dir := t.TempDir()
	v2 := `{"version":2,"sources":[{"source":"src","application_id":"app_1","positions":[{"last_id":"a","newest_ns":1,"recent":[["a",1]]},{"last_id":"f","newest_ns":0,"recent":[["f",9]]}],"sinks":{"x":0,"y":1}}]}`
	if err := os.WriteFile(filepath.Join(dir, "checkpoints.json"), []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := openStore(t, dir).Load("src", "app_1")
	if err != nil || cp.Sinks["x"].LastID != "a" || cp.Sinks["x"].Delivered != 0 || cp.Sinks["y"].LastID != "f" || len(cp.Sinks["y"].Recent) != 1 {
		t.Fatalf("got %+v, %v", cp, err)
	}
}

// TestStoreForget: Forget drops the records its predicate picks, among the
// sources under its prefix only, and the next Save writes the file
// without them.
func TestStoreForget(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	sinks := []string{"file", "http"}
	pos := func(newest int64) []event.Position {
		return []event.Position{{LastID: "a", Newest: newest}, {LastID: "b", Newest: newest - 1}}
	}
	if err := s.Save(sinks, []SourceState{
		{Source: "org/app_old", AppID: "app_old", Positions: pos(100)},
		{Source: "org/app_new", AppID: "app_new", Positions: pos(900)},
		{Source: "other/app_old", AppID: "app_old", Positions: pos(100)},
		{Source: "org", AppID: "app_x", Positions: pos(100)},
	}); err != nil {
		t.Fatal(err)
	}
	gone := s.Forget("org/", func(source, appID string, cp Checkpoint) bool {
		if source != "org/"+appID {
			t.Errorf("source %s holds application %s", source, appID)
		}
		return cp.Newest() < 500
	})
	if want := []string{"org/app_old"}; !reflect.DeepEqual(gone, want) {
		t.Fatalf("Forget = %v, want %v", gone, want)
	}
	if err := s.Save(sinks, nil); err != nil {
		t.Fatal(err)
	}
	back := openStore(t, dir)
	for _, tt := range []struct {
		source, app string
		kept        bool
	}{
		{"org/app_old", "app_old", false},
		{"org/app_new", "app_new", true},
		{"other/app_old", "app_old", true},
		{"org", "app_x", true},
	} {
		cp, err := back.Load(tt.source, tt.app)
		if err != nil || cp.IsZero() == tt.kept {
			t.Errorf("%s: %+v, %v; want kept %v", tt.source, cp, err, tt.kept)
		}
	}
	if n := (Checkpoint{Sinks: map[string]event.Position{"a": {Newest: 3}, "b": {Newest: 7}}}).Newest(); n != 7 {
		t.Errorf("Newest = %d, want 7", n)
	}
}
