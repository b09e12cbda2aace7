package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"go.uber.org/zap"
)

// batchFraming is what a request's record batch adds to its records (61
// bytes of header) with a wide margin: kafka-go's batches are bounded to
// max_message_bytes less this, so that a full batch still fits the brokers'
// max.message.bytes.
const batchFraming = 512

// conn is the sink's link to the cluster: one transport (connections,
// cached metadata) shared by two writers.
type conn struct {
	addr      net.Addr
	transport *kafkago.Transport
	tune      tuning
	// writer sends each Write's messages in batches of up to the pipeline's
	// batch size per partition.
	writer *kafkago.Writer
	// single sends one message per request: it isolates the messages of a
	// batch that the brokers refused as too large, to find which ones are.
	single *kafkago.Writer
	// autoCreate asks the brokers to create missing topics.
	autoCreate bool
	// login is the SASL mechanism, nil without SASL.
	login *login
}

// inLogin reports whether the last SASL login was cut short.
func (c *conn) inLogin() bool { return c != nil && c.login != nil && c.login.unfinished.Load() }

// login wraps a SASL mechanism to know whether the last login was cut
// short: a broker may refuse a login by closing the connection, which
// kafka-go reports as an unexpected EOF.
type login struct {
	sasl.Mechanism
	unfinished atomic.Bool
}

// Start implements sasl.Mechanism.
func (l *login) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	sm, ir, err := l.Mechanism.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	l.unfinished.Store(true)
	return &loginSession{StateMachine: sm, l: l}, ir, nil
}

type loginSession struct {
	sasl.StateMachine
	l *login
}

// Next implements sasl.StateMachine.
func (s *loginSession) Next(ctx context.Context, challenge []byte) (bool, []byte, error) {
	done, resp, err := s.StateMachine.Next(ctx, challenge)
	if done && err == nil {
		s.l.unfinished.Store(false)
	}
	return done, resp, err
}

// newConn builds the transport and writers for cfg, reading the TLS files.
// fixedTopic restricts the cached metadata to cfg.Topic.
func newConn(cfg Config, tune tuning, batch int, fixedTopic bool, log *zap.Logger) (*conn, error) {
	tlsConfig, err := tlsConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	cfg.TLS.WarnIfInsecure(log)
	mech, err := saslMechanism(cfg.SASL)
	if err != nil {
		return nil, err
	}
	codec, err := compression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	acks, err := requiredAcks(cfg.Acks)
	if err != nil {
		return nil, err
	}
	t := &kafkago.Transport{
		DialTimeout: cfg.Timeout.D(),
		MetadataTTL: tune.metadataTTL,
		ClientID:    cfg.ClientID,
		TLS:         tlsConfig,
	}
	var lg *login
	if mech != nil {
		lg = &login{Mechanism: mech}
		t.SASL = lg
	}
	if fixedTopic {
		t.MetadataTopics = []string{cfg.Topic}
	}
	debug := kafkago.LoggerFunc(func(msg string, args ...any) {
		if ce := log.Check(zap.DebugLevel, "kafka-go"); ce != nil {
			ce.Write(zap.String("detail", fmt.Sprintf(msg, args...)))
		}
	})
	c := &conn{addr: kafkago.TCP(cfg.Brokers...), transport: t, tune: tune, autoCreate: cfg.AllowAutoCreateTopics, login: lg}
	newWriter := func(batchSize int) *kafkago.Writer {
		return &kafkago.Writer{
			Addr: c.addr,
			// Murmur2 is the Java client's partitioner: a key lands in
			// the partition other producers would choose for it.
			Balancer:               &kafkago.Murmur2Balancer{},
			MaxAttempts:            tune.attempts,
			WriteBackoffMin:        tune.backoffMin,
			WriteBackoffMax:        tune.backoffMax,
			BatchSize:              batchSize,
			BatchBytes:             int64(cfg.MaxMessageBytes - batchFraming),
			BatchTimeout:           tune.batchTimeout,
			ReadTimeout:            cfg.Timeout.D(),
			WriteTimeout:           cfg.Timeout.D(),
			RequiredAcks:           acks,
			Compression:            codec,
			ErrorLogger:            debug,
			Transport:              &metadataMemo{t: t, memo: make(map[string]memoEntry)},
			AllowAutoTopicCreation: cfg.AllowAutoCreateTopics,
		}
	}
	c.writer = newWriter(batch)
	c.single = newWriter(1)
	return c, nil
}

// close flushes both writers and closes the connections.
func (c *conn) close() error {
	err := errors.Join(c.writer.Close(), c.single.Close())
	c.transport.CloseIdleConnections()
	return err
}

