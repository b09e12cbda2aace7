package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, extra string
		want        []string
	}{
		{"top level", "bogus: 1\n", []string{"bogus: unknown key"}},
		{"top level near miss", "state_dirs: /x\n", []string{"state_dirs: unknown key (did you mean state_dir?)"}},
		{"nested", "pipeline:\n  batch:\n    max_evnts: 3\n", []string{"pipeline.batch.max_evnts: unknown key (did you mean max_events?)"}},
		{"api.oauth", "api:\n  oauth:\n    tokn: x\n", []string{"api.oauth.tokn: unknown key (did you mean token?)"}},
		{"several at once", "api:\n  uri: x\n  bogus: 1\nmetrics:\n  listen: :1\n  path: /m\n", []string{
			"api.uri: unknown key (did you mean url?)",
			"api.bogus: unknown key",
			"metrics.path: unknown key",
		}},
		{"inside a merge", "x_base: &b {max_events: 5, nope: 1}\n", []string{"x_base: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, parseProblems(t, base+tt.extra, nil), tt.want, true)
		})
	}
}

func TestUnknownSourceKeys(t *testing.T) {
	src := `sources:
  - owner_id: orga_1
    application_id: app_1
  - owner_id: orga_1
    application_id: app_2
    aplication_id: app_3
    tags: [a]
state_dir: /s
sinks: [{type: stdout}]
`
	checkProblems(t, parseProblems(t, src, nil), []string{
		"sources[1].aplication_id: unknown key (did you mean application_id?)",
		"sources[1].tags: unknown key",
	}, true)
}

func TestSinkKeys(t *testing.T) {
	tests := []struct {
		name, sink string
		want       []string
	}{
		{"stdout unknown", "type: stdout\nbogus: 1", []string{"sinks[1].bogus: unknown key"}},
		{"file unknown", "type: file\npath: /x\nbogus: 1", []string{"sinks[1].bogus: unknown key"}},
		{"http unknown", "type: http\nurl: http://h/\nbogus: 1", []string{"sinks[1].bogus: unknown key"}},
		{"kafka unknown", "type: kafka\nbrokers: [h:9092]\ntopic: t\nbogus: 1", []string{"sinks[1].bogus: unknown key"}},
		{"near miss of a type key", "type: file\npaht: /x", []string{"sinks[1].paht: unknown key (did you mean path?)", "sinks[1].path: required"}},
		{"stdout with path", "type: stdout\npath: /x", []string{"sinks[1].path: not a setting of a stdout sink"}},
		{"file with topic", "type: file\npath: /x\ntopic: t", []string{"sinks[1].topic: not a setting of a file sink"}},
		{"file with url", "type: file\npath: /x\nurl: http://h/", []string{"sinks[1].url: not a setting of a file sink"}},
		{"http with brokers", "type: http\nurl: http://h/\nbrokers: [a:1]", []string{"sinks[1].brokers: not a setting of a http sink"}},
		{"kafka with url", "type: kafka\nbrokers: [h:9092]\ntopic: t\nurl: http://h/", []string{"sinks[1].url: not a setting of a kafka sink"}},
		{"kafka with format", "type: kafka\nbrokers: [h:9092]\ntopic: t\nformat: json", []string{"sinks[1].format: not a setting of a kafka sink"}},
		{"common keys on any type", "type: kafka\nbrokers: [h:9092]\ntopic: t\nname: k\nin_flight: 4\nbatch: {max_events: 5}\nbuffer: {max_bytes: 2MiB}", nil},
		{"unknown type", "type: s3\nbucket: b\npath: /x", []string{"sinks[1].type: must be one of stdout, file, http, kafka", "sinks[1].bucket: unknown key"}},
		{"missing type", "path: /x", []string{"sinks[1].type: required"}},
		{"null type", "type:\npath: /x", []string{"sinks[1].type: required"}},
		{"type of wrong kind", "type: [file]\npath: /x", []string{"sinks[1].type: must be a string"}},
		{"not a mapping", "", nil}, // replaced below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry := "  - " + strings.ReplaceAll(tt.sink, "\n", "\n    ") + "\n"
			if tt.name == "not a mapping" {
				entry = "  - stdout\n"
				tt.want = []string{"sinks[1]: must be a mapping"}
			}
			src := base + entry
			if tt.want == nil {
				mustParse(t, src, nil)
				return
			}
			checkProblems(t, parseProblems(t, src, nil), tt.want, true)
		})
	}
}

