package pipeline

import (
	"strconv"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// BenchmarkTrackerInterleaved is the ack tracker's cost per event with 500
// streams interleaved in 1,000-event batches (the 500-application case):
// track as the events enter, then one ack of the batch.
func BenchmarkTrackerInterleaved(b *testing.B) {
	const streams, batch = 500, 1000
	lbs := make([]time.Duration, streams)
	starts := make([][]event.Position, streams)
	for i := range starts {
		lbs[i] = 10 * time.Second
		starts[i] = make([]event.Position, 1)
	}
	tr := newTracker(starts, lbs, 1)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = strconv.FormatInt(int64(i)*7919, 16)
	}
	evs := make([]event.Event, batch)
	n := 0
	for b.Loop() {
		for i := range evs {
			evs[i] = event.Event{ID: ids[n&(1<<16-1)], Date: int64(n/streams) * int64(50*time.Millisecond), SourceIndex: n % streams}
			n++
			tr.track(&evs[i], []laneOutcome{{laneTaken, uint64(n / batch)}})
		}
		tr.ack(0, evs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}
