// Package httpsink delivers batches of events to an HTTP endpoint: a
// collector (NDJSON or a JSON array), Elasticsearch or OpenSearch (`_bulk`),
// or Loki (push API), optionally compressed with gzip or zstd.
//
// A Write makes one request and classifies its outcome for the pipeline,
// which does the retrying (see package event): a network error, 408, 429 or
// 5xx is retryable (with the receiver's Retry-After, if any); another status
// is permanent; a bulk answer with failed items is a *event.PartialError.
// Every attempt at a batch carries the same Idempotency-Key.
package httpsink

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logship/logship/event"
	"github.com/logship/logship/sinks"
)

// Options are what New needs besides the sink's config.
type Options struct {
	// Name identifies the sink in logs; it is also part of the idempotency
	// key. Default "http".
	Name string
	// Logger receives the sink's warnings (TLS verification off,
	// credentials over plain HTTP). Default: none.
	Logger *zap.Logger
	// InFlight is how many Writes may overlap (the sink's in_flight); it
	// sizes the pool of idle connections. Default 1.
	InFlight int
	// UserAgent is sent with every request. Default "logship".
	UserAgent string
	// Rejected, if set, counts the events that a receiver reported as
	// refused without saying which (an OTLP partial success): they cannot
	// be dead-lettered, so they are counted and logged.
	Rejected prometheus.Counter
}

const (
	// maxBulkAnswer bounds the bulk answer read into memory.
	maxBulkAnswer = 64 << 20
	// maxDrain is how much of another answer is read, so that the
	// connection can be reused.
	maxDrain = 64 << 10
	// maxPooled: buffers that grew larger are not kept for reuse.
	maxPooled = 64 << 20
)

// Sink sends batches to an HTTP endpoint. Its Write may be called
// concurrently (in_flight > 1).
type Sink struct {
	name      string
	log       *zap.Logger
	url       string
	safeURL   string // url without credentials or query, for errors
	method    string
	host      string // Host header override
	header    http.Header
	enc       encoder
	comp      compressor
	bulk      bool
	tls       sinks.TLSConfig
	https     bool
	transport *http.Transport
	client    *http.Client

	rejectedMetric prometheus.Counter

	startOnce sync.Once
	startErr  error
	bufs      sync.Pool // of *writeBuf
}

// writeBuf is the reusable memory of one Write.
type writeBuf struct {
	body, comp, answer []byte
	sc                 scratch
	// wireReady: comp already holds body compressed (chunked writes).
	wireReady bool
	// entries, ends and ok are a chunked Write's entries (see writeChunked).
	entries  []byte
	ends, ok []int
	chunk    []event.Event
}

// New builds a sink from its config, with defaults for unset values. It
// does no I/O: TLS files are read by Start (or the first Write).
func New(c *Config, opts Options) (*Sink, error) {
	cfg := *c
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("url: want an http or https URL")
	}
	s := &Sink{
		name:    opts.Name,
		log:     opts.Logger,
		url:     cfg.URL,
		safeURL: redactURL(u),
		method:  strings.ToUpper(cfg.Method),
		header:  make(http.Header),
		bulk:    cfg.Encoding == EncodingESBulk,
		tls:     cfg.TLS,
		https:   u.Scheme == "https",

		rejectedMetric: opts.Rejected,
	}
	if s.name == "" {
		s.name = "http"
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	switch s.method {
	case "":
		s.method = http.MethodPost
	case http.MethodPost, http.MethodPut:
	default:
		return nil, errors.New("method: want POST or PUT")
	}
	if s.enc, err = newEncoder(cfg, opts.UserAgent); err != nil {
		return nil, err
	}
	if s.comp, err = newCompressor(cfg.Compression); err != nil {
		return nil, fmt.Errorf("compression: %w", err)
	}
	if err := s.setHeaders(cfg, opts.UserAgent); err != nil {
		return nil, err
	}
	s.transport, s.client = newClient(cfg.Timeout.D(), opts.InFlight)
	fields := s.enc.fields()
	s.bufs.New = func() any { return &writeBuf{sc: scratch{scan: event.NewFieldReader(fields)}} }

	cfg.TLS.WarnIfInsecure(s.log.With(zap.String("url", s.safeURL)))
	if !s.https && (s.header.Get("Authorization") != "" || len(cfg.Headers) > 0 || u.User != nil) {
		s.log.Warn("credentials or headers are sent over plain http, unencrypted",
			zap.String("url", s.safeURL))
	}
	return s, nil
}