// TestSinkTypeStructs checks that each entry is decoded into the struct of
// its type only, even where types share a key name.
func TestSinkTypeStructs(t *testing.T) {
	c := mustParse(t, base+`  - type: file
    path: /a.ndjson
  - type: http
    url: http://127.0.0.1:1/x
    timeout: 3s
  - type: kafka
    brokers: [127.0.0.1:9092]
    topic: t
    timeout: 4s
`, nil)
	if fileOf(c, 1).Path != "/a.ndjson" || c.Sinks[1].Type != "file" {
		t.Errorf("file sink %+v", c.Sinks[1])
	}
	if (httpOf(c, 2).Timeout).D() != 3*time.Second || c.Sinks[2].Type != "http" {
		t.Errorf("http sink timeout %v, kafka part %v", httpOf(c, 2).Timeout, kafkaOf(c, 2).Timeout)
	}
	if (kafkaOf(c, 3).Timeout).D() != 4*time.Second || kafkaOf(c, 3).Topic != "t" || c.Sinks[3].Type != "kafka" {
		t.Errorf("kafka sink %+v", c.Sinks[3])
	}
}

func TestTypeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"int", base + "  - type: stdout\n    in_flight: abc\n", []string{"sinks[1].in_flight: must be an integer"}},
		{"source limit", strings.Replace(base, "app_1\n", "app_1\n    limit: abc\n", 1), []string{"sources[0].limit: must be an integer"}},
		{"int overflow", strings.Replace(base, "app_1\n", "app_1\n    limit: 99999999999999999999\n", 1), []string{"sources[0].limit: must be an integer"}},
		{"float for int", strings.Replace(base, "app_1\n", "app_1\n    limit: 1.5\n", 1), []string{"sources[0].limit: must be an integer"}},
		{"duration", base + "pipeline:\n  batch:\n    max_wait: 5\n", []string{"pipeline.batch.max_wait: must be a duration such as 500ms, 2s or 1m30s"}},
		{"duration word", base + "shutdown_timeout: soon\n", []string{"shutdown_timeout: must be a duration such as 500ms, 2s or 1m30s"}},
		{"number", base + "pipeline:\n  throttle:\n    rate: fast\n", []string{"pipeline.throttle.rate: must be a number"}},
		{"infinite number", base + "pipeline:\n  throttle:\n    rate: .inf\n", []string{"pipeline.throttle.rate: must be a number"}},
		{"byte size", base + "pipeline:\n  buffer:\n    max_bytes: 2XB\n", []string{"pipeline.buffer.max_bytes: must be a byte size such as 1048576, 512KiB or 64MiB"}},
		{"bool", base + "  - type: kafka\n    brokers: [h:1]\n    topic: t\n    tls: {enabled: maybe}\n", []string{"sinks[1].tls.enabled: must be true or false"}},
		{"string from list", base + "api:\n  url: [a]\n", []string{"api.url: must be a string"}},
		{"string from mapping", base + "api:\n  token: {a: 1}\n", []string{"api.token: must be a string"}},
		{"mapping from scalar", base + "api: 3\n", []string{"api: must be a mapping"}},
		{"mapping from list", base + "pipeline: [1]\n", []string{"pipeline: must be a mapping"}},
		{"list from mapping", strings.Replace(base, "app_1\n", "app_1\n    fields: {a: 1}\n", 1), []string{"sources[0].fields: must be a list"}},
		{"list of structs from scalar", "sources: x\nstate_dir: /s\nsinks: [{type: stdout}]\n", []string{"sources: must be a list"}},
		{"sinks from mapping", "sources: [{owner_id: orga_1, application_id: app_1}]\nstate_dir: /s\nsinks: {}\n", []string{"sinks: must be a list"}},
		{"map of the wrong kind", base + "  - type: http\n    url: http://h/\n    headers: [a]\n", []string{"sinks[1].headers: must be a mapping"}},
		{"map value", base + "  - type: http\n    url: http://h/\n    headers: {X-A: [b]}\n", []string{"sinks[1].headers.X-A: must be a string"}},
		{"no cascade to required", "sources:\n  - owner_id: orga_1\n    application_id: [app_1]\nstate_dir: {a: b}\nsinks: [{type: stdout}]\n", []string{
			"sources[0].application_id: must be a string",
			"state_dir: must be a string",
		}},
		{"duplicate key", base + "log:\n  level: info\n  level: debug\n", []string{"log.level: duplicate key (first at line 8)"}},
		{"non-string key", base + "log:\n  [a]: 1\n", []string{"log: line 8: a key must be a string"}},
		{"bad merge", base + "log:\n  <<: 3\n", []string{"log.<<: must be a mapping or a list of mappings"}},
		{"merge cycle", base + "log: &a {<<: [*a], level: debug}\n", []string{"log.<<: merges a mapping into itself"}},
		{"root not a mapping", "- a\n- b\n", []string{"the configuration must be a mapping of keys (api, sources, sinks, …)"}},
		{"yaml syntax", base + "log: [\n", []string{"invalid YAML: line 7: did not find expected node content"}},
		{"second document", base + "---\nstate_dir: /t\n", []string{"invalid YAML: line 7: a second document (one only, no `---` between documents)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, parseProblems(t, tt.src, nil), tt.want, true)
		})
	}
}

