package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/internal/backoff"
)

// SinkSpec is one sink with its delivery settings.
type SinkSpec struct {
	Name string
	Sink Sink
	// Batch says when a batch is cut; Buffer bounds the bytes the sink may
	// hold, queued or in flight.
	Batch  config.Batch
	Buffer config.Buffer
	// InFlight is how many batches may be written at once (at least 1).
	InFlight int
	// RetryMaxElapsed, when > 0, dead-letters a batch still refused after
	// retrying that long; 0 retries without limit.
	RetryMaxElapsed time.Duration
	// MinRetry and MaxRetry bound the retry backoff (both positive).
	MinRetry, MaxRetry time.Duration
}

// check reports the first setting of s that config.Validate would refuse.
// The pipeline sets no defaults of its own: a SinkSpec comes from a loaded
// configuration (config.Config.SinkBatch, SinkBuffer, Sink.Retry), whose
// defaults are the only ones.
func (s *SinkSpec) check() error {
	switch {
	case s.Sink == nil:
		return errors.New("no sink")
	case s.InFlight < 1:
		return errors.New("in_flight must be at least 1")
	case s.Batch.MaxEvents < 1, s.Batch.MaxBytes < 1, s.Batch.MaxWait <= 0:
		return errors.New("batch.max_events, batch.max_bytes and batch.max_wait must be positive")
	case s.Buffer.MaxBytes < 1:
		return errors.New("buffer.max_bytes must be positive")
	case s.MinRetry <= 0 || s.MaxRetry <= 0 || s.RetryMaxElapsed < 0:
		return errors.New("retry.initial_backoff and retry.max_backoff must be positive, retry.max_elapsed not negative")
	}
	return nil
}

// lane carries events to one sink: it cuts batches, queues them within a
// byte bound and writes them, retrying, with InFlight writers.
type lane struct {
	spec SinkSpec
	idx  int // the sink's index, for the ack tracker
	p    *Pipeline
	log  *zap.Logger

	// bytes bounds the memory held for the sink; a Submit waits on it, or
	// with dropNewest drops the event for this sink.
	bytes      *semaphore.Weighted
	maxBytes   int64
	dropNewest bool
	// droppedFull counts the events dropped for a full buffer; loggedFull
	// is the count last logged (saveLoop's alone).
	droppedFull atomic.Uint64
	loggedFull  uint64
	// failingSince is when the sink's writes began failing (Unix ns), 0
	// after an accepted write: for readiness.
	failingSince atomic.Int64
	// The sink's per-batch metrics, resolved once.
	sentBytes, batches, retries prometheus.Counter
	writeTime                   prometheus.Observer
	// droppedFullMetric and skippedMetric are this sink's per-event
	// counters, resolved once.
	droppedFullMetric, skippedMetric prometheus.Counter

	mu       sync.Mutex
	ready    *sync.Cond
	cur      *event.Batch
	curGen   atomic.Uint64 // bumped (under mu) each time cur is cut: stale timers, and the tracker's chunks
	queue    []*event.Batch
	closed   bool
	held     int64                      // bytes held, for the gauge
	born     map[*event.Batch]time.Time // when each batch held got its first event
	pool     sync.Pool
	writers  sync.WaitGroup
	writeCtx context.Context // cancelled at a hard stop
}

func newLane(p *Pipeline, idx int, spec SinkSpec, writeCtx context.Context) *lane {
	l := &lane{
		spec:     spec,
		idx:      idx,
		p:        p,
		log:      p.log.With(zap.String("sink", spec.Name)),
		bytes:    semaphore.NewWeighted(int64(spec.Buffer.MaxBytes)),
		maxBytes: int64(spec.Buffer.MaxBytes),
		writeCtx: writeCtx,

		dropNewest: spec.Buffer.WhenFull == "drop_newest",

		droppedFullMetric: p.m.SinkDropped.WithLabelValues(spec.Name, dropBufferFull.String()),
		skippedMetric:     p.m.SinkSkipped.WithLabelValues(spec.Name),
		sentBytes:         p.m.SentBytes.WithLabelValues(spec.Name),
		batches:           p.m.Batches.WithLabelValues(spec.Name),
		retries:           p.m.Retries.WithLabelValues(spec.Name),
		writeTime:         p.m.WriteDuration.WithLabelValues(spec.Name),
	}
	l.ready = sync.NewCond(&l.mu)
	l.born = make(map[*event.Batch]time.Time)
	l.pool.New = func() any { return &event.Batch{Events: make([]event.Event, 0, min(spec.Batch.MaxEvents, 4096))} }
	return l
}

