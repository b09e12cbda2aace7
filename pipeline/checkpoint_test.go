package pipeline

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/logship/logship/event"
)

func TestStoreRoundTrip(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Load("app", "app_1"); err != nil || !p.IsZero() {
		t.Fatalf("missing checkpoint: %+v, %v", p, err)
	}
	want := event.Position{LastID: "x9", Newest: 1_700_000_000_123_000_000,
		Recent: []event.Seen{{ID: "x8", Date: 1_700_000_000_000_000_000}, {ID: "x9", Date: 1_700_000_000_123_000_000}}}
	if err := s.Save("app/../weird name", "app_1", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("app/../weird name", "app_1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	// No temp file is left behind.
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 {
		t.Fatalf("files in store: %v", entries)
	}
}

func TestStoreRefusesBadCheckpoints(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"corrupt", `{"version":1,"last_id":`, "corrupt"},
		{"truncated to nothing", ``, "corrupt"},
		{"other version", `{"version":7,"application_id":"app_1","last_id":"a","newest_ns":1}`, "version 7"},
		{"other application", `{"version":1,"application_id":"app_2","last_id":"a","newest_ns":1}`, "belongs to application app_2"},
		{"no position", `{"version":1,"application_id":"app_1"}`, "no position"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.dir, "src.json"), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = s.Load("src", "app_1")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