func TestScalarForms(t *testing.T) {
	c := mustParse(t, `sources:
  - owner_id: orga_1
    application_id: app_1
    instance_ids: inst_1
    limit: 0x10
    max_event_bytes: 512KiB
    throttle_elements: 1_000
    throttle_per_ms: 010
state_dir: /s
pipeline:
  throttle: {rate: 2.5e1}
  batch: {max_bytes: 1.5MB, max_wait: 1m30s}
  buffer: {max_bytes: 1GiB}
sinks:
  - type: file
    path: /f
    mode: 0600
    reconcile_bytes: 100B
  - type: kafka
    brokers: 127.0.0.1:9092
    topic: "007"
    tls: {enabled: yes}
`, nil)
	s := c.Sources[0]
	if len(s.InstanceIDs) != 1 || s.InstanceIDs[0] != "inst_1" {
		t.Errorf("a single value for a list: %q", s.InstanceIDs)
	}
	if s.Limit != 16 || s.MaxEventBytes != 512<<10 || s.ThrottleElements != 1000 || s.ThrottlePerMs != 10 {
		t.Errorf("ints: %+v", s)
	}
	p := c.Pipeline
	if p.Throttle.Rate != 25 || p.Batch.MaxBytes != 1_500_000 || p.Batch.MaxWait.D() != 90*time.Second || p.Buffer.MaxBytes != 1<<30 {
		t.Errorf("pipeline %+v", p)
	}
	if f := fileOf(c, 0); f.Mode != "0600" || f.ReconcileBytes != 100 {
		t.Errorf("file %+v", f)
	}
	if k := kafkaOf(c, 1); len(k.Brokers) != 1 || k.Topic != "007" || !k.TLS.Enabled {
		t.Errorf("kafka %+v", k)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true}, {"1k", 1000, true}, {"1KB", 1000, true}, {"1Ki", 1024, true},
		{"1KiB", 1024, true}, {"64MiB", 64 << 20, true}, {"64 MiB", 64 << 20, true}, {"2GB", 2e9, true},
		{"1TiB", 1 << 40, true}, {"10B", 10, true}, {"0.5KiB", 512, true},
		{"1.1B", 0, false}, {"-1MiB", 0, false}, {"1XB", 0, false}, {"MiB", 0, false}, {"1MIB", 0, false},
		{"1 mib", 0, false}, {"99999999TiB", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		var got ByteSize
		err := got.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: tt.in})
		if int64(got) != tt.want || (err == nil) != tt.ok {
			t.Errorf("ByteSize %q = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	// A unit is accepted only for byte sizes (not by key name).
	got := parseProblems(t, strings.Replace(base, "app_1\n", "app_1\n    limit: 1MiB\n", 1), nil)
	checkProblems(t, got, []string{"sources[0].limit: must be an integer"}, true)
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"500ms", 500 * time.Millisecond, true}, {"2s", 2 * time.Second, true}, {"1m30s", 90 * time.Second, true},
		{"0", 0, true}, {"1h", time.Hour, true},
		{"5", 0, false}, {"soon", 0, false}, {"", 0, false}, {"2 s", 0, false}, {"s3cr3t-token", 0, false},
	}
	for _, tt := range tests {
		var got Duration
		err := got.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: tt.in})
		if got.D() != tt.want || (err == nil) != tt.ok {
			t.Errorf("Duration %q = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && len(tt.in) > 2 && strings.Contains(err.Error(), tt.in) {
			t.Errorf("Duration %q: the error quotes the value: %v", tt.in, err)
		}
	}
	// Written back as it is read.
	if v, _ := Duration(90 * time.Second).MarshalYAML(); v != "1m30s" {
		t.Errorf("MarshalYAML = %v", v)
	}
	// A duration is known by its type, not by its key's name: a duration
	// under a list, inside a sink type's own keys, and an integer key whose
	// name sounds like a duration.
	got := parseProblems(t, base+"  - type: http\n    url: http://x\n    timeout: s3cr3t\n    retry: {max_elapsed: 1}\n", nil)
	checkProblems(t, got, []string{
		"sinks[1].timeout: must be a duration such as 500ms, 2s or 1m30s",
		"sinks[1].retry.max_elapsed: must be a duration such as 500ms, 2s or 1m30s",
	}, true)
	for _, p := range got {
		if strings.Contains(p, "s3cr3t") {
			t.Errorf("a problem quotes the value: %v", p)
		}
	}
	got = parseProblems(t, strings.Replace(base, "app_1\n", "app_1\n    throttle_per_ms: 1s\n", 1), nil)
	checkProblems(t, got, []string{"sources[0].throttle_per_ms: must be an integer"}, true)
}

