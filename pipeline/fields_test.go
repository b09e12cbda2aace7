package pipeline

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/logship/logship/config"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// fieldCases are the fields configurations verified on golden files:
// testdata/fields/input.ndjson shaped by each is testdata/fields/NAME.golden.
var fieldCases = []struct {
	name string
	cfg  config.Fields
}{
	{"include", config.Fields{Include: []string{"id", "date", "message", "instanceId"}}},
	{"exclude", config.Fields{Exclude: []string{"commitId", "deploymentId", "pid", "version", "region"}}},
	{"rename", config.Fields{Rename: map[string]string{"message": "msg", "instanceId": "instance", "sev": "severity"}}},
	{"add", config.Fields{Add: map[string]string{"env": "prod", "team": `the "core" team`}, AddKey: "logship"}},
	{"add_key", config.Fields{Add: map[string]string{"env": "staging"}, AddKey: "meta"}},
	{"parse_message_json", config.Fields{ParseMessageJSON: true}},
	{"combined", config.Fields{
		Include:          []string{"id", "date", "message", "severity", "instanceId"},
		ParseMessageJSON: true,
		Rename:           map[string]string{"message": "log", "instanceId": "instance"},
		Add:              map[string]string{"env": "prod"},
		AddKey:           "logship",
	}},
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// TestFieldsGolden shapes every input line with each configuration and
// compares with the golden file (go test -run TestFieldsGolden -update
// rewrites them). Every output line must be one valid JSON object.
func TestFieldsGolden(t *testing.T) {
	in := readLines(t, filepath.Join("testdata", "fields", "input.ndjson"))
	for _, tc := range fieldCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newFieldStage(tc.cfg)
			if err != nil || f == nil {
				t.Fatalf("newFieldStage: %v, %v", f, err)
			}
			var out bytes.Buffer
			for i, line := range in {
				got := f.apply(line)
				var obj map[string]any
				if err := json.Unmarshal(got, &obj); err != nil || bytes.ContainsAny(got, "\n\r") {
					t.Fatalf("line %d: not one JSON object on one line (%v): %s", i+1, err, got)
				}
				out.Write(got)
				out.WriteByte('\n')
			}
			golden := filepath.Join("testdata", "fields", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				gotLines := bytes.Split(out.Bytes(), []byte("\n"))
				for i, w := range bytes.Split(want, []byte("\n")) {
					if i >= len(gotLines) || !bytes.Equal(gotLines[i], w) {
						t.Fatalf("line %d differs from %s:\n got  %s\n want %s", i+1, golden, gotLines[min(i, len(gotLines)-1)], w)
					}
				}
				t.Fatalf("output differs from %s", golden)
			}
		})
	}
}

// TestFieldsSemantics checks the promises of each option on decoded
// output, independently of the golden files.
func TestFieldsSemantics(t *testing.T) {
	decode := func(t *testing.T, cfg config.Fields, line string) map[string]any {
		t.Helper()
		f, err := newFieldStage(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(f.apply([]byte(line)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	line := `{"id":"a","date":"d","level":"x","severity":"info","logship":1,"message":"{\"k\":[1,\"\\u00e9\"]}"}`
	tests := []struct {
		name  string
		cfg   config.Fields
		check func(m map[string]any) bool
	}{
		{"include keeps only", config.Fields{Include: []string{"id", "message"}}, func(m map[string]any) bool {
			return len(m) == 2 && m["id"] == "a" && m["message"] == `{"k":[1,"\u00e9"]}`
		}},
		{"exclude removes", config.Fields{Exclude: []string{"level", "logship"}}, func(m map[string]any) bool {
			return len(m) == 4 && m["level"] == nil && m["logship"] == nil
		}},
		{"rename replaces the target", config.Fields{Rename: map[string]string{"level": "severity"}}, func(m map[string]any) bool {
			return len(m) == 5 && m["severity"] == "x" && m["level"] == nil
		}},
		{"rename swap", config.Fields{Rename: map[string]string{"level": "severity", "severity": "level"}}, func(m map[string]any) bool {
			return m["severity"] == "x" && m["level"] == "info"
		}},
		{"add under one key, replacing", config.Fields{Add: map[string]string{"env": "prod"}, AddKey: "logship"}, func(m map[string]any) bool {
			sub, ok := m["logship"].(map[string]any)
			return ok && len(sub) == 1 && sub["env"] == "prod" && len(m) == 6
		}},
		{"parse message", config.Fields{ParseMessageJSON: true}, func(m map[string]any) bool {
			sub, ok := m["message"].(map[string]any)
			arr, _ := sub["k"].([]any)
			return ok && len(arr) == 2 && arr[1] == "é"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m := decode(t, tt.cfg, line); !tt.check(m) {
				t.Fatalf("unexpected result: %v", m)
			}
		})
	}
}

// TestFieldsUnchangedIsSameSlice: an event that no option changes comes
// back as the very same bytes, without allocation.
func TestFieldsUnchangedIsSameSlice(t *testing.T) {
	line := []byte(`{"id":"a","date":"d","message":"plain text, not JSON"}`)
	for _, cfg := range []config.Fields{
		{Include: []string{"id", "date", "message"}},
		{Exclude: []string{"absent"}},
		{Rename: map[string]string{"absent": "other"}},
		{ParseMessageJSON: true},
	} {
		f, err := newFieldStage(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.apply(line); &got[0] != &line[0] || len(got) != len(line) {
			t.Fatalf("%+v: a new slice for an unchanged event", cfg)
		}
		if n := testing.AllocsPerRun(100, func() { f.apply(line) }); n != 0 {
			t.Fatalf("%+v: %v allocations for an unchanged event", cfg, n)
		}
	}
	if f, _ := newFieldStage(config.Fields{AddKey: "logship"}); f != nil {
		t.Fatal("a stage without any option should be nil")
	}
}

// FuzzFieldStage: whatever the object, the output of a stage that changes
// it is one valid JSON object on one line.
func FuzzFieldStage(f *testing.F) {
	for _, l := range readLines(f, filepath.Join("testdata", "fields", "input.ndjson")) {
		f.Add(l)
	}
	stage, err := newFieldStage(fieldCases[len(fieldCases)-1].cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(line, &m) != nil || bytes.ContainsAny(line, "\n\r") {
			return
		}
		out := stage.apply(line)
		if !json.Valid(out) || out[0] != '{' || bytes.ContainsAny(out, "\n\r") {
			t.Fatalf("invalid output %q for %q", out, line)
		}
	})
}
