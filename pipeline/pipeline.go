// Package pipeline carries events from the sources to the sinks: it
// throttles and shapes them, cuts batches per sink within a byte bound,
// writes them with retries, dead-letters what a sink refuses for good, and
// tracks acknowledgements so that a source's checkpoint moves only over
// events that every sink accepted.
//
// Data flow: Submit (called by each source, in stream order) → filter →
// throttle → fields → one lane per sink (batch, bounded queue, writers with
// retry) → ack tracker → checkpoint store. An event that no stage changes
// reaches the sinks with its raw bytes as received.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// Source is one source as the pipeline sees it.
type Source struct {
	Name  string
	AppID string
	// Start is the position the source resumes from (see
	// Checkpoint.Resume): the delivered position of a sink that Sinks does
	// not list.
	Start event.Position
	// Sinks holds each sink's own delivered position from the checkpoint,
	// by sink name. On a replay, a sink skips the events its position
	// covers (see skipSet), so a sink ahead of the others gets nothing
	// twice.
	Sinks map[string]event.Position
	// Lookback is the source's look-back window (config.Source.Lookback;
	// 0: none).
	Lookback time.Duration
}

// Options configure a Pipeline.
type Options struct {
	// Sources are the sources, indexed by event.Event.SourceIndex.
	Sources []Source
	Sinks   []SinkSpec
	// Filter, Throttle and Fields are the shaping stages (zero values:
	// none), run in this order.
	Filter   config.Filter
	Throttle config.Throttle
	Fields   config.Fields
	// DeadLetterPath is the dead-letter file.
	DeadLetterPath string
	// Store saves checkpoints; nil keeps them in memory only.
	Store *Store
	// CheckpointInterval is how often changed positions are saved
	// (default 1s).
	CheckpointInterval time.Duration
	Logger             *zap.Logger
	Metrics            *metrics.Metrics
}

// ErrClosed is returned by Submit after Close began.
var ErrClosed = errors.New("pipeline closed")

// Pipeline is safe for concurrent use by the sources.
type Pipeline struct {
	opts    Options
	log     *zap.Logger
	m       *metrics.Metrics
	tracker *tracker
	lanes   []*lane
	// skips[stream][sink] is what that sink's own checkpoint covers beyond
	// the resume position (nil: nothing); guarded by the source's
	// one-Submit-at-a-time contract.
	// The outer slice is replaced by AddSource (copy on write).
	skips    atomic.Pointer[[][]*skipSet]
	filter   *contentFilter
	throttle *throttle
	fields   *fieldStage
	dead     *deadLetters
	drops    dropCounts
	// abandoned tallies what a hard stop left unwritten.
	abandoned abandonTally
	// dropMetric holds logship_events_dropped_total's counter per reason
	// (the reasons before deadLettered, which has its own metric).
	dropMetric [deadLettered]prometheus.Counter

	// closing is closed when Close starts; Submit then refuses.
	closing   chan struct{}
	closeOnce sync.Once
	hardStop  context.CancelFunc
	saverDone chan struct{}
	saveMu    sync.Mutex
	saved     []uint64 // per stream, the tracker version last saved
	savedOnce bool     // a first Save wrote every stream
	states    []SourceState
	sinkNames []string
	lastSave  atomic.Int64 // Unix nanoseconds of the last save (or start)
	started   bool
}