func TestMerge(t *testing.T) {
	c := mustParse(t, base+`  - &f
    type: file
    path: /a
    batch: &b {max_events: 7, max_wait: 1s}
  - <<: *f
    path: /b
    batch:
      <<: *b
      max_events: 9
`, nil)
	if fileOf(c, 2).Path != "/b" || c.Sinks[2].Type != "file" {
		t.Errorf("merged sink %+v", c.Sinks[2])
	}
	if b := c.Sinks[2].Batch; b.MaxEvents != 9 || b.MaxWait.D() != time.Second {
		t.Errorf("merged batch %+v", b)
	}
	got := parseProblems(t, base+`  - <<: {type: file, path: /a, bogus: 1}
`, nil)
	checkProblems(t, got, []string{"sinks[1].bogus: unknown key"}, true)
}

// TestAliasBomb checks that aliases cannot make the decoder's work explode:
// the schema is not recursive, but merge keys are.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(base + "x0: &a0 {level: info}\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("log: *a9\n")
	start := time.Now()
	got := parseProblems(t, b.String(), nil)
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	found := false
	for _, p := range got {
		found = found || strings.Contains(p, "too large")
	}
	if !found {
		t.Errorf("problems %v lack the size limit", got)
	}
}

// upper is a yaml.Unmarshaler, to check that the decoder defers to one.
type upper string

func (u *upper) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "bad" {
		return errors.New("not acceptable")
	}
	*u = upper(strings.ToUpper(n.Value))
	return nil
}

type inner struct {
	In int `yaml:"in"`
}

// kinds holds the field kinds the decoder supports beyond those of Config,
// for the settings other helpers add.
type kinds struct {
	inner    `yaml:",inline"`
	U        uint8          `yaml:"u"`
	P        *int           `yaml:"p"`
	Any      any            `yaml:"any"`
	Up       upper          `yaml:"up"`
	Default  string         // key "default"
	IntKeys  map[int]string `yaml:"int_keys"`
	F32      float32        `yaml:"f32"`
	unexport int            //lint:ignore U1000 an unexported field the decoder must skip
	Skip     int            `yaml:"-"`
}

