package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/logship/logship/event"
)

// Header names of the messages (config key `headers`).
const (
	HeaderID            = "id"
	HeaderApplicationID = "applicationId"
	HeaderSource        = "source"
)

// scratch is the memory of one Write: the messages and the bytes they point
// to. A scratch goes back to the pool only when kafka-go is done with it.
type scratch struct {
	msgs    []kafkago.Message
	index   []int // msgs[k] is the batch's event index[k]
	headers []kafkago.Header
	// arena holds copies of the events' bytes (values, keys, header
	// values), so that the caller may reuse its batch once Write returns,
	// even while kafka-go still sends an abandoned Write's messages.
	arena  []byte
	fields *event.FieldReader // the template fields of the current event
	buf    []byte             // template rendering
	// topics interns rendered topic names across Writes.
	topics map[string]string
	// resolved maps a topic to the topic its events go to in this Write
	// (itself, or the fallback when it does not exist).
	resolved map[string]string
}

const (
	maxPooledArena = 64 << 20
	maxInterned    = 4096
)

func (s *Sink) getScratch() *scratch {
	if sc, ok := s.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{
		fields:   event.NewFieldReader(s.fields),
		topics:   make(map[string]string),
		resolved: make(map[string]string),
	}
}

// putScratch returns sc to the pool when reuse is true: kafka-go no longer
// reads its bytes.
func (s *Sink) putScratch(sc *scratch, reuse bool) {
	if !reuse || cap(sc.arena) > maxPooledArena {
		return
	}
	clear(sc.msgs) // drop references to topics and header slices
	clear(sc.fields.Values)
	clear(sc.resolved)
	if len(sc.topics) > maxInterned {
		clear(sc.topics)
	}
	s.scratch.Put(sc)
}

// keep copies b into the arena and returns the copy.
func (sc *scratch) keep(b []byte) []byte {
	start := len(sc.arena)
	sc.arena = append(sc.arena, b...)
	return sc.arena[start:len(sc.arena):len(sc.arena)]
}

// keepString copies s into the arena and returns the copy.
func (sc *scratch) keepString(s string) []byte {
	start := len(sc.arena)
	sc.arena = append(sc.arena, s...)
	return sc.arena[start:len(sc.arena):len(sc.arena)]
}

// recordSize bounds what kafka-go counts for m (its totalSize) and what m
// takes in a record batch: key, value, headers and their varint lengths.
func recordSize(m *kafkago.Message) int {
	n := len(m.Key) + len(m.Value) + 32
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 10
	}
	return n
}

// build fills sc with one message per event of b, and rejects the events
// too large to send. An error (metadata) concerns the whole batch.
func (s *Sink) build(ctx context.Context, c *conn, sc *scratch, b *event.Batch) (result, error) {
	res := result{total: b.Len()}
	n := b.Len()
	sc.msgs = sc.msgs[:0]
	sc.index = sc.index[:0]
	sc.headers = sc.headers[:0]
	need := b.Bytes
	for i := range b.Events {
		e := &b.Events[i]
		need += 2*len(e.AppID) + len(e.ID) + len(e.Source)
	}
	if cap(sc.arena) < need {
		sc.arena = make([]byte, 0, need+need/4)
	}
	sc.arena = sc.arena[:0]
	if cap(sc.headers) < 3*n {
		sc.headers = make([]kafkago.Header, 0, 3*n)
	}

	for i := range b.Events {
		e := &b.Events[i]
		if len(s.fields) > 0 {
			_ = sc.fields.Read(e.Raw) // a malformed event renders the fallbacks
		}
		topic, err := s.topicFor(ctx, c, sc)
		if err != nil {
			return res, err
		}
		m := kafkago.Message{Topic: topic, Value: sc.keep(e.Raw), Key: s.keyFor(sc, e)}
		if s.eventTime && e.Date != 0 {
			m.Time = time.Unix(0, e.Date)
		}
		if s.headers {
			h := len(sc.headers)
			sc.header(HeaderID, e.ID)
			sc.header(HeaderApplicationID, e.AppID)
			sc.header(HeaderSource, e.Source)
			m.Headers = sc.headers[h:len(sc.headers):len(sc.headers)]
		}
		if size := recordSize(&m); size > s.maxRecord {
			res.reject(i, fmt.Sprintf("kafka: message of %d bytes (value, key and headers) exceeds max_message_bytes %d less %d bytes of framing",
				size, s.cfg.MaxMessageBytes, batchFraming))
			continue
		}
		sc.msgs = append(sc.msgs, m)
		sc.index = append(sc.index, i)
	}
	return res, nil
}

// header appends a header when value is not empty.
func (sc *scratch) header(key, value string) {
	if value != "" {
		sc.headers = append(sc.headers, kafkago.Header{Key: key, Value: sc.keepString(value)})
	}
}