// New builds a pipeline; it does no I/O (see Start). It refuses stage
// settings that config.Validate would refuse.
func New(opts Options) (*Pipeline, error) {
	if len(opts.Sinks) == 0 {
		return nil, errors.New("pipeline: no sink")
	}
	filter, err := newContentFilter(opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	fields, err := newFieldStage(opts.Fields)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if opts.Throttle.Rate > 0 && opts.Throttle.Burst < 1 {
		return nil, errors.New("pipeline: throttle burst must be at least 1")
	}
	if opts.CheckpointInterval <= 0 {
		return nil, errors.New("pipeline: checkpoint interval must be positive")
	}
	for i := range opts.Sinks {
		if err := opts.Sinks[i].check(); err != nil {
			return nil, fmt.Errorf("pipeline: sink %s: %w", opts.Sinks[i].Name, err)
		}
	}
	starts := make([][]event.Position, len(opts.Sources))
	skips := make([][]*skipSet, len(opts.Sources))
	lookbacks := make([]time.Duration, len(opts.Sources))
	for i, s := range opts.Sources {
		if s.Lookback < 0 {
			return nil, fmt.Errorf("pipeline: source %s: lookback must not be negative", s.Name)
		}
		lookbacks[i] = s.Lookback
		starts[i], skips[i] = streamStarts(s, opts.Sinks, lookbacks[i])
	}
	writeCtx, hardStop := context.WithCancel(context.Background())
	p := &Pipeline{
		opts:      opts,
		log:       opts.Logger,
		m:         opts.Metrics,
		tracker:   newTracker(starts, lookbacks, len(opts.Sinks)),
		filter:    filter,
		throttle:  newThrottle(opts.Throttle, opts.Metrics.ThrottleWait),
		fields:    fields,
		dead:      newDeadLetters(opts.DeadLetterPath),
		closing:   make(chan struct{}),
		hardStop:  hardStop,
		saverDone: make(chan struct{}),
	}
	for r := range p.dropMetric {
		p.dropMetric[r] = p.m.Dropped.WithLabelValues(dropReason(r).String())
	}
	for i, s := range opts.Sinks {
		p.lanes = append(p.lanes, newLane(p, i, s, writeCtx))
		p.sinkNames = append(p.sinkNames, s.Name)
	}
	p.skips.Store(&skips)
	p.lastSave.Store(time.Now().UnixNano())
	return p, nil
}

// streamStarts returns where each sink's delivered position of stream s
// starts, and what each sink skips on a replay.
func streamStarts(s Source, sinks []SinkSpec, lookback time.Duration) ([]event.Position, []*skipSet) {
	starts := make([]event.Position, len(sinks))
	skips := make([]*skipSet, len(sinks))
	for k, sink := range sinks {
		pos, ok := s.Sinks[sink.Name]
		if !ok {
			pos = s.Start
		}
		starts[k] = pos
		skips[k] = newSkipSet(pos, s.Start, lookback)
	}
	return starts, skips
}

// AddSource adds a source after New (an application found by discovery)
// and returns its index, for event.Event.SourceIndex. Its positions start at
// s.Start and s.Sinks, as for the streams given to New, and its checkpoint
// is saved with the others'. It is safe for concurrent use; a stream is
// never removed (a source that stops simply submits nothing more).
func (p *Pipeline) AddSource(s Source) int {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	s.Lookback = max(s.Lookback, 0)
	starts, skips := streamStarts(s, p.opts.Sinks, s.Lookback)
	old := *p.skips.Load()
	all := append(old[:len(old):len(old)], skips)
	// The skip sets first: an event of the new stream can come only
	// after AddSource returned.
	p.skips.Store(&all)
	i := p.tracker.add(starts, s.Lookback)
	p.opts.Sources = append(p.opts.Sources, s)
	if p.saved != nil {
		p.saved = append(p.saved, 0)
	}
	return i
}

// sources returns the sources (the caller must not modify the result).
func (p *Pipeline) sources() []Source {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	return p.opts.Sources
}

// Start starts the sinks that need it (pipeline.Starter), then the writers
// and the checkpoint saver. An error from a sink's Start is returned as is.
func (p *Pipeline) Start(ctx context.Context) error {
	for _, l := range p.lanes {
		if s, ok := l.spec.Sink.(Starter); ok {
			if err := s.Start(ctx); err != nil {
				return fmt.Errorf("sink %s: %w", l.spec.Name, err)
			}
		}
	}
	for _, l := range p.lanes {
		l.start()
	}
	p.started = true
	go p.saveLoop()
	return nil
}

// Submit takes one event from a source. It blocks while the throttle (block
// mode) or a sink's byte bound (when_full: block) holds it back, and
// returns ctx's error if ctx ends first, or ErrClosed. Once Submit returned
// nil, the event is tracked: each sink it was handed to acknowledges it;
// dropped on purpose (filter, throttle in drop mode, a full drop_newest
// buffer) or dead-lettered (too large for a sink), it counts as delivered.
func (p *Pipeline) Submit(ctx context.Context, e event.Event) error {
	select {
	case <-p.closing:
		return ErrClosed
	default:
	}
	keep, err := p.shape(ctx, &e)
	if !keep || err != nil {
		return err
	}
	return p.fanOut(ctx, e)
}

// shape runs the stages over e: filter, throttle, fields. It reports false
// for an event dropped on purpose (then tracked as delivered and counted),
// and returns an error only when ctx ends during a throttle wait.
func (p *Pipeline) shape(ctx context.Context, e *event.Event) (bool, error) {
	if p.filter != nil && !p.filter.keep(e.Raw) {
		p.dropped(e, dropFilter)
		return false, nil
	}
	if p.throttle != nil {
		ok, err := p.throttle.admit(ctx, e)
		if err != nil {
			return false, err
		}
		if !ok {
			p.dropped(e, dropThrottle)
			return false, nil
		}
	}
	if p.fields != nil {
		e.Raw = p.fields.apply(e.Raw)
	}
	return true, nil
}

// dropped tracks e as delivered and counts it under reason.
func (p *Pipeline) dropped(e *event.Event, reason dropReason) {
	p.tracker.track(e, nil)
	p.countDrop(reason)
}

// countDrop counts one event dropped for reason, in the log totals and
// the metric (whose counters New resolved: no label lookup per event).
func (p *Pipeline) countDrop(reason dropReason) {
	p.drops.add(reason, 1)
	p.dropMetric[reason].Inc()
}

// fanOut hands e to every lane that takes it: all of them or, when ctx
// ends first, none. A lane whose sink's checkpoint already covers e (a
// replay after a restart) skips it.
func (p *Pipeline) fanOut(ctx context.Context, e event.Event) error {
	var buf [8]laneOutcome
	outcome := buf[:0]
	if len(p.lanes) > len(buf) {
		outcome = make([]laneOutcome, 0, len(p.lanes))
	}
	special := false
	skips := (*p.skips.Load())[e.SourceIndex]
	for i, l := range p.lanes {
		if sk := skips[i]; sk != nil {
			covered, spent := sk.covers(&e)
			if spent {
				skips[i] = nil
			}
			if covered {
				outcome = append(outcome, laneOutcome{kind: laneSkipped})
				continue
			}
		}
		err := l.reserve(ctx, &e)
		switch {
		case err == nil:
			outcome = append(outcome, laneOutcome{kind: laneTaken})
			continue
		case errors.Is(err, errBufferFull):
			outcome = append(outcome, laneOutcome{kind: laneFull})
		case errors.Is(err, errOversize):
			outcome = append(outcome, laneOutcome{kind: laneOversize})
		default:
			p.unreserve(&e, outcome[:i])
			return err
		}
		special = true
	}
	if special {
		for i, o := range outcome {
			if o.kind != laneOversize {
				continue
			}
			l := p.lanes[i]
			reason := fmt.Sprintf("event of %d bytes exceeds the sink's batch.max_bytes %d", len(e.Raw), l.spec.Batch.MaxBytes)
			if err := p.deadLetter(ctx, l.spec.Name, reason, e); err != nil {
				p.unreserve(&e, outcome)
				return err
			}
		}
	}
	// The lanes that take e are locked from reading the batch e goes into
	// to adding it there: the tracker groups a sink's owed events by
	// batch, and an event tracked under one batch but added to the next
	// (another source filled the first in between) would tie them, so that
	// a hard stop abandoning the second kept the first, written, out of
	// the checkpoint (simulation seed 42269). Lanes are locked in order,
	// and nothing takes a lane's lock while holding the tracker's.
	for i, o := range outcome {
		if o.kind == laneTaken {
			l := p.lanes[i]
			l.mu.Lock()
			outcome[i].batch = l.curGen.Load()
		}
	}
	p.tracker.track(&e, outcome)
	for i, o := range outcome {
		switch o.kind {
		case laneTaken:
			p.lanes[i].addLocked(e)
			p.lanes[i].mu.Unlock()
		case laneFull:
			p.lanes[i].droppedFull.Add(1)
			p.lanes[i].droppedFullMetric.Inc()
			p.countDrop(dropBufferFull)
		case laneSkipped:
			p.lanes[i].skippedMetric.Inc()
		}
	}
	return nil
}

// unreserve gives back the reservations of the lanes that took e.
func (p *Pipeline) unreserve(e *event.Event, outcome []laneOutcome) {
	for i, o := range outcome {
		if o.kind == laneTaken {
			p.lanes[i].unreserve(e)
		}
	}
}

// deadLetter writes e to the dead-letter file for sink ("" before any
// sink), retrying until it is written or ctx ends, and counts it.
func (p *Pipeline) deadLetter(ctx context.Context, sink, reason string, e event.Event) error {
	for {
		err := p.dead.write(sink, reason, []event.Event{e})
		if err == nil {
			break
		}
		p.log.Error("cannot write the dead-letter file; retrying", zap.Error(err))
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
	p.m.DeadLetters.WithLabelValues("too_large").Inc()
	p.drops.add(deadLettered, 1)
	return nil
}

// DeadLetter writes e to the dead-letter file with reason and counts it as
// delivered.
func (p *Pipeline) DeadLetter(ctx context.Context, e event.Event, reason string) error {
	if err := p.deadLetter(ctx, "", reason, e); err != nil {
		return err
	}
	p.tracker.track(&e, nil)
	return nil
}

// Position returns the position stream i would resume from now: the
// oldest of its sinks' delivered positions.
func (p *Pipeline) Position(i int) event.Position {
	ps, _ := p.tracker.positions(i)
	return oldest(ps)
}

// SinkPositions returns the delivered position of each sink for stream i,
// in the order of Options.Sinks.
func (p *Pipeline) SinkPositions(i int) []event.Position {
	ps, _ := p.tracker.positions(i)
	return ps
}

// SinkFailingSince returns when the writes of sink i (in Options.Sinks
// order) began failing with retryable errors: the zero time while its last
// write was accepted. Safe for concurrent use.
func (p *Pipeline) SinkFailingSince(i int) time.Time {
	if ns := p.lanes[i].failingSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Reopen reopens the files of the sinks that have some, and the dead-letter
// file (after a log rotation).
func (p *Pipeline) Reopen() error {
	var errs []error
	for _, l := range p.lanes {
		if r, ok := l.spec.Sink.(Reopener); ok {
			if err := r.Reopen(); err != nil {
				errs = append(errs, fmt.Errorf("sink %s: %w", l.spec.Name, err))
			}
		}
	}
	errs = append(errs, p.dead.reopen())
	return errors.Join(errs...)
}

// saveLoop saves changed positions every CheckpointInterval until Close,
// and refreshes the gauges.
func (p *Pipeline) saveLoop() {
	defer close(p.saverDone)
	t := time.NewTicker(p.opts.CheckpointInterval)
	defer t.Stop()
	var logged dropSnapshot
	lastLog := time.Now()
	for {
		select {
		case <-p.closing:
			return
		case <-t.C:
			if err := p.SaveCheckpoints(); err != nil {
				p.log.Error("checkpoint not saved", zap.Error(err))
			}
			p.updateGauges(time.Now())
			if time.Since(lastLog) >= dropLogPeriod {
				logged = p.logDrops(logged)
				lastLog = time.Now()
			}
		}
	}
}

// updateGauges sets the gauges that describe the pipeline's state at now:
// buffered bytes and oldest pending batch per sink, lag per source,
// checkpoint age and the ack tracker's size.
func (p *Pipeline) updateGauges(now time.Time) {
	for _, l := range p.lanes {
		held, oldest := l.pending()
		p.m.BufferedBytes.WithLabelValues(l.spec.Name).Set(float64(held))
		age := 0.0
		if !oldest.IsZero() {
			age = max(0, now.Sub(oldest).Seconds())
		}
		p.m.SinkOldestPending.WithLabelValues(l.spec.Name).Set(age)
	}
	for i, s := range p.sources() {
		if d := p.tracker.delivered(i); d != 0 {
			// A line dated in the future (a skewed clock) must not make
			// the lag negative: clamp at 0.
			p.m.SourceLag.WithLabelValues(s.Name).Set(max(0, now.Sub(time.Unix(0, d)).Seconds()))
		}
	}
	p.m.CheckpointAge.Set(max(0, now.Sub(time.Unix(0, p.lastSave.Load())).Seconds()))
	chunks, ids := p.tracker.footprint()
	p.m.TrackerEntries.WithLabelValues("ranges").Set(float64(chunks))
	p.m.TrackerEntries.WithLabelValues("ids").Set(float64(ids))
}

// SaveCheckpoints saves the delivered positions of every stream, if any
// moved since the last save, as one durable write (see Store).
func (p *Pipeline) SaveCheckpoints() error {
	if p.opts.Store == nil {
		return nil
	}
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	if p.saved == nil {
		p.saved = make([]uint64, len(p.opts.Sources))
	}
	states := p.states[:0]
	versions := make([]uint64, len(p.opts.Sources))
	changed := false
	for i, s := range p.opts.Sources {
		st := SourceState{Source: s.Name, AppID: s.AppID}
		versions[i] = p.saved[i]
		if v := p.tracker.version(i); v != p.saved[i] || !p.savedOnce {
			st.Positions, versions[i] = p.tracker.positions(i)
			changed = true
		}
		states = append(states, st)
	}
	p.states = states
	// The slice is kept for the next round, its positions (every source's
	// look-back ids) are not: the store has encoded them.
	defer clear(states)
	if !changed {
		p.lastSave.Store(time.Now().UnixNano())
		return nil
	}
	if err := p.opts.Store.Save(p.sinkNames, states); err != nil {
		return err
	}
	p.savedOnce = true
	p.lastSave.Store(time.Now().UnixNano())
	for i := range states {
		if states[i].Positions != nil {
			if versions[i] != p.saved[i] {
				p.m.CheckpointSaves.WithLabelValues(p.opts.Sources[i].Name).Inc()
			}
			p.saved[i] = versions[i]
		}
	}
	return nil
}

// Close drains the pipeline: Submit refuses new events, every lane writes
// what it holds (retrying) until ctx ends, after which what is still
// unwritten is abandoned without acknowledgement. Then the sinks are closed
// (a file sink syncs what it wrote), and only then, if every sink closed
// cleanly, are the checkpoints saved: a checkpoint never covers lines a
// sink had not made durable (with a file sink's `fsync: interval` or
// `never`). The sources must have stopped submitting before Close is
// called, or their last events may be refused.
func (p *Pipeline) Close(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() { err = p.close(ctx) })
	return err
}

func (p *Pipeline) close(ctx context.Context) error {
	close(p.closing)
	for _, l := range p.lanes {
		l.close()
	}
	drained := make(chan struct{})
	go func() {
		for _, l := range p.lanes {
			l.writers.Wait()
		}
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		p.hardStop()
		<-drained
		p.logAbandoned(context.Cause(ctx))
	}
	p.hardStop()
	if p.started {
		<-p.saverDone
	}
	p.logTotals()
	var errs []error
	for _, l := range p.lanes {
		if err := l.spec.Sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", l.spec.Name, err))
		}
	}
	if errs == nil {
		errs = append(errs, p.SaveCheckpoints())
	} else {
		p.log.Error("a sink did not close cleanly: final checkpoint not saved (the last periodic one stands)")
	}
	errs = append(errs, p.dead.close())
	return errors.Join(errs...)
}
