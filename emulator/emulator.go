package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Emulator is an http.Handler serving the Clever Cloud logs API. Its methods are safe for
// concurrent use.
type Emulator struct {
	opts  Options
	oauth OAuthCreds
	// appsMu guards apps (the apps listed now, in order of addition) and
	// byID (every app ever served, removed ones included, for Lines).
	appsMu sync.RWMutex
	apps   []*appState
	byID   map[string]*appState
	nextIx int // index of the next app, for its generated defaults
	mux    *http.ServeMux
	t0     time.Time
	userID string // the user of /v2/self and /v2/summary
	// defaultOwner is the organisation of apps without OwnerID.
	defaultOwner string

	faults      atomic.Pointer[faultState]
	apiFaults   atomic.Pointer[apiFaultState]
	style       atomic.Pointer[Style]
	ignoreLEID  atomic.Bool
	silenceAt   atomic.Int64 // total lines-sent count that triggers the silence; 0: none
	silenceFor  atomic.Int64 // nanoseconds
	sozu        atomic.Uint64
	connSeq     atomic.Int64
	requestsN   atomic.Int64
	connections atomic.Int64
	active      atomic.Int64
	linesSent   atomic.Int64
	drops       atomic.Int64
	silences    atomic.Int64
	injected    atomic.Int64
	statusesN   atomic.Int64

	mu       sync.Mutex
	statuses []StatusFault
	requests []Request

	closeOnce sync.Once
	closed    chan struct{}
}

var _ http.Handler = (*Emulator)(nil)

// Request is one received request, as recorded for tests.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	Query  url.Values
	// LastEventID is the Last-Event-ID header.
	LastEventID string
	// Auth is the scheme of the Authorization header (AuthNone, AuthBearer, AuthPlaintext,
	// "oauth-hmac-sha512", …); never the credentials.
	Auth string
	// Status is the HTTP status answered.
	Status int
	// SozuID is the Sozu-Id header answered.
	SozuID string
}

// Stats are the emulator's counters.
type Stats struct {
	Requests    int64 // requests received, any endpoint
	Connections int64 // log streams opened (200 answered)
	Active      int64 // log streams open now
	LinesSent   int64 // APPLICATION_LOG frames of generated lines written
	Drops       int64 // streams dropped by DropEvery
	Silences    int64 // silences done
	Injected    int64 // malformed frames written
	Statuses    int64 // queued status responses served
}

// New returns an emulator for opts. It does no I/O; the backlog of each app counts as
// published now. Dates of apps without Start are relative to now.
func New(opts Options) *Emulator {
	now := time.Now()
	e := &Emulator{
		opts:   opts,
		t0:     now,
		byID:   map[string]*appState{},
		closed: make(chan struct{}),
	}
	if e.opts.HeartbeatInterval <= 0 {
		e.opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	e.oauth = opts.OAuth
	if e.oauth.ConsumerKey == "" && e.oauth.ConsumerSecret == "" {
		e.oauth.ConsumerKey, e.oauth.ConsumerSecret = CleverToolsConsumerKey, CleverToolsConsumerSecret
	}
	seedKey := uint64(opts.Seed)
	defaultOwner := "orga_" + uuidFrom(mix64(seedKey^0x0a9a), mix64(seedKey^0x0a9b))
	e.userID = "user_" + uuidFrom(mix64(seedKey^0x05e1), mix64(seedKey^0x05e2))
	e.defaultOwner = defaultOwner
	for _, a := range opts.Apps {
		e.addApp(a, now, false)
	}
	e.setFaults(opts.Faults)
	st := opts.Style
	e.style.Store(&st)
	e.ignoreLEID.Store(opts.IgnoreLastEventID)
	e.mux = e.routes()
	return e
}

// ServeHTTP serves the logs endpoint and the few neighbouring endpoints clever-tools needs.
// Every response carries a Sozu-Id header; every error body is JSON.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.requestsN.Add(1)
	w.Header().Set("Sozu-Id", e.nextSozuID())
	e.mux.ServeHTTP(w, r)
}

func (e *Emulator) nextSozuID() string {
	n := e.sozu.Add(1)
	return uuidFrom(mix64(uint64(e.opts.Seed)^n^0x5020), mix64(n))
}

