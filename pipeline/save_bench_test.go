package pipeline

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// BenchmarkCheckpointRound500 is one round of the 500-application case
// (issue 11) through the public API: one new line for each of 500 sources,
// delivered to a sink, then the checkpoints of all of them saved. Each
// source's look-back window holds 200 ids (20 lines/s for 10 s), as in
// `logship emulator --apps 500 --rate 20`.
func BenchmarkCheckpointRound500(b *testing.B) {
	const sources, window = 500, 200
	streams := make([]Source, sources)
	for i := range streams {
		streams[i] = Source{Name: fmt.Sprintf("app_%03d", i), AppID: fmt.Sprintf("app_%03d", i), Lookback: 10 * time.Second}
	}
	store, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	sink := &memSink{}
	p, err := New(withDefaults(Options{Sources: streams, Store: store, CheckpointInterval: time.Hour, DeadLetterPath: b.TempDir() + "/dead",
		Sinks: []SinkSpec{{Name: "file", Sink: sink, Batch: config.Batch{MaxEvents: sources, MaxWait: config.Duration(time.Hour)}}}}))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer p.Close(b.Context())
	raw := []byte(`{"id":"x","date":"2026-11-28T00:00:00Z","message":"a line of about the usual size, with some words in it"}`)
	n := 0
	round := func(save bool) {
		for i := range sources {
			e := event.Event{Raw: raw, ID: fmt.Sprintf("%016x", n), Date: int64(n/sources) * int64(50*time.Millisecond), SourceIndex: i}
			n++
			if err := p.Submit(b.Context(), e); err != nil {
				b.Fatal(err)
			}
		}
		for sink.count() < n {
			time.Sleep(10 * time.Microsecond)
		}
		if !save {
			return
		}
		if err := p.SaveCheckpoints(); err != nil {
			b.Fatal(err)
		}
	}
	for range window { // fill the look-back windows
		round(false)
	}
	round(true)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		round(true)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
