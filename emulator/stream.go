package emulator

import (
	"bufio"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

const (
	chunkLines   = 512      // lines taken from the app per step
	minBufSize   = 64 << 10 // stream write buffer
	frameReserve = 2048     // room kept for one frame, plus the padding
)

// Reasons a stream ends: errStreamDone without END_OF_STREAM (closed emulator, client gone,
// clean drop), errStreamEnded after END_OF_STREAM, errAbort to abort the connection.
var (
	errStreamDone  = errors.New("stream done")
	errStreamEnded = errors.New("stream ended")
	errAbort       = errors.New("abort connection")
)

// handleLogs serves GET /v4/logs/organisations/{ownerId}/applications/{appId}/logs.
func (e *Emulator) handleLogs(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Code: "clever.core.method-not-allowed", Error: "Method not allowed."})
		e.record(r, w, at, AuthNone, http.StatusMethodNotAllowed)
		return
	}
	if s, ok := e.popStatus(); ok {
		e.statusesN.Add(1)
		if s.RetryAfter != "" {
			w.Header().Set("Retry-After", s.RetryAfter)
		}
		if s.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(s.Code)
			_, _ = w.Write([]byte(s.Body))
		} else {
			writeJSON(w, s.Code, statusBody(s.Code))
		}
		e.record(r, w, at, AuthNone, s.Code)
		return
	}
	scheme, ok := e.checkAuth(r)
	status := http.StatusOK
	a := e.app(r.PathValue("appId"))
	ownerID := r.PathValue("ownerId")
	switch {
	case !ok:
		status = http.StatusUnauthorized
		writeJSON(w, status, unauthorizedBody)
	case a == nil || a.cfg.OwnerID != ownerID ||
		(a.cfg.NotFoundUntilLogged && a.published(at) == 0):
		status = http.StatusNotFound
		writeJSON(w, status, notFoundBody("Partitioned Topic not found: persistent://"+ownerID+"/logs/"+r.PathValue("appId")))
	case a.cfg.Forbidden:
		status = http.StatusForbidden
		writeJSON(w, status, forbiddenBody)
	}
	if status != http.StatusOK {
		e.record(r, w, at, scheme, status)
		return
	}
	q, bad := parseQuery(r.URL.Query(), r.Header)
	if bad != nil {
		writeJSON(w, http.StatusBadRequest, badRequestBody(bad))
		e.record(r, w, at, scheme, http.StatusBadRequest)
		return
	}
	e.record(r, w, at, scheme, http.StatusOK)
	e.connections.Add(1)
	e.active.Add(1)
	defer e.active.Add(-1)
	s := e.newStreamer(w, r, a, q, at)
	err := s.run(r.Context())
	if errors.Is(err, errAbort) {
		panic(http.ErrAbortHandler) // drop the connection mid-stream
	}
}

// streamer writes one logs stream.
type streamer struct {
	e     *Emulator
	a     *appState
	q     *streamQuery
	rc    *http.ResponseController
	w     http.ResponseWriter
	bw    *bufio.Writer
	fr    *frameBytes
	df    dateFormatter
	timer *time.Timer

	fast     bool // full JSON on one data line
	reserve  int
	instOK   [maxInstances]bool
	svcOK    []bool
	msgBuf   []byte
	pos      int64
	endMs    int64 // a line dated at or after this ends an until stream
	sent     int64 // lines sent on this stream
	drop     int64 // drop after this many lines; 0: never
	clean    bool
	faults   *faultState
	mi       int
	nextAt   int64
	nextHB   time.Time
	winCount int64
	winEnd   time.Time
}