// checkTopic returns the number of partitions of topic, or an error that
// says why it cannot be written to. With allow_auto_create_topics, the
// brokers are asked to create it.
func (c *conn) checkTopic(ctx context.Context, topic string) (int, error) {
	r, err := c.transport.RoundTrip(ctx, c.addr, &metadataAPI.Request{
		TopicNames:             []string{topic},
		AllowAutoTopicCreation: c.autoCreate,
	})
	if err != nil {
		return 0, err
	}
	for _, t := range r.(*metadataAPI.Response).Topics {
		if t.Name != topic {
			continue
		}
		switch code := kafkago.Error(t.ErrorCode); {
		case code == 0:
			return len(t.Partitions), nil
		case errors.Is(code, kafkago.UnknownTopicOrPartition):
			return 0, unknownTopic(topic, c.autoCreate)
		case errors.Is(code, kafkago.TopicAuthorizationFailed):
			return 0, fmt.Errorf("kafka: not authorized to access topic %q: %w", topic, code)
		default:
			return 0, fmt.Errorf("kafka: topic %q: %w", topic, code)
		}
	}
	return 0, unknownTopic(topic, c.autoCreate)
}

// errUnknownTopic marks the error of a topic that does not exist.
var errUnknownTopic = errors.New("topic does not exist")

func unknownTopic(topic string, autoCreate bool) error {
	if autoCreate {
		return fmt.Errorf("kafka: %w: %q, and the brokers did not create it (auto.create.topics.enable is false?)", errUnknownTopic, topic)
	}
	return fmt.Errorf("kafka: %w: %q (create it, or set allow_auto_create_topics: true)", errUnknownTopic, topic)
}

// tlsConfig returns the TLS configuration of t, or nil when TLS is off.
func tlsConfig(t TLSConfig) (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	c, err := t.Client("")
	if err != nil {
		return nil, fmt.Errorf("kafka %w", err)
	}
	return c, nil
}

// saslMechanism returns the SASL mechanism of a, or nil without one.
func saslMechanism(a SASLConfig) (sasl.Mechanism, error) {
	switch strings.ToUpper(a.Mechanism) {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Mechanism{Username: a.Username, Password: a.Password.Reveal()}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if strings.HasSuffix(a.Mechanism, "512") {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, a.Username, a.Password.Reveal())
		if err != nil {
			// The error may quote the credentials (SASLprep): leave it out.
			return nil, fmt.Errorf("sasl: username or password not usable with %s", algo.Name())
		}
		return m, nil
	default:
		return nil, fmt.Errorf("sasl.mechanism %q: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", a.Mechanism)
	}
}

// compression returns kafka-go's codec for a compression name.
func compression(name string) (kafkago.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafkago.Gzip, nil
	case "snappy":
		return kafkago.Snappy, nil
	case "lz4":
		return kafkago.Lz4, nil
	case "zstd":
		return kafkago.Zstd, nil
	default:
		return 0, fmt.Errorf("compression %q: must be none, gzip, snappy, lz4 or zstd", name)
	}
}

// requiredAcks returns kafka-go's acks for an acks name; the default is
// all (kafka-go's own default is none).
func requiredAcks(name string) (kafkago.RequiredAcks, error) {
	switch strings.ToLower(name) {
	case "", "all", "-1":
		return kafkago.RequireAll, nil
	case "leader", "1":
		return kafkago.RequireOne, nil
	case "none", "0":
		return kafkago.RequireNone, nil
	default:
		return 0, fmt.Errorf("acks %q: must be all, leader or none", name)
	}
}

// memoTTL is how long metadataMemo reuses an answer.
const memoTTL = time.Second

// metadataMemo is the writers' transport. kafka-go's Writer looks up the
// partition count of a message's topic once per message, through the
// transport's cache but at the cost of a copy of the cached answer: about a
// fifth of the CPU of a Write. The memo answers these look-ups from the
// transport's last answer for up to memoTTL (only successful answers; a
// topic's partition count seldom changes, and leaders are not taken from
// here). Every other request goes to the transport.
type metadataMemo struct {
	t    *kafkago.Transport
	mu   sync.RWMutex
	memo map[string]memoEntry
}

type memoEntry struct {
	res *metadataAPI.Response
	at  time.Time
}

// RoundTrip implements kafkago.RoundTripper.
func (m *metadataMemo) RoundTrip(ctx context.Context, addr net.Addr, req kafkago.Request) (kafkago.Response, error) {
	mr, ok := req.(*metadataAPI.Request)
	if !ok || len(mr.TopicNames) != 1 {
		return m.t.RoundTrip(ctx, addr, req)
	}
	topic := mr.TopicNames[0]
	now := time.Now()
	m.mu.RLock()
	e, hit := m.memo[topic]
	m.mu.RUnlock()
	if hit && now.Sub(e.at) < memoTTL {
		return e.res, nil
	}
	r, err := m.t.RoundTrip(ctx, addr, req)
	if err != nil {
		return r, err
	}
	res, ok := r.(*metadataAPI.Response)
	if !ok || len(res.Topics) != 1 || res.Topics[0].Name != topic || res.Topics[0].ErrorCode != 0 {
		return r, nil
	}
	m.mu.Lock()
	if len(m.memo) >= maxInterned {
		clear(m.memo)
	}
	m.memo[topic] = memoEntry{res: res, at: now}
	m.mu.Unlock()
	return r, nil
}
