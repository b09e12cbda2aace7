package pipeline

import (
	"context"
	"testing"

	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
	"github.com/logship/logship/event"
)

// benchLines are emulator lines: every field of the API, messages with
// escapes, ANSI codes, non-ASCII text, and one template in twenty a JSON
// object.
func benchLines(b *testing.B) []event.Event {
	b.Helper()
	emu := emulator.New(emulator.Options{Apps: []emulator.App{{Backlog: 4096}}, Seed: 1})
	defer emu.Close()
	app := emu.Apps()[0]
	var evs []event.Event
	for _, l := range emu.Lines(app.ID) {
		evs = append(evs, event.Event{Raw: l.Raw, ID: l.ID, Date: l.Date.UnixNano(), AppID: app.ID})
	}
	return evs
}

// stageCases are the stages measured by BenchmarkStage, one at a time.
var stageCases = []struct {
	name string
	opts Options
}{
	{"none", Options{}},
	{"filter", Options{Filter: config.Filter{MinSeverity: "debug", MessageNotContains: []string{"healthcheck"}}}},
	{"filter_regexp", Options{Filter: config.Filter{MessageNotMatches: []string{`^GET /health`}}}},
	{"throttle", Options{Throttle: config.Throttle{Rate: 1e12, Burst: 1 << 30, Mode: "block"}}},
	{"throttle_instance", Options{Throttle: config.Throttle{Rate: 1e12, Burst: 1 << 30, Mode: "drop", Key: "instance"}}},
	{"include", Options{Fields: config.Fields{Include: []string{"id", "date", "instanceId", "severity", "message"}}}},
	{"exclude", Options{Fields: config.Fields{Exclude: []string{"commitId", "pid"}}}},
	{"rename", Options{Fields: config.Fields{Rename: map[string]string{"message": "msg", "instanceId": "instance"}}}},
	{"add", Options{Fields: config.Fields{Add: map[string]string{"env": "production"}, AddKey: "logship"}}},
	{"parse_message_json", Options{Fields: config.Fields{ParseMessageJSON: true}}},
}

// BenchmarkStage measures each stage alone per event (ns/op is per
// event): go test -run '^$' -bench BenchmarkStage -benchmem ./pipeline/
func BenchmarkStage(b *testing.B) {
	evs := benchLines(b)
	var bytes int64
	for _, e := range evs {
		bytes += int64(len(e.Raw))
	}
	for _, tc := range stageCases {
		b.Run(tc.name, func(b *testing.B) {
			opts := tc.opts
			opts.Sources = []Source{{Name: "s"}}
			opts.Sinks = []SinkSpec{{Name: "discard", Sink: &memSink{}}}
			p, err := New(withDefaults(opts))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(bytes / int64(len(evs)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e := evs[i%len(evs)]
				if _, err := p.shape(ctx, &e); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// discardSink accepts everything at once.
type discardSink struct{}

func (discardSink) Write(context.Context, *event.Batch) error { return nil }
func (discardSink) Close() error                              { return nil }

// BenchmarkSubmit measures a whole Submit per event (stages, fan-out, ack
// tracking, batching, a sink that discards): the stages' cost in context.
func BenchmarkSubmit(b *testing.B) {
	evs := benchLines(b)
	for _, tc := range stageCases {
		if tc.name != "none" && tc.name != "include" && tc.name != "parse_message_json" {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			opts := tc.opts
			opts.Sources = []Source{{Name: "s"}}
			opts.Sinks = []SinkSpec{{Name: "discard", Sink: discardSink{}}}
			opts.DeadLetterPath = b.TempDir() + "/dead.ndjson"
			p, err := New(withDefaults(opts))
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := p.Submit(b.Context(), evs[i%len(evs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if err := p.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
