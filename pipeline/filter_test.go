package pipeline

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/logship/logship/config"
)

func TestContentFilter(t *testing.T) {
	ev := func(sev, msg string) []byte {
		b := []byte(`{"id":"x","date":"d"`)
		if sev != "" {
			b = append(b, `,"severity":`+sev...)
		}
		if msg != "" {
			b = append(b, `,"message":`+msg...)
		}
		return append(b, '}')
	}
	tests := []struct {
		name string
		cfg  config.Filter
		keep map[string]bool // event → kept
	}{
		{"min_severity", config.Filter{MinSeverity: "warning"}, map[string]bool{
			string(ev(`"err"`, `"a"`)):                             true,
			string(ev(`"warning"`, `"a"`)):                         true,
			string(ev(`"WARN"`, `"a"`)):                            true,
			string(ev(`"info"`, `"a"`)):                            false,
			string(ev(`"debug"`, `"a"`)):                           false,
			string(ev(`"mystery"`, `"a"`)):                         true, // unknown severity passes
			string(ev("", `"no severity"`)):                        true,
			`{"severity":"mystery","priority":30,"message":"m"}`:   false, // 30 % 8 = 6, info
			`{"priority":27,"message":"m"}`:                        true,  // 27 % 8 = 3, err
			`{"severity":"info","priority":27,"message":"m"}`:      false, // severity wins
			`{"severity":"emerg","message":"a","severity2":"x"}`:   true,
			`{"message":"a","severity":"crit","priority":"bogus"}`: true,
		}},
		{"contains, case-insensitive", config.Filter{MessageContains: []string{"Error", "timeout"}}, map[string]bool{
			string(ev("", `"an ERROR here"`)):         true,
			string(ev("", `"an error here"`)):         true,
			string(ev("", `"TIMEOUT"`)):               true,
			string(ev("", `"all good"`)):              false,
			string(ev("", `"err or"`)):                false,
			string(ev("", `"\u0045RROR escaped"`)):    true,  // matched on the text, not the JSON
			`{"id":"x"}`:                              false, // no message: empty
			string(ev("", `"\u001b[31merror\u001b"`)): true,
		}},
		{"not contains", config.Filter{MessageNotContains: []string{"healthcheck", "GET /ping"}}, map[string]bool{
			string(ev("", `"GET /PING 200"`)):             false,
			string(ev("", `"HealthCheck ok"`)):            false,
			string(ev("", `"GET /api 200"`)):              true,
			string(ev("", `"health check"`)):              true,
			string(ev("", `"quoted \"healthcheck\" ok"`)): false,
		}},
		{"non-ASCII needle", config.Filter{MessageContains: []string{"ÉTÉ"}}, map[string]bool{
			string(ev("", `"un été chaud"`)): true,
			string(ev("", `"ete"`)):          false,
		}},
		{"matches", config.Filter{MessageMatches: []string{`^GET /api/v\d+/`, `status=5\d\d`}}, map[string]bool{
			string(ev("", `"GET /api/v1/items"`)):        true,
			string(ev("", `"POST x status=503"`)):        true,
			string(ev("", `"get /api/v1/items"`)):        false, // regexps are case-sensitive
			string(ev("", `"xGET /api/v1/"`)):            false,
			string(ev("", `"tab\there GET /api/v2/ x"`)): false,
		}},
		{"not matches", config.Filter{MessageNotMatches: []string{`(?i)^debug:`}}, map[string]bool{
			string(ev("", `"DEBUG: x"`)):   false,
			string(ev("", `"info: x"`)):    true,
			string(ev("", `"a debug: x"`)): true,
		}},
		{"all together", config.Filter{MinSeverity: "info", MessageContains: []string{"db"}, MessageNotMatches: []string{`retry \d`}}, map[string]bool{
			string(ev(`"err"`, `"db down"`)):           true,
			string(ev(`"debug"`, `"db down"`)):         false,
			string(ev(`"err"`, `"db down, retry 3"`)):  false,
			string(ev(`"err"`, `"cache down"`)):        false,
			string(ev(`"notice"`, `"DB: retry soon"`)): true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := newContentFilter(tt.cfg)
			if err != nil || f == nil {
				t.Fatalf("newContentFilter: %v %v", f, err)
			}
			for line, want := range tt.keep {
				if got := f.keep([]byte(line)); got != want {
					t.Errorf("keep(%s) = %v, want %v", line, got, want)
				}
			}
		})
	}
	if f, err := newContentFilter(config.Filter{}); f != nil || err != nil {
		t.Fatalf("empty filter: %v %v", f, err)
	}
	if _, err := newContentFilter(config.Filter{MessageMatches: []string{"("}}); err == nil {
		t.Fatal("bad regexp accepted")
	}
}

// TestIndexFoldASCII compares the ASCII case-folding search with the
// obvious one on random inputs.
func TestIndexFoldASCII(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aAbBeE rR\x1b")
	gen := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return b
	}
	for range 20000 {
		hay, needle := gen(r.IntN(30)), bytes.ToLower(gen(1+r.IntN(4)))
		want := bytes.Index(bytes.ToLower(hay), needle)
		if got := indexFoldASCII(hay, needle); got != want {
			t.Fatalf("indexFoldASCII(%q, %q) = %d, want %d", hay, needle, got, want)
		}
	}
}

func TestFilterNoAllocation(t *testing.T) {
	f, err := newContentFilter(config.Filter{MinSeverity: "info", MessageNotContains: []string{"healthcheck"}})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"id":"x","severity":"info","message":"GET /api 200 \"quoted\""}`)
	if n := testing.AllocsPerRun(100, func() { f.keep(line) }); n != 0 {
		t.Fatalf("%v allocations per event", n)
	}
}