// keyFor returns the message key of e (a copy in the arena), or nil.
func (s *Sink) keyFor(sc *scratch, e *event.Event) []byte {
	var k string
	switch s.cfg.Key {
	case KeyNone:
		return nil
	case KeySource:
		k = e.Source
	case KeyID:
		k = e.ID
	case "", KeyApplicationID:
		k = e.AppID
	default:
		buf, ok := s.keyTmpl.render(sc.buf[:0], sc.fields.Values)
		sc.buf = buf
		if ok {
			return sc.keep(buf)
		}
		k = e.AppID
	}
	if k == "" {
		return nil
	}
	return sc.keepString(k)
}

// topicFor returns the topic of the event whose fields are in sc.fields.Values.
func (s *Sink) topicFor(ctx context.Context, c *conn, sc *scratch) (string, error) {
	topic := s.cfg.Topic
	if s.topicTmpl != nil {
		buf, ok := s.topicTmpl.render(sc.buf[:0], sc.fields.Values)
		sc.buf = buf
		if ok && validTopic(buf) {
			t, found := sc.topics[string(buf)]
			if !found {
				t = string(buf)
				sc.topics[t] = t
			}
			topic = t
		}
	}
	if r, ok := sc.resolved[topic]; ok {
		return r, nil
	}
	r, err := s.resolve(ctx, c, topic)
	if err != nil {
		return "", err
	}
	sc.resolved[topic] = r
	return r, nil
}

// resolve checks that topic exists, from kafka-go's cached metadata (with
// allow_auto_create_topics, a topic missing from it is asked for, which
// creates it). A templated topic that does not exist falls back to the
// configured topic (logged once).
func (s *Sink) resolve(ctx context.Context, c *conn, topic string) (string, error) {
	_, err := c.checkTopic(ctx, topic)
	switch {
	case err == nil:
		return topic, nil
	case errors.Is(err, errUnknownTopic) && topic != s.cfg.Topic:
		s.warnOnce(topic, "kafka topic does not exist: its events go to the fallback topic",
			zap.String("fallback", s.cfg.Topic))
		return s.resolve(ctx, c, s.cfg.Topic)
	default:
		return "", s.describe(err)
	}
}

// validTopic is CheckTopic for bytes, without allocating.
func validTopic(t []byte) bool {
	if len(t) == 0 || len(t) > 249 || string(t) == "." || string(t) == ".." {
		return false
	}
	for _, c := range t {
		if !IsTopicChar(c) {
			return false
		}
	}
	return true
}

// sortErrors classifies the per-message errors of a Write into res. The
// messages that the brokers refused as too large are sent again one by one:
// a batch of small messages is refused whole when it exceeds the topic's
// max.message.bytes, and only the messages too large alone are refused for
// good.
func (s *Sink) sortErrors(ctx context.Context, c *conn, sc *scratch, we kafkago.WriteErrors, res *result) {
	var large []int
	for k, err := range we {
		if err == nil {
			continue
		}
		i := sc.index[k]
		switch classify(err) {
		case retryIt:
			res.again(i, sc.msgs[k].Topic, err)
		case rejectIt:
			res.reject(i, "kafka refused the message: "+err.Error())
		case tooLarge:
			large = append(large, k)
		}
	}
	if len(large) > 0 {
		s.isolate(ctx, c, sc, large, res)
	}
}

// isolate sends the messages sc.msgs[k], k in large, one per request.
func (s *Sink) isolate(ctx context.Context, c *conn, sc *scratch, large []int, res *result) {
	topic := sc.msgs[large[0]].Topic
	s.warnOnce("\x00too-large:"+topic, "kafka refused a batch as too large: set max_message_bytes to the topic's max.message.bytes; until then, refused batches are resent one message at a time",
		zap.Int("max_message_bytes", s.cfg.MaxMessageBytes.Int()))
	msgs := make([]kafkago.Message, len(large))
	for j, k := range large {
		msgs[j] = sc.msgs[k]
	}
	err := c.single.WriteMessages(ctx, msgs...)
	var we kafkago.WriteErrors
	switch {
	case err == nil:
	case errors.As(err, &we) && len(we) == len(msgs):
		for j, e := range we {
			if e == nil {
				continue
			}
			i := sc.index[large[j]]
			switch classify(e) {
			case retryIt:
				res.again(i, msgs[j].Topic, e)
			default:
				res.reject(i, fmt.Sprintf("kafka refused the message (%d bytes with key and headers): %v", recordSize(&msgs[j]), e))
			}
		}
	default:
		res.abandoned = true
		for _, k := range large {
			res.again(sc.index[k], sc.msgs[k].Topic, err)
		}
	}
}
