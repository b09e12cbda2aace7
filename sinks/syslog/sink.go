// Package syslog is logship's syslog sink: one RFC 5424 message per event,
// over TCP with octet-counting framing (RFC 6587), over TLS (RFC 5425) or
// over UDP (RFC 5426).
//
// A Write sends a whole batch on one connection. When anything fails
// (connect, TLS handshake, a write), the connection is closed and Write
// returns a retryable error: the pipeline retries with backoff, and the
// next Write sends the whole batch again on a new connection. See README.md
// for what TCP syslog can and cannot promise.
package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

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
	// Name identifies the sink in logs (default "syslog").
	Name string
	// Logger receives state changes (connected, reconnecting, truncated
	// messages); nil logs nothing.
	Logger *zap.Logger
	// Truncated, if set, counts the messages cut to max_message_bytes.
	Truncated prometheus.Counter
}

// tuning holds settings that are not configuration keys; tests change them.
type tuning struct {
	// sendBuffer, when > 0, sets the socket's send buffer (SO_SNDBUF).
	sendBuffer int
	// truncLogEvery bounds how often truncations are logged.
	truncLogEvery time.Duration
}

// Sink writes events to a syslog receiver. Its methods are safe for
// concurrent use; concurrent Writes are serialised on the one connection.
type Sink struct {
	cfg  Config
	name string
	log  *zap.Logger
	fmt  *formatter
	tune tuning

	truncMetric prometheus.Counter
	truncated   atomic.Uint64

	mu        sync.Mutex
	tlsConf   *tls.Config
	started   bool
	conn      net.Conn
	buf       []byte
	lf        lineFields
	truncLast time.Time // when truncations were last logged
	truncSeen uint64    // truncations logged so far
	closed    bool
}

// New returns a sink for cfg, which must be valid (Validate). It does no
// I/O: TLS files are read by Start, connections opened by Write.
func New(cfg *Config, opts Options) (*Sink, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, ps
	}
	s := &Sink{
		cfg:         *cfg,
		name:        opts.Name,
		log:         opts.Logger,
		truncMetric: opts.Truncated,
		tune:        tuning{truncLogEvery: time.Minute},
	}
	if s.name == "" {
		s.name = "syslog"
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	host := cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	s.fmt = newFormatter(cfg, host)
	cfg.TLS.WarnIfInsecure(s.log)
	return s, nil
}

// Start reads the TLS files (protocol tls). It does not connect: a
// receiver that is down at start is retried by the first Writes.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked()
}

func (s *Sink) startLocked() error {
	if s.started {
		return nil
	}
	if s.cfg.Protocol == ProtocolTLS {
		host, _, _ := net.SplitHostPort(s.cfg.Address)
		tc, err := s.cfg.TLS.Client(host)
		if err != nil {
			return err
		}
		s.tlsConf = tc
	}
	s.started = true
	return nil
}

// Truncated returns how many messages were cut to max_message_bytes.
func (s *Sink) Truncated() uint64 { return s.truncated.Load() }

// Write sends one message per event and returns nil once the whole batch
// was handed to the connection (TCP, TLS) or sent as datagrams (UDP). On a
// failure it closes the connection and returns a retryable error; the
// pipeline writes the whole batch again, on a new connection.
func (s *Sink) Write(ctx context.Context, b *event.Batch) error {
	if b == nil || len(b.Events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("syslog sink closed")
	}
	if err := s.startLocked(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout.D())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if s.conn != nil && s.cfg.Protocol != ProtocolUDP && !alive(s.conn) {
		s.log.Info("syslog receiver closed the connection; reconnecting")
		s.dropConn()
	}
	if s.conn == nil {
		if err := s.dial(ctx, deadline); err != nil {
			return err
		}
	}
	conn := s.conn
	_ = conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()

	var err error
	if s.cfg.Protocol == ProtocolUDP {
		err = s.writeDatagrams(b.Events)
	} else {
		err = s.writeStream(b.Events)
	}
	if err != nil {
		s.dropConn()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("syslog %s %s: %w", s.cfg.Protocol, s.cfg.Address, err)
	}
	return nil
}

// writeStream frames every event with its length (RFC 6587 octet
// counting) and writes the batch in one go.
func (s *Sink) writeStream(evs []event.Event) error {
	buf := s.buf[:0]
	var frame []byte
	cut := 0
	for i := range evs {
		var c bool
		frame, c = s.fmt.format(frame[:0], &evs[i], &s.lf)
		if c {
			cut++
		}
		buf = strconv.AppendInt(buf, int64(len(frame)), 10)
		buf = append(buf, ' ')
		buf = append(buf, frame...)
	}
	s.countTruncated(cut)
	s.keep(buf)
	_, err := s.conn.Write(buf)
	return err
}

// writeDatagrams sends one datagram per event.
func (s *Sink) writeDatagrams(evs []event.Event) error {
	buf := s.buf[:0]
	cut := 0
	defer func() { s.countTruncated(cut); s.keep(buf) }()
	for i := range evs {
		var c bool
		buf, c = s.fmt.format(buf[:0], &evs[i], &s.lf)
		if c {
			cut++
		}
		if _, err := s.conn.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// keep retains buf for the next Write unless it grew very large.
func (s *Sink) keep(buf []byte) {
	if cap(buf) <= 8<<20 {
		s.buf = buf
	} else {
		s.buf = nil
	}
}

// countTruncated counts n cut messages and logs them, at most once per
// truncLogEvery.
func (s *Sink) countTruncated(n int) {
	if n == 0 {
		return
	}
	total := s.truncated.Add(uint64(n))
	if s.truncMetric != nil {
		s.truncMetric.Add(float64(n))
	}
	if now := time.Now(); s.truncSeen == 0 || now.Sub(s.truncLast) >= s.tune.truncLogEvery {
		s.log.Warn("messages longer than max_message_bytes were truncated",
			zap.Uint64("since_last_log", total-s.truncSeen), zap.Uint64("total", total),
			zap.Int("max_message_bytes", s.fmt.max))
		s.truncLast, s.truncSeen = now, total
	}
}

// dial opens the connection.
func (s *Sink) dial(ctx context.Context, deadline time.Time) error {
	d := net.Dialer{Deadline: deadline}
	network := "tcp"
	if s.cfg.Protocol == ProtocolUDP {
		network = "udp"
	}
	conn, err := d.DialContext(ctx, network, s.cfg.Address)
	if err != nil {
		return fmt.Errorf("syslog %s: connect %s: %w", s.cfg.Protocol, s.cfg.Address, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok && s.tune.sendBuffer > 0 {
		_ = tc.SetWriteBuffer(s.tune.sendBuffer)
	}
	if s.cfg.Protocol == ProtocolTLS {
		tlsConn := tls.Client(conn, s.tlsConf)
		hctx, cancel := context.WithDeadline(ctx, deadline)
		err := tlsConn.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("syslog tls: handshake with %s: %w", s.cfg.Address, err)
		}
		conn = tlsConn
	}
	s.conn = conn
	s.log.Info("connected to the syslog receiver",
		zap.String("protocol", s.cfg.Protocol), zap.String("address", s.cfg.Address))
	return nil
}

func (s *Sink) dropConn() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// Close closes the connection. Write must not be called after Close.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
