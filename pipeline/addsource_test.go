package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/logship/logship/config"
)

// TestAddSource: a stream added while running (discovery) gets its events delivered and
// its checkpoint saved under its own name, concurrently with the other streams.
func TestAddSource(t *testing.T) {
	store, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	p := startPipeline(t, Options{Store: store, CheckpointInterval: 10 * time.Millisecond,
		Sinks: []SinkSpec{{Name: "mem", Sink: sink, Batch: config.Batch{MaxEvents: 10, MaxBytes: 1 << 20, MaxWait: config.Duration(time.Millisecond)},
			Buffer: config.Buffer{MaxBytes: 1 << 20}, InFlight: 1}}})
	const n = 200
	done := make(chan struct{})
	go func() { // stream 0 keeps going meanwhile
		defer close(done)
		for i := range n {
			if err := p.Submit(context.Background(), testEvent(i, 100)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var added []int
	for k := range 3 {
		i := p.AddSource(Source{Name: "orga/app_" + string(rune('a'+k)), AppID: "app_" + string(rune('a'+k)), Lookback: config.NewSource("", "").Lookback.D()})
		added = append(added, i)
		for j := range n {
			e := testEvent(j, 100)
			e.SourceIndex, e.AppID = i, "app_"+string(rune('a'+k))
			if err := p.Submit(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-done
	if added[0] != 1 || added[2] != 3 {
		t.Fatalf("indexes %v", added)
	}
	waitFor(t, 5*time.Second, "every event", func() bool { return sink.count() == 4*n })
	waitFor(t, 5*time.Second, "the checkpoints", func() bool {
		pos, err := store.Load("orga/app_c", "app_c")
		return err == nil && pos.Sinks["mem"].LastID == "id-0000199"
	})
	if got := p.Position(added[1]); got.LastID != "id-0000199" {
		t.Errorf("position %+v", got)
	}
}
