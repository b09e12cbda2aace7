package pipeline

import (
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// dropReason is why an event did not reach a sink. The first three are
// the reason labels of logship_events_dropped_total.
type dropReason int

const (
	dropFilter     dropReason = iota // a filter condition
	dropThrottle                     // the throttle, in drop mode
	dropBufferFull                   // a sink's full drop_newest buffer (once per sink)
	deadLettered                     // written to the dead-letter file (once per sink)
	nDropReasons
)

var dropNames = [nDropReasons]string{"filter", "throttle", "buffer_full", "dead_lettered"}

func (r dropReason) String() string { return dropNames[r] }

// dropLogPeriod is the least time between two log lines about drops.
const dropLogPeriod = 10 * time.Second

// dropCounts counts events per dropReason; safe for concurrent use.
type dropCounts [nDropReasons]atomic.Uint64

func (d *dropCounts) add(r dropReason, n uint64) { d[r].Add(n) }

// dropSnapshot is dropCounts at one time.
type dropSnapshot [nDropReasons]uint64

func (d *dropCounts) snapshot() dropSnapshot {
	var s dropSnapshot
	for i := range d {
		s[i] = d[i].Load()
	}
	return s
}

// logDrops logs what was dropped since prev, if anything, and per sink
// what a full buffer dropped; it returns the new snapshot. Only saveLoop
// calls it.
func (p *Pipeline) logDrops(prev dropSnapshot) dropSnapshot {
	now := p.drops.snapshot()
	var fields []zap.Field
	for r := range nDropReasons {
		if d := now[r] - prev[r]; d > 0 {
			fields = append(fields, zap.Uint64(dropNames[r], d))
		}
	}
	if fields != nil {
		p.log.Info("events dropped on purpose or dead-lettered", append(fields, zap.Duration("period", dropLogPeriod))...)
	}
	for _, l := range p.lanes {
		n := l.droppedFull.Load()
		if d := n - l.loggedFull; d > 0 {
			l.log.Warn("sink buffer full: dropping the newest events for this sink (when_full: drop_newest)", zap.Uint64("dropped", d))
		}
		l.loggedFull = n
	}
	return now
}

// logTotals logs the drop counts since the start, at Close.
func (p *Pipeline) logTotals() {
	s := p.drops.snapshot()
	fields := make([]zap.Field, 0, nDropReasons)
	for r := range nDropReasons {
		fields = append(fields, zap.Uint64(dropNames[r], s[r]))
	}
	if p.throttle != nil && !p.throttle.drop {
		fields = append(fields, zap.Duration("throttle_waited", time.Duration(p.throttle.waited.Load())))
	}
	p.log.Info("pipeline totals: events dropped on purpose or dead-lettered", fields...)
}