func TestDecoderKinds(t *testing.T) {
	decodeKinds := func(src string) (kinds, []string) {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil {
			t.Fatal(err)
		}
		var k kinds
		d := &decoder{}
		d.decode(root.Content[0], reflect.ValueOf(&k).Elem(), "x")
		var got []string
		for _, p := range d.probs {
			got = append(got, p.String())
		}
		return k, got
	}
	k, got := decodeKinds("in: 3\nu: 200\np: 5\nany: {a: [1]}\nup: abc\ndefault: d\nf32: 1.5\n")
	if len(got) > 0 {
		t.Fatalf("problems %v", got)
	}
	if k.In != 3 || k.U != 200 || k.P == nil || *k.P != 5 || k.Up != "ABC" || k.Default != "d" || k.F32 != 1.5 {
		t.Errorf("decoded %+v", k)
	}
	if m, ok := k.Any.(map[string]any); !ok || len(m) != 1 {
		t.Errorf("any = %#v", k.Any)
	}
	_, got = decodeKinds("u: 300\nup: bad\nint_keys: {1: a}\nskip: 1\nunexport: 1\nu2: -1\n")
	checkProblems(t, got, []string{
		"x.u: out of range",
		"x.up: not acceptable",
		"x.int_keys: unsupported setting type (map keys must be strings)",
		"x.skip: unknown key",
		"x.unexport: unknown key",
		"x.u2: unknown key (did you mean u?)",
	}, true)
	_, got = decodeKinds("u: -1\np: [1]\n")
	checkProblems(t, got, []string{"x.u: must not be negative", "x.p: must be an integer"}, true)
}

func TestSinkRetry(t *testing.T) {
	c := mustParse(t, base+`  - type: http
    url: http://h/
    retry: {initial_backoff: 1s, max_backoff: 1m, max_elapsed: 1h}
  - type: http
    url: http://h/
    retry_initial_backoff: 2s
    retry_max_elapsed: 5m
`, nil)
	if r := c.Sinks[0].Retry; r != DefaultRetry || r.InitialBackoff.D() != 500*time.Millisecond || r.MaxBackoff.D() != 30*time.Second || r.MaxElapsed != 0 {
		t.Errorf("default retry %+v", r)
	}
	if r := c.Sinks[1].Retry; r != (Retry{InitialBackoff: Duration(time.Second), MaxBackoff: Duration(time.Minute), MaxElapsed: Duration(time.Hour)}) {
		t.Errorf("retry %+v", r)
	}
	if r := c.Sinks[2].Retry; r != (Retry{InitialBackoff: Duration(2 * time.Second), MaxBackoff: Duration(30 * time.Second), MaxElapsed: Duration(5 * time.Minute)}) {
		t.Errorf("retry from the older keys %+v", r)
	}
	out, err := c.Redacted()
	if err != nil || strings.Contains(string(out), "retry_") {
		t.Errorf("Redacted writes the older keys (%v):\n%s", err, out)
	}
	got := parseProblems(t, base+`  - type: file
    path: /x
    retry: {initial_backoff: 1s}
    retry_initial_backoff: 2s
    retry_max_backoff: 1s
`, nil)
	checkProblems(t, got, []string{
		"sinks[1].retry_initial_backoff: set retry.initial_backoff or retry_initial_backoff, not both",
		"sinks[1].retry.initial_backoff: must not exceed max_backoff",
	}, true)
	got = parseProblems(t, base+"  - {type: stdout, retry: {initial_backoff: 0s, max_elapsed: -1s, bogus: 1}}\n", nil)
	checkProblems(t, got, []string{
		"sinks[1].retry.bogus: unknown key",
		"sinks[1].retry.initial_backoff: must be positive",
		"sinks[1].retry.max_elapsed: must not be negative (0 retries without limit)",
	}, true)
}