// setHeaders builds the headers sent with every request.
func (s *Sink) setHeaders(cfg Config, userAgent string) error {
	h := s.header
	if userAgent == "" {
		userAgent = "logship"
	}
	h.Set("User-Agent", userAgent)
	h.Set("Content-Type", s.enc.contentType())
	if s.comp != nil {
		h.Set("Content-Encoding", s.comp.encoding())
	}
	if cfg.Loki.TenantID != "" {
		h.Set("X-Scope-OrgID", cfg.Loki.TenantID)
	}
	switch cfg.Encoding {
	case EncodingDatadog:
		h.Set("DD-API-KEY", cfg.Datadog.APIKey.Reveal())
	case EncodingNewRelic:
		if cfg.NewRelic.LicenseKey != "" {
			h.Set("X-License-Key", cfg.NewRelic.LicenseKey.Reveal())
		}
		if cfg.NewRelic.APIKey != "" {
			h.Set("Api-Key", cfg.NewRelic.APIKey.Reveal())
		}
	}
	for name, v := range cfg.Headers {
		if strings.EqualFold(name, "Host") {
			s.host = v.Reveal()
			continue
		}
		h.Set(name, v.Reveal())
	}
	a := cfg.Auth
	strategy := a.Strategy
	if strategy == "" {
		switch {
		case a.Token != "":
			strategy = "bearer"
		case a.User != "":
			strategy = "basic"
		}
	}
	switch strategy {
	case "", "none":
	case "bearer":
		h.Set("Authorization", "Bearer "+a.Token.Reveal())
	case "basic":
		cred := a.User + ":" + a.Password.Reveal()
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	default:
		return errors.New("auth.strategy: want none, bearer or basic")
	}
	return nil
}

// newClient returns an HTTP client that takes its proxy from the
// environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), follows only the
// redirects that keep the body (307, 308) and bounds each request by
// timeout.
func newClient(timeout time.Duration, inFlight int) (*http.Transport, *http.Client) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.MaxIdleConnsPerHost = max(2*inFlight, 4)
	tr.ForceAttemptHTTP2 = true
	return tr, &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: checkRedirect,
	}
}

// checkRedirect follows 307 and 308, which resend the same method and body.
// Any other redirect would turn the POST into a GET without the batch, so
// its answer is returned as is and reported as a refusal.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if c := req.Response.StatusCode; c != http.StatusTemporaryRedirect && c != http.StatusPermanentRedirect {
		return http.ErrUseLastResponse
	}
	return nil
}

// Start reads the TLS files (CA bundle, client certificate). It does
// nothing for an http URL or when no TLS file is configured; it is also run
// by the first Write if the caller did not.
func (s *Sink) Start(context.Context) error {
	s.startOnce.Do(func() {
		if !s.https {
			return
		}
		tc, err := s.tls.Client("")
		if err != nil {
			s.startErr = err
			return
		}
		s.transport.TLSClientConfig = tc
	})
	return s.startErr
}

