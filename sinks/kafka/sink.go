// Package kafka is logship's Kafka sink: one message per event, value = the
// event's JSON object, produced with segmentio/kafka-go.
//
// A Write makes one delivery attempt of a batch (kafka-go retries retriable
// broker errors a few times inside it) and classifies what failed, so that
// the pipeline retries with backoff what is worth retrying and dead-letters
// what the brokers refuse for good. See README.md for the keys and the
// delivery guarantee.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
)

// Interface guards.
var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Starter = (*Sink)(nil)
)

// Options are the sink's settings that do not come from its config entry.
type Options struct {
	// Name identifies the sink in logs (default "kafka").
	Name string
	// Logger receives the sink's state changes; nil logs nothing.
	Logger *zap.Logger
	// Batch is the sink's effective batching (pipeline.batch with the
	// sink's overrides). Batch.MaxEvents sizes kafka-go's per-partition
	// batches, so that a Write sends one request per partition (as long as
	// a partition's share fits max_message_bytes).
	Batch config.Batch
}

// tuning holds kafka-go settings that are not configuration keys. Tests
// shorten them.
type tuning struct {
	// attempts is how many times kafka-go tries a produce request that
	// failed with a retriable error, within one Write.
	attempts   int
	backoffMin time.Duration
	backoffMax time.Duration
	// batchTimeout is how long kafka-go waits for more messages before it
	// sends a partition's last, partial batch of a Write.
	batchTimeout time.Duration
	// metadataTTL bounds the age of the cached cluster layout (leaders).
	metadataTTL time.Duration
}

func defaultTuning() tuning {
	return tuning{
		attempts:     3,
		backoffMin:   100 * time.Millisecond,
		backoffMax:   time.Second,
		batchTimeout: time.Millisecond,
		metadataTTL:  5 * time.Second,
	}
}

// Sink produces events to Kafka. Its methods are safe for concurrent use;
// concurrent Writes (in_flight > 1) may interleave their messages in a
// partition.
type Sink struct {
	cfg   Config
	name  string
	log   *zap.Logger
	tune  tuning
	batch int // kafka-go BatchSize

	topicTmpl *template // nil: every event goes to cfg.Topic
	keyTmpl   *template // set when cfg.Key is a template
	fields    []string  // the event fields the templates read
	headers   bool
	eventTime bool
	maxRecord int // largest message estimate accepted (see recordSize)

	mu      sync.Mutex
	conn    *conn // built on first use (Start or Write)
	closed  bool
	scratch sync.Pool // *scratch
	warned  map[string]bool
}

// New returns a sink for cfg (see Config.Validate). It does no I/O:
// connections open in Start or on the first Write.
func New(cfg *Config, opts Options) (*Sink, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("kafka sink: %w", ps)
	}
	s := &Sink{
		cfg:       *cfg,
		name:      opts.Name,
		log:       opts.Logger,
		tune:      defaultTuning(),
		batch:     opts.Batch.MaxEvents,
		headers:   cfg.Headers,
		eventTime: cfg.Timestamp != "now",
		warned:    make(map[string]bool),
	}
	if s.name == "" {
		s.name = "kafka"
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.batch <= 0 {
		// Options.Batch left out (a test): the pipeline's default batch.
		s.batch = config.Default().Pipeline.Batch.MaxEvents
	}
	if s.cfg.MaxMessageBytes <= 2*batchFraming {
		return nil, fmt.Errorf("kafka sink: max_message_bytes %d is too small", s.cfg.MaxMessageBytes)
	}
	s.maxRecord = s.cfg.MaxMessageBytes.Int() - batchFraming
	if err := s.compileTemplates(); err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	if _, err := compression(cfg.Compression); err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	if _, err := requiredAcks(cfg.Acks); err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	if _, err := saslMechanism(cfg.SASL); err != nil {
		return nil, fmt.Errorf("kafka sink: %w", err)
	}
	return s, nil
}

