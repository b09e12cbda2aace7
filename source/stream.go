package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// attemptResult is how one connection ended.
type attemptResult struct {
	complete   bool   // END_OF_STREAM or limit reached: do not reconnect
	opened     bool   // a stream was accepted
	endedBy    string // END_OF_STREAM's reason
	lines      int    // APPLICATION_LOG frames read during this connection
	fresh      int    // of which new lines handed to the Output
	status     int    // HTTP status when not 200
	retryAfter time.Duration
	reason     string // why it ended, for logs and metrics
	err        error
}

// requestURL builds the logs URL for the current read position.
func (s *Source) requestURL() (string, bool) {
	q := url.Values{}
	since := s.since
	if pos := s.win.Cutoff(); pos != 0 {
		since = time.Unix(0, pos).UTC()
	}
	q.Set("since", since.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if !s.cfg.UntilTime.IsZero() {
		q.Set("until", s.cfg.UntilTime.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	}
	if s.cfg.DeploymentID != "" {
		q.Set("deploymentId", s.cfg.DeploymentID)
	}
	for _, id := range s.cfg.InstanceIDs {
		q.Add("instanceId", id)
	}
	// The pipeline's push-down (config.Source.PushFilter, PushFields)
	// applies only where the source sets nothing itself.
	filter := s.cfg.Filter
	if filter == "" {
		filter = s.cfg.PushFilter
	}
	if filter != "" {
		q.Set("filter", filter)
	}
	for _, f := range s.fields {
		q.Add("field", f)
	}
	for _, sv := range s.cfg.Services {
		q.Add("service", sv)
	}
	if s.cfg.Limit > 0 {
		left := s.cfg.Limit - s.emitted
		if left <= 0 {
			return "", false
		}
		// The server counts what it sends, replays included: a server
		// that ignores Last-Event-ID replays from since, at most the lines
		// the window holds (every delivered line dated from the cutoff on),
		// and logship drops those. So ask for that many more; the source
		// stops by itself once left new lines were emitted.
		q.Set("limit", strconv.Itoa(left+s.win.Len()))
	}
	if s.cfg.ThrottleElements > 0 {
		q.Set("throttleElements", strconv.Itoa(s.cfg.ThrottleElements))
	}
	if s.cfg.ThrottlePerMs > 0 {
		q.Set("throttlePerInMilliseconds", strconv.Itoa(s.cfg.ThrottlePerMs))
	}
	u := s.api + "/v4/logs/organisations/" + url.PathEscape(s.cfg.OwnerID) +
		"/applications/" + url.PathEscape(s.cfg.ApplicationID) + "/logs?" + q.Encode()
	return u, true
}

// RequestFields returns the `field` parameters a source of cfg sends:
// cfg.Fields, else the pipeline's push-down (cfg.PushFields); none means
// every field. A non-empty list always holds id and date, first: without
// them the server omits them, and a line without an id or a date cannot be
// resumed after or deduplicated (it would be skipped as malformed). added
// lists the ones logship put in front of cfg.Fields (nil when none).
func RequestFields(cfg config.Source) (fields, added []string) {
	asked := cfg.Fields
	if len(asked) == 0 {
		asked = cfg.PushFields
	}
	if len(asked) == 0 {
		return nil, nil
	}
	fields = make([]string, 0, len(asked)+2)
	for _, need := range []string{"id", "date"} {
		fields = append(fields, need)
		if len(cfg.Fields) > 0 && !slices.Contains(cfg.Fields, need) {
			added = append(added, need)
		}
	}
	for _, f := range asked {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	return fields, added
}

// FieldsNote says what RequestFields added to cfg.Fields, for `validate`
// and the start-up log ("id and date added (…)"); "" when nothing.
func FieldsNote(cfg config.Source) string {
	_, added := RequestFields(cfg)
	if len(added) == 0 {
		return ""
	}
	return strings.Join(added, " and ") + " added (logship resumes after and deduplicates by them; sinks receive them)"
}

// attempt opens one connection and reads it until it ends.
func (s *Source) attempt(ctx context.Context) attemptResult {
	u, ok := s.requestURL()
	if !ok {
		return attemptResult{complete: true, endedBy: "LIMIT_REACHED"}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return attemptResult{reason: "request", err: err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if s.opts.UserAgent != "" {
		req.Header.Set("User-Agent", s.opts.UserAgent)
	}
	if pos := s.win.Position(); pos.LastID != "" {
		req.Header.Set("Last-Event-ID", pos.LastID)
	}
	if s.opts.Auth != nil {
		s.opts.Auth.Authorize(req)
	}

	// The watchdog guards the connection too: a server that accepts and
	// then never answers is as dead as a silent stream.
	wd := newWatchdog(s.cfg.HeartbeatTimeout.D(), func() { cancel(errSilent) })
	defer wd.stop()
	wd.arm()
	resp, err := s.opts.Client.Do(req)
	wd.disarm()
	if err != nil {
		return attemptResult{reason: reasonOf(ctx, "connect"), err: redactURL(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s.refused(resp)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "text/event-stream" {
		return attemptResult{reason: "content_type", err: fmt.Errorf("unexpected content type %q (Sozu-Id %s)", resp.Header.Get("Content-Type"), resp.Header.Get("Sozu-Id"))}
	}
	down := time.Duration(0)
	if since := s.downSince.Swap(0); since != 0 {
		down = s.opts.Now().Sub(time.Unix(0, since))
	}
	switch sozu := zap.String("sozu_id", resp.Header.Get("Sozu-Id")); {
	case !s.connected:
		s.log.Info("stream open", sozu)
	case s.failed > 0: // recovery after an outage
		s.log.Info("stream open again after an outage", sozu, zap.Duration("down_for", down), zap.Int("failed_attempts", s.failed))
	default:
		s.log.Debug("stream open", sozu)
	}
	s.failed = 0
	s.connected = true
	s.ready.Store(true)
	s.m.Connected.WithLabelValues(s.cfg.Name).Set(1)
	defer s.m.Connected.WithLabelValues(s.cfg.Name).Set(0)

	res := attemptResult{reason: "closed", opened: true}
	// The frame reader reads through the transport (its 4 KiB buffer, and
	// adaptiveConn's 64 KiB reads while the stream is busy, see
	// defaultClient) into a small buffer of its own, held by every stream:
	// a frame's data is handed out as a slice of it.
	frameLimit := max(4*s.cfg.MaxEventBytes.Int(), 16<<20)
	fr := newFrameReader(&watchedReader{r: resp.Body, wd: wd}, frameLimit)
	for {
		ev, err := fr.next()
		if err != nil {
			if err != io.EOF {
				res.reason, res.err = reasonOf(ctx, "read"), err
			}
			break
		}
		if ev.Oversize {
			// Not even dead-lettered: its data was not kept. Skipped,
			// counted and logged (at a bounded rate); the stream goes on.
			s.malformed(KindFrameTooLarge, "a "+string(ev.Type)+" frame over "+strconv.Itoa(frameLimit)+
				" bytes (4 x max_event_bytes, at least 16 MiB), id "+strconv.Quote(string(ev.ID)))
			continue
		}
		switch string(ev.Type) {
		case "APPLICATION_LOG":
			fresh, err := s.handleLog(ctx, ev.Data, ev.ID)
			if err != nil {
				res.reason, res.err = "stopping", err
				return res
			}
			res.lines++
			if fresh {
				res.fresh++
			}
			if s.cfg.Limit > 0 && s.emitted >= s.cfg.Limit {
				res.complete, res.endedBy = true, "LIMIT_REACHED"
				return res
			}
		case "HEARTBEAT":
		case "END_OF_STREAM":
			var end struct {
				EndedBy string `json:"endedBy"`
			}
			_ = json.Unmarshal(ev.Data, &end)
			res.complete, res.endedBy = true, end.EndedBy
			if end.EndedBy == "LIMIT_REACHED" && s.cfg.Limit > 0 && s.emitted < s.cfg.Limit && res.fresh > 0 {
				// The server's count held lines logship did not deliver
				// (replays beyond the window, malformed frames): ask for
				// the rest. A connection that brought nothing new ends it.
				res.complete, res.reason = false, "limit_short"
			}
			return res
		default:
			s.malformed(KindUnknownEvent, string(ev.Type))
		}
	}
	if ctx.Err() != nil {
		res.reason = reasonOf(ctx, "read")
	}
	return res
}

// handleLog decodes, dedupes and hands over one APPLICATION_LOG; fresh
// reports a new line (handed over, not a replay or a malformed frame).
func (s *Source) handleLog(ctx context.Context, data, frameID []byte) (fresh bool, err error) {
	s.received.Inc()
	s.receivedBytes.Add(float64(len(data)))
	e, err := decodeLog(data, frameID)
	if err != nil {
		var de *decodeError
		if errors.As(err, &de) {
			s.malformed(de.kind, "")
			return false, nil
		}
		return false, err
	}
	if s.win.Seen(e.ID) {
		s.replayed.Inc()
		return false, nil
	}
	if s.win.Ahead(e.Date) {
		if n, ok := s.malformedLog.allow("date_ahead"); ok {
			s.log.Warn("line dated ahead of this host's clock (an instance's clock is skewed, or this host's): delivered, but it does not move the resume position",
				zap.String("id", e.ID), zap.Duration("ahead", time.Duration(e.Date-s.opts.Now().UnixNano())), zap.Duration("tolerance", event.MaxAhead), zap.Int("suppressed", n))
		}
	}
	e.Source, e.AppID, e.SourceIndex = s.cfg.Name, s.cfg.ApplicationID, s.opts.SourceIndex
	if len(e.Raw) > s.cfg.MaxEventBytes.Int() {
		s.malformed(KindTooLarge, strconv.Itoa(len(e.Raw))+" bytes")
		e.Raw = s.arena.Copy(e.Raw)
		err = s.opts.Output.DeadLetter(ctx, e, fmt.Sprintf("event of %d bytes exceeds max_event_bytes %d", len(e.Raw), s.cfg.MaxEventBytes))
	} else {
		if !s.copier {
			e.Raw = s.arena.Copy(e.Raw) // data is the frame reader's
		}
		err = s.opts.Output.Submit(ctx, e)
	}
	if err != nil {
		// Not handed over (the connection's context ended, as when the
		// watchdog fires while a read returns data, or the pipeline is
		// closing): not seen either, so that the next connection reads
		// it again. Counting it as seen lost the line (the simulation's
		// silence_edge class).
		return false, err
	}
	s.win.Add(e.ID, e.Date)
	s.emitted++
	return true, nil
}

// malformed counts a skipped frame and logs it at a bounded rate.
func (s *Source) malformed(kind, detail string) {
	s.m.Malformed.WithLabelValues(s.cfg.Name, kind).Inc()
	if n, ok := s.malformedLog.allow(kind); ok {
		s.log.Warn("skipped malformed frame", zap.String("kind", kind), zap.String("detail", detail), zap.Int("suppressed", n))
	}
}

// refused reads a non-200 answer.
func (s *Source) refused(resp *http.Response) attemptResult {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var apiErr struct {
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &apiErr)
	res := attemptResult{status: resp.StatusCode, reason: "http_" + strconv.Itoa(resp.StatusCode)}
	sozu := resp.Header.Get("Sozu-Id")
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		res.err = &FatalError{Source: s.cfg.Name, Status: resp.StatusCode, APIError: apiErr.Error, SozuID: sozu}
		return res
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.opts.Now())
	}
	msg := apiErr.Error
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	res.err = fmt.Errorf("%d: %s (Sozu-Id %s)", resp.StatusCode, msg, sozu)
	return res
}

// parseRetryAfter reads delta-seconds or an HTTP date; 0 if absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

var errSilent = errors.New("stream silent")

// reasonOf names why ctx-bound I/O failed.
func reasonOf(ctx context.Context, fallback string) string {
	if errors.Is(context.Cause(ctx), errSilent) {
		return "silence"
	}
	if ctx.Err() != nil {
		return "stopping"
	}
	return fallback
}

// redactURL strips user information and the query string from url errors:
// the query holds no secret today, but a filter may hold things an operator
// would not log.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: SafeURL(ue.URL), Err: ue.Err}
	}
	return err
}

// SafeURL returns raw fit for a log line: without user information
// (user:password@), query or fragment. It is the only form in which
// logship logs a URL. A raw that does not parse gives "[unparsable url]".
func SafeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable url]"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The transport's own read buffer stays at its 4 KiB default (held
	// by every stream); adaptiveConn reads 64 KiB at a time while a
	// stream is busy (4 KiB made a read system call per few lines).
	tr.DialContext = adaptiveDial((&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: tr}
}

// watchdog calls fire when armed for longer than d.
type watchdog struct {
	d time.Duration
	t *time.Timer
}

func newWatchdog(d time.Duration, fire func()) *watchdog {
	t := time.AfterFunc(time.Hour, fire)
	t.Stop()
	return &watchdog{d: d, t: t}
}

func (w *watchdog) arm()    { w.t.Reset(w.d) }
func (w *watchdog) disarm() { w.t.Stop() }
func (w *watchdog) stop()   { w.t.Stop() }

// watchedReader arms the watchdog only while a Read waits on the network,
// so time spent blocked downstream (backpressure) is not silence.
type watchedReader struct {
	r  io.Reader
	wd *watchdog
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.wd.arm()
	n, err := w.r.Read(p)
	w.wd.disarm()
	return n, err
}

// logLimiter lets one log line per kind through per period and counts the
// ones it held back.
type logLimiter struct {
	mu     sync.Mutex
	period time.Duration
	last   map[string]time.Time
	held   map[string]int
}

func newLogLimiter(period time.Duration) *logLimiter {
	return &logLimiter{period: period, last: map[string]time.Time{}, held: map[string]int{}}
}

// allow reports whether to log kind now, and how many were held back since.
func (l *logLimiter) allow(kind string) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.last[kind]) < l.period {
		l.held[kind]++
		return 0, false
	}
	n := l.held[kind]
	l.last[kind], l.held[kind] = now, 0
	return n, true
}