// record appends a request to the log.
func (e *Emulator) record(r *http.Request, w http.ResponseWriter, at time.Time, auth string, status int) {
	req := Request{
		Time:        at,
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.Query(),
		LastEventID: r.Header.Get("Last-Event-ID"),
		Auth:        auth,
		Status:      status,
		SozuID:      w.Header().Get("Sozu-Id"),
	}
	e.mu.Lock()
	e.requests = append(e.requests, req)
	e.mu.Unlock()
}

// Close ends every open stream (without END_OF_STREAM, as a server going away) and makes
// later log requests end at once. Use it before httptest.Server.Close, which waits for open
// streams.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() { close(e.closed) })
}

// Apps returns the apps served now (not the removed ones), in order of addition, with their
// defaults resolved.
func (e *Emulator) Apps() []App {
	e.appsMu.RLock()
	defer e.appsMu.RUnlock()
	out := make([]App, len(e.apps))
	for i, a := range e.apps {
		out[i] = a.cfg
	}
	return out
}

// Lines returns the lines of appID published so far, in arrival order (nil for an app never
// served); a removed app's lines are still returned. The caller owns the result.
func (e *Emulator) Lines(appID string) []Line {
	e.appsMu.RLock()
	a := e.byID[appID]
	e.appsMu.RUnlock()
	if a == nil {
		return nil
	}
	n := a.published(time.Now())
	recs := a.records(0, n)
	out := make([]Line, len(recs))
	var df dateFormatter
	for i, r := range recs {
		out[i] = a.line(int64(i), r, &df)
	}
	return out
}

// Window returns the published lines of appID with since <= Date < until, in arrival order;
// a zero since or until is unbounded.
func (e *Emulator) Window(appID string, since, until time.Time) []Line {
	var out []Line
	for _, l := range e.Lines(appID) {
		if (since.IsZero() || !l.Date.Before(since)) && (until.IsZero() || l.Date.Before(until)) {
			out = append(out, l)
		}
	}
	return out
}

// Requests returns the requests received so far, oldest first. The caller owns the result.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.requests)
}

// Stats returns the counters.
func (e *Emulator) Stats() Stats {
	return Stats{
		Requests:    e.requestsN.Load(),
		Connections: e.connections.Load(),
		Active:      e.active.Load(),
		LinesSent:   e.linesSent.Load(),
		Drops:       e.drops.Load(),
		Silences:    e.silences.Load(),
		Injected:    e.injected.Load(),
		Statuses:    e.statusesN.Load(),
	}
}

// SetFaults replaces every fault (the status queue included) from now on. Open streams pick
// the change up within a batch of lines; SilenceAfter counts from this call.
func (e *Emulator) SetFaults(f Faults) { e.setFaults(f) }

func (e *Emulator) setFaults(f Faults) {
	e.mu.Lock()
	e.statuses = slices.Clone(f.Statuses)
	e.mu.Unlock()
	e.silenceFor.Store(int64(f.SilenceFor))
	if f.SilenceAfter > 0 {
		e.silenceAt.Store(e.linesSent.Load() + f.SilenceAfter)
	} else {
		e.silenceAt.Store(0)
	}
	e.faults.Store(newFaultState(f))
	e.apiFaults.Store(newAPIFaultState(f.API))
}

// QueueStatus appends status responses, answered in order to the next logs requests.
func (e *Emulator) QueueStatus(s ...StatusFault) {
	e.mu.Lock()
	e.statuses = append(e.statuses, s...)
	e.mu.Unlock()
}

func (e *Emulator) popStatus() (StatusFault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.statuses) == 0 {
		return StatusFault{}, false
	}
	s := e.statuses[0]
	e.statuses = e.statuses[1:]
	return s, true
}

// SetStyle changes the frame style of streams opened from now on.
func (e *Emulator) SetStyle(s Style) { e.style.Store(&s) }

// SetIgnoreLastEventID changes whether streams opened from now on ignore Last-Event-ID.
func (e *Emulator) SetIgnoreLastEventID(ignore bool) { e.ignoreLEID.Store(ignore) }