// compileTemplates parses the topic and key templates and lists the fields
// they read, so that one scan of each event finds them all.
func (s *Sink) compileTemplates() error {
	var err error
	if s.cfg.TopicTemplate != "" {
		if s.topicTmpl, err = compileTemplate(s.cfg.TopicTemplate, &s.fields); err != nil {
			return fmt.Errorf("topic_template: %w", err)
		}
	}
	switch s.cfg.Key {
	case "", KeyApplicationID, KeySource, KeyID, KeyNone:
	default:
		if s.keyTmpl, err = compileTemplate(s.cfg.Key, &s.fields); err != nil {
			return fmt.Errorf("key: %w", err)
		}
	}
	return nil
}

// connection returns the sink's connection, building it on first use (this
// reads the TLS files).
func (s *Sink) connection() (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("kafka sink is closed")
	}
	if s.conn == nil {
		c, err := newConn(s.cfg, s.tune, s.batch, s.topicTmpl == nil, s.log)
		if err != nil {
			return nil, err
		}
		s.conn = c
	}
	return s.conn, nil
}

// Start connects to the brokers and checks the topic, so that a
// configuration error stops logship's start-up with a clear message: a
// refused login, a TLS failure, a topic that does not exist (or that the
// brokers did not create). Brokers that cannot be reached are only logged:
// writes then retry with backoff until they can.
func (s *Sink) Start(ctx context.Context) error {
	c, err := s.connection()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout.D()+c.tune.metadataTTL)
	defer cancel()
	parts, err := c.checkTopic(ctx, s.cfg.Topic)
	if err != nil {
		err = s.describe(err)
		if isUnreachable(err) {
			s.log.Warn("kafka brokers not reachable at start; writes will retry",
				zap.Strings("brokers", s.cfg.Brokers), zap.Error(err))
			return nil
		}
		return err
	}
	s.log.Info("kafka sink connected", zap.Strings("brokers", s.cfg.Brokers),
		zap.String("topic", s.cfg.Topic), zap.Int("partitions", parts))
	return nil
}

// Close waits for the messages still in flight (those of a Write whose
// context ended) and closes the connections. Writes after Close fail.
func (s *Sink) Close() error {
	s.mu.Lock()
	c := s.conn
	s.conn, s.closed = nil, true
	s.mu.Unlock()
	if c != nil {
		return c.close()
	}
	return nil
}

// describe explains err, from kafka-go, for an operator (see describe).
func (s *Sink) describe(err error) error {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	return describe(err, s.cfg, c.inLogin())
}

// warnOnce logs msg once per topic (up to a bound), for state changes that
// would otherwise repeat on every batch.
func (s *Sink) warnOnce(topic, msg string, fields ...zap.Field) {
	s.mu.Lock()
	seen := s.warned[topic]
	if !seen && len(s.warned) < 1024 {
		s.warned[topic] = true
	}
	s.mu.Unlock()
	if !seen {
		s.log.Warn(msg, append(fields, zap.String("topic", topic))...)
	}
}

// Write produces one message per event of b, in order, and returns nil once
// the brokers acknowledged every one (as acks requires). Otherwise it
// returns a retryable error, or an *event.PartialError listing the events to
// write again (Retry) and those refused for good (Rejected: larger than
// max_message_bytes or than the brokers accept, or an invalid record).
//
// Write does not keep b: the messages carry copies of the events' bytes,
// so even a Write abandoned through ctx leaves b to the caller.
func (s *Sink) Write(ctx context.Context, b *event.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	c, err := s.connection()
	if err != nil {
		return err
	}
	sc := s.getScratch()
	res, err := s.build(ctx, c, sc, b)
	if err != nil {
		s.putScratch(sc, true)
		return err
	}
	if len(sc.msgs) > 0 {
		werr := c.writer.WriteMessages(ctx, sc.msgs...)
		var we kafkago.WriteErrors
		switch {
		case werr == nil:
		case errors.As(werr, &we) && len(we) == len(sc.msgs):
			s.sortErrors(ctx, c, sc, we, &res)
		default:
			// kafka-go may still be sending these messages in the
			// background (ctx ended): their bytes are not reused.
			res.abandoned = true
			res.retry = append(res.retry[:0], sc.index...)
			res.first = werr
		}
	}
	defer s.putScratch(sc, !res.abandoned)
	return res.err(s)
}
