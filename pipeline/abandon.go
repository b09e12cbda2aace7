package pipeline

import (
	"sync"

	"go.uber.org/zap"

	"github.com/logship/logship/event"
)

// abandonTally counts what a hard stop left unwritten (neither delivered
// nor acknowledged: it comes again at the next start), so that Close says
// it in one line instead of one per batch. Safe for concurrent use.
type abandonTally struct {
	mu       sync.Mutex
	batches  int
	events   int
	bySink   map[string]int
	bySource map[string]int
}

// add counts the events of one abandoned batch of sink.
func (a *abandonTally) add(sink string, events []event.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bySink == nil {
		a.bySink, a.bySource = map[string]int{}, map[string]int{}
	}
	a.batches++
	a.events += len(events)
	a.bySink[sink] += len(events)
	for i := range events {
		a.bySource[events[i].Source]++
	}
}

// Abandoned returns how many events the hard stop of Close left unwritten,
// summed over the sinks (0 before Close or after a complete drain).
func (p *Pipeline) Abandoned() int {
	p.abandoned.mu.Lock()
	defer p.abandoned.mu.Unlock()
	return p.abandoned.events
}

// logAbandoned logs, in one line, what the hard stop left unwritten, per
// sink and per source. cause is why the drain was cut short.
func (p *Pipeline) logAbandoned(cause error) {
	a := &p.abandoned
	a.mu.Lock()
	defer a.mu.Unlock()
	p.log.Warn("hard stop: unwritten events abandoned, not checkpointed; they come again at the next start",
		zap.NamedError("cause", cause), zap.Int("batches", a.batches), zap.Int("events", a.events),
		zap.Any("events_by_sink", a.bySink), zap.Any("events_by_source", a.bySource))
}