// cost is what an event weighs against the byte bound.
func (l *lane) cost(e *event.Event) int64 {
	return min(int64(len(e.Raw))+64, l.maxBytes)
}

// Refusals of lane.reserve.
var (
	errBufferFull = errors.New("sink buffer full")
	errOversize   = errors.New("event larger than the sink's batch.max_bytes")
)

// reserve makes room for e in the lane's byte bound: it waits (block), or
// returns errBufferFull at once (drop_newest). An event larger than a
// whole batch is refused with errOversize.
func (l *lane) reserve(ctx context.Context, e *event.Event) error {
	if len(e.Raw) > l.spec.Batch.MaxBytes.Int() {
		return errOversize
	}
	if l.dropNewest {
		if !l.bytes.TryAcquire(l.cost(e)) {
			return errBufferFull
		}
		return nil
	}
	return l.bytes.Acquire(ctx, l.cost(e))
}

// unreserve gives back a reservation that was not used.
func (l *lane) unreserve(e *event.Event) { l.bytes.Release(l.cost(e)) }

// addLocked appends a reserved event to the current batch, whose
// generation is l.curGen's now; l.mu is held. It never blocks on the sink.
func (l *lane) addLocked(e event.Event) {
	if l.cur == nil {
		l.cur = l.pool.Get().(*event.Batch)
		l.born[l.cur] = time.Now()
		gen := l.curGen.Load()
		time.AfterFunc(l.spec.Batch.MaxWait.D(), func() { l.timeout(gen) })
	}
	l.cur.Add(e)
	l.held += l.cost(&e)
	if l.cur.Len() >= l.spec.Batch.MaxEvents || l.cur.Bytes >= l.spec.Batch.MaxBytes.Int() {
		l.cutLocked()
	}
}

// timeout cuts the batch that was current when its timer started.
func (l *lane) timeout(gen uint64) {
	l.mu.Lock()
	if l.curGen.Load() == gen && l.cur != nil {
		l.cutLocked()
	}
	l.mu.Unlock()
}

func (l *lane) cutLocked() {
	l.queue = append(l.queue, l.cur)
	l.cur = nil
	l.curGen.Add(1)
	l.ready.Signal()
}

// next waits for a batch to write; nil once the lane is closed and empty.
func (l *lane) next() *event.Batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) == 0 {
		if l.closed {
			if l.cur != nil {
				l.cutLocked()
				continue
			}
			return nil
		}
		l.ready.Wait()
	}
	b := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	return b
}

// start runs the lane's writers.
func (l *lane) start() {
	for range l.spec.InFlight {
		l.writers.Add(1)
		go func() {
			defer l.writers.Done()
			for b := l.next(); b != nil; b = l.next() {
				l.deliver(b)
			}
		}()
	}
}

// close stops accepting events; the writers drain what is queued and exit.
func (l *lane) close() {
	l.mu.Lock()
	l.closed = true
	l.ready.Broadcast()
	l.mu.Unlock()
}

// deliver writes b until the sink accepted, refused for good or dead-lettered
// every event, or the hard stop came (then b is abandoned unacknowledged:
// its events are not checkpointed and come again at the next start).
func (l *lane) deliver(b *event.Batch) {
	defer l.release(b)
	bo := backoff.New(l.spec.MinRetry, l.spec.MaxRetry)
	started := time.Now()
	pending := b
	for {
		if err := l.writeCtx.Err(); err != nil {
			// The hard stop came: no batch is written after it. A sink
			// that does not look at the context (file, stdout) would take
			// the batches queued behind one it refused, and hold lines
			// ahead of those abandoned, which the next start writes again
			// before them (simulation seed 1273).
			l.abandon(pending, err)
			return
		}
		t0 := time.Now()
		err := l.spec.Sink.Write(l.writeCtx, pending)
		l.writeTime.Observe(time.Since(t0).Seconds())
		if err == nil {
			l.batches.Inc()
			l.accepted(pending.Events)
			return
		}
		if l.writeCtx.Err() != nil {
			l.abandon(pending, err)
			return
		}
		var partial *event.PartialError
		switch {
		case errors.As(err, &partial):
			l.p.m.SinkErrors.WithLabelValues(l.spec.Name, "partial").Inc()
			pending = l.split(pending, partial)
			if pending == nil {
				return
			}
		case event.IsPermanent(err):
			l.p.m.SinkErrors.WithLabelValues(l.spec.Name, "permanent").Inc()
			l.log.Warn("sink refused a batch for good; dead-lettering it", zap.Int("events", pending.Len()), zap.Error(err))
			l.deadLetter(pending.Events, err.Error(), "sink_refused")
			return
		default:
			l.p.m.SinkErrors.WithLabelValues(l.spec.Name, "retryable").Inc()
			l.failingSince.CompareAndSwap(0, time.Now().UnixNano())
		}
		if l.spec.RetryMaxElapsed > 0 && time.Since(started) >= l.spec.RetryMaxElapsed {
			l.log.Warn("sink still failing after retry_max_elapsed; dead-lettering the batch", zap.Int("events", pending.Len()), zap.Error(err))
			l.deadLetter(pending.Events, "retries exhausted: "+err.Error(), "retries_exhausted")
			return
		}
		delay := bo.Next()
		if d, ok := event.RetryDelay(err); ok {
			delay = d
		}
		l.log.Info("sink write failed; retrying", zap.Int("events", pending.Len()), zap.Duration("delay", delay), zap.Error(err))
		if !sleep(l.writeCtx, delay) {
			l.abandon(pending, err)
			return
		}
		l.retries.Inc()
	}
}