// Write sends the batch and returns nil once the receiver answered 2xx
// (and, for a bulk request, accepted every item). Otherwise the error is
// classified as package event documents: plain (retryable), with
// event.RetryAfter, event.Permanent, or *event.PartialError. Write does not
// retry and does not keep b.
//
// Most encodings send a batch in one request; datadog and newrelic split a
// batch that exceeds the receiver's limits into several (see chunked.go).
func (s *Sink) Write(ctx context.Context, b *event.Batch) error {
	if b == nil || len(b.Events) == 0 {
		return nil
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if ch, ok := s.enc.(chunker); ok {
		return s.writeChunked(ctx, b.Events, ch)
	}
	wb := s.bufs.Get().(*writeBuf)
	wb.body = s.enc.encode(wb.body[:0], b.Events, &wb.sc)
	return s.post(ctx, wb, b.Events)
}

// compressed returns the bytes to send for wb.body: compressed into
// wb.comp, or the body itself.
func (s *Sink) compressed(wb *writeBuf) ([]byte, error) {
	if s.comp == nil {
		return wb.body, nil
	}
	if wb.wireReady {
		return wb.comp, nil
	}
	var err error
	wb.comp, err = s.comp.compress(wb.comp[:0], wb.body)
	return wb.comp, err
}

// post sends wb.body (the encoding of evs) in one request and classifies
// the answer. It takes wb over: wb goes back to the pool once the request
// and every reader of its body are done.
func (s *Sink) post(ctx context.Context, wb *writeBuf, evs []event.Event) error {
	data, err := s.compressed(wb)
	if err != nil {
		s.bufs.Put(wb)
		return err
	}
	p := &payload{data: data, release: func() { s.putBuf(wb) }}
	p.refs.Store(1)
	defer p.drop()

	req, err := http.NewRequestWithContext(ctx, s.method, s.url, nil)
	if err != nil {
		return event.Permanent(fmt.Errorf("%s %s: %w", s.method, s.safeURL, err))
	}
	req.Header = s.header.Clone()
	req.Header.Set(IdempotencyHeader, IdempotencyKey(s.name, evs))
	if s.host != "" {
		req.Host = s.host
	}
	req.ContentLength = int64(len(data))
	req.Body = p.open()
	req.GetBody = func() (io.ReadCloser, error) { return p.open(), nil }

	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the full URL
		}
		return fmt.Errorf("%s %s: %w", s.method, s.safeURL, err)
	}
	defer resp.Body.Close()
	return s.answer(resp, wb, len(evs))
}

// answer classifies the receiver's answer.
func (s *Sink) answer(resp *http.Response, wb *writeBuf, n int) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		ar, reads := s.enc.(answerReader)
		if !s.bulk && !reads {
			_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
			return nil
		}
		var err error
		wb.answer, err = readAtMost(wb.answer[:0], resp.Body, maxBulkAnswer)
		if err == nil {
			if reads {
				err = ar.readAnswer(wb.answer, resp.Header.Get("Content-Type"), n, s.rejected)
			} else {
				err = bulkResult(wb.answer, n)
			}
		}
		var pe *event.PartialError
		if err != nil && !errors.As(err, &pe) && !event.IsPermanent(err) {
			return fmt.Errorf("%s %s: %w", s.method, s.safeURL, err)
		}
		return err
	}
	// A truncated or failed read still leaves the status to go by.
	wb.answer, _ = readAtMost(wb.answer[:0], resp.Body, maxDrain)
	body := wb.answer
	if ar, ok := s.enc.(answerReader); ok {
		body = ar.errorText(body, resp.Header.Get("Content-Type"))
	}
	serr := &StatusError{Method: s.method, URL: s.safeURL, Code: code, Body: snippet(body)}
	switch {
	case retryableStatus(code):
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return event.RetryAfter(serr, d)
		}
		return serr
	case code >= 300 && code < 400:
		serr.Body = "redirect not followed (only 307 and 308 keep the method and body)"
		return event.Permanent(serr)
	default:
		return event.Permanent(serr)
	}
}

// rejected reports events that the receiver refused without saying which.
func (s *Sink) rejected(n int, msg string) {
	if s.rejectedMetric != nil {
		s.rejectedMetric.Add(float64(n))
	}
	s.log.Warn("the receiver accepted a batch in part and rejected some records without saying which; they are counted, not dead-lettered",
		zap.Int("rejected", n), zap.String("reason", snippet([]byte(msg))))
}

// StatusError is an answer that was not 2xx.
type StatusError struct {
	Method, URL string // URL without credentials or query
	Code        int
	// Body is the start of the answer, on one line.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Close releases idle connections. Write must not be called after Close.
func (s *Sink) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

func (s *Sink) putBuf(wb *writeBuf) {
	wb.wireReady = false
	if cap(wb.body) > maxPooled || cap(wb.comp) > maxPooled || cap(wb.answer) > maxPooled || cap(wb.entries) > maxPooled {
		return
	}
	s.bufs.Put(wb)
}

// redactURL returns u without user info, query or fragment.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.RawQuery != ""
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	if q {
		return c.String() + "?…"
	}
	return c.String()
}

// readAtMost appends r's content to dst, failing past limit bytes.
func readAtMost(dst []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst, fmt.Errorf("answer larger than %d bytes", limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, fmt.Errorf("read answer: %w", err)
		}
	}
}
