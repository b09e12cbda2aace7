package config

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// envOf returns a lookup function over key, value pairs (nothing else is
// set: tests never see the real environment).
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// base is a small valid configuration that tests extend.
const base = `sources:
  - owner_id: orga_1
    application_id: app_1
state_dir: /state
sinks:
  - type: stdout
`

// mustParse parses a configuration that must be valid.
func mustParse(t *testing.T, src string, env func(string) (string, bool)) *Config {
	t.Helper()
	if env == nil {
		env = envOf()
	}
	c, err := Parse([]byte(src), env, testSinks)
	if err != nil {
		t.Fatalf("Parse: %v\n--- input:\n%s", err, src)
	}
	return c
}

// problems returns the problems of err as "path: message" strings; err
// must be a Problems.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	if len(ps) == 0 {
		t.Fatal("empty Problems returned as an error")
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// parseProblems parses src and returns its problems (none for a valid
// configuration).
func parseProblems(t *testing.T, src string, env func(string) (string, bool)) []string {
	t.Helper()
	if env == nil {
		env = envOf()
	}
	c, err := Parse([]byte(src), env, testSinks)
	if (c == nil) == (err == nil) {
		t.Fatalf("Parse returned config %v and error %v: want exactly one", c != nil, err)
	}
	return problems(t, err)
}

// checkProblems fails unless got holds every line of want and, when exact,
// nothing else.
func checkProblems(t *testing.T, got, want []string, exact bool) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing problem %q\ngot:\n  %s", w, join(got))
		}
	}
	if exact && len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n  %s", len(got), len(want), join(got))
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += "\n  "
		}
		out += s
	}
	return out
}

// testStdout stands for the stdout sink's configuration (the real one
// lives in sinks/stdout, which imports this package).
type testStdout struct {
	Format string `yaml:"format"`
}

func (c *testStdout) Validate() Problems {
	if c.Format != "json" && c.Format != "text" {
		return Problems{{Path: "format", Message: "must be json or text"}}
	}
	return nil
}

// testFile stands for the file sink's configuration: enough to test the
// loader (the file sink's own checks are tested in sinks/file).
type testFile struct {
	Path           string   `yaml:"path"`
	Mode           string   `yaml:"mode"`
	ReconcileBytes ByteSize `yaml:"reconcile_bytes"`
}

func (c *testFile) Validate() Problems {
	if c.Path == "" {
		return Problems{{Path: "path", Message: "required"}}
	}
	return nil
}

func (c *testFile) LocalFile() (string, string) { return "path", c.Path }

// testHTTP stands for the http sink's configuration: enough to test the
// loader with secrets, maps and durations (the http sink's own checks are
// tested in sinks/httpsink).
type testHTTP struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Timeout Duration          `yaml:"timeout"`
	Headers map[string]Secret `yaml:"headers"`
	Auth    struct {
		Token    Secret `yaml:"token"`
		User     string `yaml:"user"`
		Password Secret `yaml:"password"`
	} `yaml:"auth"`
	Compression string `yaml:"compression"`
}

func (c *testHTTP) Resolve() { c.Method = strings.ToUpper(c.Method) }

func (c *testHTTP) Validate() Problems {
	var ps Problems
	if u, err := url.Parse(c.URL); c.URL == "" {
		ps.add("url", "required")
	} else if err != nil || u.Port() != "" && len(u.Port()) > 4 {
		ps.add("url", "not a URL")
	} else if _, ok := u.User.Password(); ok {
		ps.add("url", "no credentials in the url")
	}
	for k, v := range c.Headers {
		if strings.ContainsAny(v.Reveal(), "\n") {
			ps.add("headers."+k, "value must not contain line breaks")
		}
	}
	if c.Auth.Token != "" && c.Auth.User != "" {
		ps.add("auth", "token or user, not both")
	}
	return ps
}

// testKafka stands for the kafka sink's configuration.
type testKafka struct {
	Brokers []string `yaml:"brokers"`
	Topic   string   `yaml:"topic"`
	Timeout Duration `yaml:"timeout"`
	TLS     struct {
		Enabled bool `yaml:"enabled"`
	} `yaml:"tls"`
	SASL struct {
		Mechanism string `yaml:"mechanism"`
		Username  string `yaml:"username"`
		Password  Secret `yaml:"password"`
	} `yaml:"sasl"`
}

func (c *testKafka) Validate() Problems {
	var ps Problems
	if len(c.Brokers) == 0 {
		ps.add("brokers", "required")
	}
	if c.Topic == "" {
		ps.add("topic", "required")
	}
	return ps
}

// kafkaOf returns the settings of sink i, a kafka sink.
func kafkaOf(c *Config, i int) *testKafka { return c.Sinks[i].Settings.(*testKafka) }

// testSinks are the sink types the tests load configurations with.
var testSinks = []SinkFactory{
	{Type: "stdout", NewDefaultConfig: func() SinkConfig { return &testStdout{Format: "json"} }},
	{Type: "file", NewDefaultConfig: func() SinkConfig { return &testFile{Mode: "0640", ReconcileBytes: 64 << 20} }},
	{Type: "http", NewDefaultConfig: func() SinkConfig { return &testHTTP{Method: "POST", Timeout: Duration(30 * time.Second)} }},
	{Type: "kafka", NewDefaultConfig: func() SinkConfig { return &testKafka{Timeout: Duration(10 * time.Second)} }},
}

// httpOf returns the settings of sink i, an http sink.
func httpOf(c *Config, i int) *testHTTP { return c.Sinks[i].Settings.(*testHTTP) }

// fileOf returns the settings of sink i, a file sink.
func fileOf(c *Config, i int) *testFile { return c.Sinks[i].Settings.(*testFile) }
