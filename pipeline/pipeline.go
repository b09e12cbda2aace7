// Package pipeline carries events from the sources to the sinks: it
// throttles and shapes them, cuts batches per sink within a byte bound,
// writes them with retries, dead-letters what a sink refuses for good, and
// tracks acknowledgements so that a source's checkpoint moves only over
// events that every sink accepted.
//
// Data flow: Submit (called by each source, in stream order) → throttle →
// fields → one lane per sink (batch, bounded queue, writers with retry) →
// ack tracker → checkpoint store.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// Stream is one source as the pipeline sees it.
type Stream struct {
	Name  string
	AppID string
	// Start is the delivered position loaded from the checkpoint.
	Start event.Position
	// Lookback is the source's look-back window (default 10s).
	Lookback time.Duration
}

// Options configure a Pipeline.
type Options struct {
	// Streams are the sources, indexed by event.Event.Stream.
	Streams []Stream
	Sinks   []SinkSpec
	// Throttle and Fields are the shaping stages (zero values: none).
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
	opts     Options
	log      *zap.Logger
	m        *metrics.Metrics
	tracker  *tracker
	lanes    []*lane
	throttle *throttle
	fields   *fieldFilter
	dead     *deadLetters

	// closing is closed when Close starts; Submit then refuses.
	closing   chan struct{}
	closeOnce sync.Once
	hardStop  context.CancelFunc
	saverDone chan struct{}
	saved     []uint64 // per stream, the tracker version last saved
	saveMu    sync.Mutex
	started   bool
}

// New builds a pipeline; it does no I/O (see Start).
func New(opts Options) (*Pipeline, error) {
	if len(opts.Sinks) == 0 {
		return nil, errors.New("pipeline: no sink")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	starts := make([]event.Position, len(opts.Streams))
	lookbacks := make([]time.Duration, len(opts.Streams))
	for i, s := range opts.Streams {
		starts[i] = s.Start
		lookbacks[i] = s.Lookback
		if lookbacks[i] <= 0 {
			lookbacks[i] = 10 * time.Second
		}
	}
	writeCtx, hardStop := context.WithCancel(context.Background())
	p := &Pipeline{
		opts:      opts,
		log:       opts.Logger,
		m:         opts.Metrics,
		tracker:   newTracker(starts, lookbacks),
		throttle:  newThrottle(opts.Throttle),
		fields:    newFieldFilter(opts.Fields),
		dead:      newDeadLetters(opts.DeadLetterPath),
		closing:   make(chan struct{}),
		hardStop:  hardStop,
		saverDone: make(chan struct{}),
		saved:     make([]uint64, len(opts.Streams)),
	}
	for _, s := range opts.Sinks {
		p.lanes = append(p.lanes, newLane(p, s, writeCtx))
	}
	return p, nil
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
// mode) or a sink's byte bound holds it back, and returns ctx's error if ctx
// ends first, or ErrClosed. An event is either handed to every sink or to
// none.
func (p *Pipeline) Submit(ctx context.Context, e event.Event) error {
	select {
	case <-p.closing:
		return ErrClosed
	default:
	}
	if p.throttle != nil {
		ok, err := p.throttle.admit(ctx)
		if err != nil {
			return err
		}
		if !ok {
			p.tracker.track(&e, 0)
			p.m.Dropped.WithLabelValues("throttle").Inc()
			return nil
		}
	}
	if p.fields != nil {
		e.Raw = p.fields.apply(e.Raw)
	}
	for i, l := range p.lanes {
		if err := l.reserve(ctx, &e); err != nil {
			for _, r := range p.lanes[:i] {
				r.unreserve(&e)
			}
			return err
		}
	}
	p.tracker.track(&e, len(p.lanes))
	for _, l := range p.lanes {
		l.add(e)
	}
	return nil
}

// DeadLetter writes e to the dead-letter file with reason and counts it as
// delivered.
func (p *Pipeline) DeadLetter(ctx context.Context, e event.Event, reason string) error {
	for {
		err := p.dead.write("", reason, []event.Event{e})
		if err == nil {
			break
		}
		p.log.Error("cannot write the dead-letter file; retrying", zap.Error(err))
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
	p.m.DeadLetters.WithLabelValues("too_large").Inc()
	p.tracker.track(&e, 0)
	return nil
}

// Position returns the delivered position of stream i.
func (p *Pipeline) Position(i int) event.Position {
	pos, _ := p.tracker.position(i)
	return pos
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

// saveLoop saves changed positions every CheckpointInterval until Close.
func (p *Pipeline) saveLoop() {
	defer close(p.saverDone)
	t := time.NewTicker(p.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-p.closing:
			return
		case <-t.C:
			if err := p.SaveCheckpoints(); err != nil {
				p.log.Error("checkpoint not saved", zap.Error(err))
			}
			for _, l := range p.lanes {
				p.m.BufferedBytes.WithLabelValues(l.spec.Name).Set(float64(l.heldBytes()))
			}
		}
	}
}

// SaveCheckpoints saves the position of every stream that moved since its
// last save.
func (p *Pipeline) SaveCheckpoints() error {
	if p.opts.Store == nil {
		return nil
	}
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	var errs []error
	for i, s := range p.opts.Streams {
		pos, v := p.tracker.position(i)
		if v == p.saved[i] {
			continue
		}
		if err := p.opts.Store.Save(s.Name, s.AppID, pos); err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.Name, err))
			continue
		}
		p.saved[i] = v
		p.m.CheckpointSaves.WithLabelValues(s.Name).Inc()
	}
	return errors.Join(errs...)
}

// Close drains the pipeline: Submit refuses new events, every lane writes
// what it holds (retrying) until ctx ends, after which what is still
// unwritten is abandoned without acknowledgement. Then the checkpoints are
// saved and the sinks closed. The sources must have stopped submitting
// before Close is called, or their last events may be refused.
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
		p.log.Warn("shutdown timeout: abandoning unwritten batches (they are not checkpointed)")
		p.hardStop()
		<-drained
	}
	p.hardStop()
	if p.started {
		<-p.saverDone
	}
	errs := []error{p.SaveCheckpoints()}
	for _, l := range p.lanes {
		if err := l.spec.Sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", l.spec.Name, err))
		}
	}
	errs = append(errs, p.dead.close())
	return errors.Join(errs...)
}