// split handles a partial acceptance: acks the accepted events, dead-letters
// the rejected ones and returns a batch of those to retry (nil if none).
func (l *lane) split(b *event.Batch, pe *event.PartialError) *event.Batch {
	skip := make(map[int]bool, len(pe.Retry)+len(pe.Rejected))
	for _, i := range pe.Retry {
		skip[i] = true
	}
	for _, r := range pe.Rejected {
		skip[r.Index] = true
		if r.Index >= 0 && r.Index < b.Len() {
			l.deadLetter(b.Events[r.Index:r.Index+1], r.Reason, "sink_refused")
		}
	}
	var ok []event.Event
	for i := range b.Events {
		if !skip[i] {
			ok = append(ok, b.Events[i])
		}
	}
	if len(ok) > 0 {
		l.accepted(ok)
	}
	if len(pe.Retry) == 0 {
		return nil
	}
	retry := &event.Batch{Events: make([]event.Event, 0, len(pe.Retry))}
	for _, i := range pe.Retry {
		if i >= 0 && i < b.Len() {
			retry.Add(b.Events[i])
		}
	}
	return retry
}

// accepted acknowledges events for this sink.
func (l *lane) accepted(events []event.Event) {
	l.failingSince.Store(0)
	l.p.tracker.ack(l.idx, events)
	l.p.m.Sent.WithLabelValues(l.spec.Name).Add(float64(len(events)))
	n := 0
	for i := range events {
		n += len(events[i].Raw)
	}
	l.sentBytes.Add(float64(n))
}

// deadLetter writes events to the dead-letter file and then acknowledges
// them: they count as delivered (under label in
// logship_dead_letters_total). If the file cannot be written, it retries:
// losing them silently is not an option.
func (l *lane) deadLetter(events []event.Event, reason, label string) {
	for {
		err := l.p.dead.write(l.spec.Name, reason, events)
		if err == nil {
			l.p.m.DeadLetters.WithLabelValues(label).Add(float64(len(events)))
			l.p.drops.add(deadLettered, uint64(len(events)))
			l.p.tracker.ack(l.idx, events)
			return
		}
		l.log.Error("cannot write the dead-letter file; retrying", zap.Error(err))
		if !sleep(l.writeCtx, time.Second) {
			l.p.abandoned.add(l.spec.Name, events)
			return
		}
	}
}

// abandon gives up on a batch at a hard stop, without acknowledging it;
// Close logs the tally in one line.
func (l *lane) abandon(b *event.Batch, err error) {
	l.log.Debug("hard stop: batch left for the next start", zap.Int("events", b.Len()), zap.Error(err))
	l.p.abandoned.add(l.spec.Name, b.Events)
}

// release returns a written batch's bytes and recycles it.
func (l *lane) release(b *event.Batch) {
	var n int64
	for i := range b.Events {
		n += l.cost(&b.Events[i])
	}
	l.bytes.Release(n)
	l.mu.Lock()
	l.held -= n
	delete(l.born, b)
	l.mu.Unlock()
	b.Reset()
	l.pool.Put(b)
}

// pending returns the bytes the lane holds and when its oldest batch not
// yet accepted got its first event (zero if none).
func (l *lane) pending() (held int64, oldest time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.born {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return l.held, oldest
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
