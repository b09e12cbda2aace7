package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logship/logship/emulator"
)

// faultyAPI serves the emulator behind the seed's connection faults: the
// k-th logs request of an application gets that application's k-th
// connFault, whatever the order requests of other applications come in.
type faultyAPI struct {
	emu   *emulator.Emulator
	plans map[string][]connFault // by application id

	mu    sync.Mutex
	conns map[string]int

	cuts, silences, statuses atomic.Int64
}

func (f *faultyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /v4/logs/organisations/{owner}/applications/{app}/logs
	parts := strings.Split(r.URL.Path, "/")
	if len(parts) != 8 || parts[2] != "logs" || parts[7] != "logs" {
		f.emu.ServeHTTP(w, r)
		return
	}
	app := parts[6]
	f.mu.Lock()
	k := f.conns[app]
	f.conns[app]++
	f.mu.Unlock()
	plan := f.plans[app]
	if k >= len(plan) {
		f.emu.ServeHTTP(w, r)
		return
	}
	c := plan[k]
	if c.status != 0 {
		f.statuses.Add(1)
		if c.retryAfter != "" {
			w.Header().Set("Retry-After", c.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, `{"code":"clever.core.internal-error","error":"injected by the simulation"}`)
		return
	}
	if c.ignoreLEID {
		r.Header.Del("Last-Event-ID")
	}
	if c.cut || c.silence {
		w = &cutWriter{ResponseWriter: w, ctx: r.Context(), c: c, f: f}
	}
	f.emu.ServeHTTP(w, r)
}

// errCut ends a response cleanly in the middle of the stream.
var errCut = errors.New("simulation: stream cut")

// cutWriter cuts a response body after c.cutAt bytes (mid-frame as likely
// as not) and goes silent at c.silenceAt bytes for c.silenceFor.
type cutWriter struct {
	http.ResponseWriter
	ctx      context.Context
	c        connFault
	f        *faultyAPI
	written  int64
	silenced bool
}

func (w *cutWriter) Write(p []byte) (int, error) {
	n := 0
	if w.c.silence && !w.silenced && w.written+int64(len(p)) > w.c.silenceAt {
		k := int(w.c.silenceAt - w.written)
		m, err := w.write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		w.silenced = true
		w.f.silences.Add(1)
		w.Flush()
		t := time.NewTimer(w.c.silenceFor)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return n, w.ctx.Err()
		}
	}
	m, err := w.write(p)
	return n + m, err
}

func (w *cutWriter) write(p []byte) (int, error) {
	if w.c.cut && w.written+int64(len(p)) > w.c.cutAt {
		k := int(w.c.cutAt - w.written)
		n, _ := w.ResponseWriter.Write(p[:k])
		w.written += int64(n)
		w.Flush()
		w.f.cuts.Add(1)
		w.c.cut = false
		if !w.c.clean {
			panic(http.ErrAbortHandler) // net/http drops the connection
		}
		return n, errCut // the emulator ends the response: a clean end mid-frame
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// Flush passes flushes through (http.ResponseController finds it).
func (w *cutWriter) Flush() {
	if fl, ok := w.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *cutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// simReceiver is the HTTP sink's receiver: NDJSON, gzip or not; it drops a
// batch whose Idempotency-Key it already accepted (as the README asks of a
// receiver), fails the requests the plan says, and records which run each
// line arrived in.
type simReceiver struct {
	plan *httpPlan
	srv  *httptest.Server

	mu     sync.Mutex
	n      int
	keys   map[string]bool
	lines  map[string][]rcvLine // by application id
	faults int
	active atomic.Int64 // requests being served
	trace  []string     // one line per request, kept with a failing seed
	// stuckUntil ends the stuck period (httpPlan.stuckFor).
	stuckUntil time.Time
}

type rcvLine struct {
	id  string
	run int
}

func newSimReceiver(plan *httpPlan) *simReceiver {
	r := &simReceiver{plan: plan, keys: map[string]bool{}, lines: map[string][]rcvLine{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *simReceiver) serve(w http.ResponseWriter, req *http.Request) {
	r.active.Add(1)
	defer r.active.Add(-1)
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, "bad gzip", http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return // the sender went away: nothing stored
	}
	if r.plan.delay > 0 {
		time.Sleep(r.plan.delay)
	}
	f := r.plan.faults[n]
	if r.plan.stuckFor > 0 && n >= r.plan.stuckFrom {
		r.mu.Lock()
		if n == r.plan.stuckFrom {
			r.stuckUntil = time.Now().Add(r.plan.stuckFor)
		}
		stuck := time.Now().Before(r.stuckUntil)
		r.mu.Unlock()
		if stuck {
			f = rcvFault{status: http.StatusServiceUnavailable}
		}
	}
	if f.status != 0 {
		r.mu.Lock()
		r.trace = append(r.trace, fmt.Sprintf("%s #%d run %s from %s: answered %d", time.Now().Format("15:04:05.000"), n, req.Header.Get("X-Sim-Run"), req.RemoteAddr, f.status))
		r.faults++
		r.mu.Unlock()
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.WriteHeader(f.status)
		return
	}
	key := req.Header.Get("Idempotency-Key")
	run, _ := strconv.Atoi(req.Header.Get("X-Sim-Run"))
	r.mu.Lock()
	r.trace = append(r.trace, fmt.Sprintf("%s #%d run %d from %s key %s dup %v fault %+v: %d bytes, first id %s",
		time.Now().Format("15:04:05.000"), n, run, req.RemoteAddr, key, r.keys[key], f, len(data), jsonField(data, "id")))
	if key == "" || !r.keys[key] {
		r.keys[key] = key != ""
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			app := jsonField(sc.Bytes(), "applicationId")
			r.lines[app] = append(r.lines[app], rcvLine{id: jsonField(sc.Bytes(), "id"), run: run})
		}
	}
	if f.acceptFail {
		r.faults++
	}
	r.mu.Unlock()
	if f.acceptFail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ids returns the ids of app received so far, with the run of each.
func (r *simReceiver) ids(app string) []rcvLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rcvLine(nil), r.lines[app]...)
}