func (e *Emulator) newStreamer(w http.ResponseWriter, r *http.Request, a *appState, q *streamQuery, at time.Time) *streamer {
	st := *e.style.Load()
	s := &streamer{
		e: e, a: a, q: q, w: w,
		rc:      http.NewResponseController(w),
		fr:      newFrameBytes(st),
		fast:    q.mask == allFields && !st.SplitData,
		reserve: frameReserve + a.cfg.MessageBytes,
		endMs:   math.MaxInt64,
	}
	s.bw = bufio.NewWriterSize(w, max(minBufSize, 2*s.reserve))
	for i, in := range a.instances {
		s.instOK[i] = (q.deploymentID == "" || q.deploymentID == in.deploymentID) &&
			(len(q.instanceIDs) == 0 || slices.Contains(q.instanceIDs, in.id))
	}
	for _, svc := range services {
		s.svcOK = append(s.svcOK, serviceMatch(q.services, svc.name))
	}
	if q.hasUntil {
		s.endMs = q.untilMs + a.disorderMs
		if s.endMs < q.untilMs { // overflow
			s.endMs = math.MaxInt64
		}
	}
	// Start: from since (position 0), else from now; Last-Event-ID resumes after its line.
	if !q.hasSince {
		s.pos = a.published(at)
	}
	if q.lastEventID != "" && !e.ignoreLEID.Load() {
		if p, ok := linePos(q.lastEventID, a.key, a.published(at)); ok {
			s.pos = p + 1
		}
	}
	s.loadFaults(e.faults.Load())
	return s
}

// loadFaults takes a new fault snapshot.
func (s *streamer) loadFaults(fs *faultState) {
	if fs == s.faults {
		return
	}
	old := s.faults
	s.faults = fs
	s.mi = fs.nextMalformed(s.pos)
	s.nextAt = fs.atOf(s.mi)
	if old == nil || old.f.DropEvery != fs.f.DropEvery || old.f.DropJitter != fs.f.DropJitter {
		s.drop = 0
		if n := fs.f.DropEvery; n > 0 {
			if j := fs.f.DropJitter; j > 0 {
				conn := s.e.connSeq.Add(1)
				rng := rand.New(rand.NewPCG(uint64(s.e.opts.Seed), uint64(conn)))
				n += rng.IntN(2*j+1) - j
			}
			s.drop = int64(max(n, 1))
		}
	}
	s.clean = fs.f.DropClean
}

func (s *streamer) run(ctx context.Context) error {
	st := s.fr
	h := s.w.Header()
	ct := "text/event-stream"
	if st.charset {
		ct += "; charset=utf-8"
	}
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
	if st.retry != nil {
		_, _ = s.bw.Write(st.retry)
	}
	if err := s.flush(); err != nil {
		return err
	}
	s.timer = time.NewTimer(time.Hour)
	defer s.timer.Stop()
	interval := s.e.opts.HeartbeatInterval
	s.nextHB = time.Now().Add(interval)
	a, q := s.a, s.q
	for {
		select {
		case <-ctx.Done():
			return errStreamDone
		case <-s.e.closed:
			return errStreamDone
		default:
		}
		now := time.Now()
		if !now.Before(s.nextHB) {
			if _, err := s.bw.Write(st.heartbeat); err != nil {
				return err
			}
			s.nextHB = now.Add(interval)
		}
		s.loadFaults(s.e.faults.Load())
		if q.throttleP > 0 && s.winCount >= q.throttleN {
			if now.Before(s.winEnd) {
				if err := s.waitUntil(ctx, minTime(s.winEnd, s.nextHB)); err != nil {
					return err
				}
				continue
			}
			s.winCount = 0
		}
		avail := a.published(now)
		if s.pos >= avail {
			if q.hasUntil && !a.live() {
				return s.end(st.eosUntil)
			}
			wake := s.nextHB
			if a.live() {
				wake = minTime(wake, a.pubTime(s.pos))
			}
			if err := s.waitUntil(ctx, wake); err != nil {
				return err
			}
			continue
		}
		recs := a.records(s.pos, min(avail, s.pos+chunkLines))
		if err := s.sendChunk(ctx, recs); err != nil {
			return err
		}
	}
}

// sendChunk writes the matching lines of recs (starting at s.pos), advancing s.pos; it stops
// early at a throttle window's end, and returns a non-nil error when the stream must end.
func (s *streamer) sendChunk(ctx context.Context, recs []rec) error {
	q, e := s.q, s.e
	for _, r := range recs {
		pos := s.pos
		if pos == s.nextAt {
			if err := s.inject(pos, r); err != nil {
				return err
			}
		}
		if r.date >= s.endMs && !s.a.future(pos) {
			return s.end(s.fr.eosUntil)
		}
		s.pos++
		if !s.inRange(r.date) || !s.instOK[r.inst] || !s.svcOK[r.svc] {
			continue
		}
		if q.filter != nil {
			s.msgBuf = appendMessage(s.msgBuf[:0], r.tmpl, pos, r.n, s.a.cfg.MessageBytes, false)
			if !q.filter.match(s.msgBuf) {
				continue
			}
		}
		if q.throttleP > 0 && s.winCount == 0 {
			s.winEnd = time.Now().Add(q.throttleP)
		}
		if err := s.writeLine(pos, r); err != nil {
			return err
		}
		s.winCount++
		s.sent++
		if n := e.linesSent.Add(1); n == e.silenceAt.Load() {
			if err := s.silence(ctx); err != nil {
				return err
			}
		}
		if q.limit > 0 && s.sent >= q.limit {
			return s.end(s.fr.eosLimit)
		}
		if s.drop > 0 && s.sent%s.drop == 0 {
			e.drops.Add(1)
			_ = s.flush()
			if s.clean {
				return errStreamDone
			}
			return errAbort
		}
		if q.throttleP > 0 && s.winCount >= q.throttleN {
			return nil
		}
	}
	return nil
}

// inRange reports whether a line dated ms is within the request's since and until.
func (s *streamer) inRange(ms int64) bool {
	q := s.q
	if !s.a.cfg.SubMillisecond {
		return ms >= q.sinceMs && ms < q.untilMs
	}
	us := s.a.micros(ms)
	return us >= q.sinceUs && us < q.untilUs
}

// writeLine writes the APPLICATION_LOG frame of the line at pos; no allocation when the
// frame fits the write buffer.
func (s *streamer) writeLine(pos int64, r rec) error {
	if s.bw.Available() < s.reserve {
		if err := s.bw.Flush(); err != nil {
			return err
		}
	}
	b := s.bw.AvailableBuffer()
	b = append(b, s.fr.idPrefix...)
	b = appendLineID(b, s.a.key, pos)
	b = append(b, s.fr.logHead...)
	if s.fast {
		b = s.a.frag.appendFull(b, pos, r, &s.df)
	} else {
		b = s.a.frag.appendFields(b, pos, r, s.q.mask, s.fr.sep, &s.df)
	}
	b = append(b, s.fr.end...)
	_, err := s.bw.Write(b)
	return err
}

// inject writes the malformed frames due before the line at pos.
func (s *streamer) inject(pos int64, r rec) error {
	fs := s.faults
	for s.mi < len(fs.malformed) && fs.malformed[s.mi].At == pos {
		i := s.mi
		s.mi++
		m := fs.malformed[i]
		if m.AppID != "" && m.AppID != s.a.cfg.ID {
			continue
		}
		if !fs.consumed[i].CompareAndSwap(false, true) {
			continue
		}
		if _, err := s.bw.Write(s.fr.malformedFrame(m, s.a, pos, r, &s.df)); err != nil {
			return err
		}
		s.e.injected.Add(1)
	}
	s.nextAt = fs.atOf(s.mi)
	return nil
}

// silence flushes, then sends nothing at all for SilenceFor.
func (s *streamer) silence(ctx context.Context) error {
	if err := s.flush(); err != nil {
		return err
	}
	s.e.silences.Add(1)
	s.timer.Reset(time.Duration(s.e.silenceFor.Load()))
	select {
	case <-s.timer.C:
	case <-ctx.Done():
		return errStreamDone
	case <-s.e.closed:
		return errStreamDone
	}
	s.nextHB = time.Now().Add(s.e.opts.HeartbeatInterval)
	return nil
}

// waitUntil flushes and waits until t (or the end of the request).
func (s *streamer) waitUntil(ctx context.Context, t time.Time) error {
	if err := s.flush(); err != nil {
		return err
	}
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	s.timer.Reset(d)
	select {
	case <-s.timer.C:
		return nil
	case <-ctx.Done():
		return errStreamDone
	case <-s.e.closed:
		return errStreamDone
	}
}

// end writes an END_OF_STREAM frame; the response then ends cleanly.
func (s *streamer) end(frame []byte) error {
	if _, err := s.bw.Write(frame); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	return errStreamEnded
}

func (s *streamer) flush() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	return s.rc.Flush()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
