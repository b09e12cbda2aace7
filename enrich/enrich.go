// Package enrich adds to each log line what the Clever Cloud API says of
// where it comes from: the application's name, the instance's name, index,
// flavor and state, the deployment's commit, start date and origin, and
// the zone's city, country and display name, under one member of its own:
//
//	{…the line's members…,"clevercloud":{"application":{"name":"shop"},
//	 "instance":{"name":"Sturdy Lion","index":0,"flavor":"XS","state":"UP"},
//	 "deployment":{"commit":"…","startDate":"…","action":"DEPLOY","cause":"…"},
//	 "zone":{"city":"Paris","country":"France","countryCode":"FR","displayName":"Paris"}}}
//
// Look-ups are cached for a TTL (a stale value is used while it is
// refreshed) and started by the first line carrying an unknown id: one
// request per id, however many lines carry it. Delivery is never held
// hostage: a line waits at most MaxWait after a look-up started, and when
// the API is slow or failing lines go out without the missing parts
// (counted in logship_enrich_missing_total{part}); a failed look-up is
// retried after RetryAfter. The line is rebuilt by copying its members'
// bytes (nothing is decoded); a member already holding the key is replaced.
package enrich

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logship/logship/cleverapi"
	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// Options configure an Enricher.
type Options struct {
	// API makes the look-ups.
	API *cleverapi.Client
	// Key is the member the parts go under (enrichment.key; when empty,
	// config's default).
	Key string
	// TTL is how long a looked-up value is used before it is refreshed
	// (enrichment.ttl; when 0, config's default).
	TTL time.Duration
	// MaxWait is how long after a look-up started the lines needing it may
	// wait for it (default 0: never wait).
	MaxWait time.Duration
	// RetryAfter is how long after a failed look-up the next one may start
	// (default 30s, at most TTL); a 404 is not retried before TTL.
	RetryAfter time.Duration
	Logger     *zap.Logger
	Metrics    *metrics.Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// The parts of an enrichment, for the missing-parts metric.
const (
	partApplication = iota
	partInstance
	partDeployment
	partZone
	nParts
)

var partNames = [nParts]string{"application", "instance", "deployment", "zone"}

// Enricher enriches lines; it is safe for concurrent use by the sources.
// Close it to stop its look-ups.
type Enricher struct {
	opts      Options
	api       *cleverapi.Client
	keyName   string
	key       []byte // `"key":`
	quotedKey []byte // `"key"`
	log       *zap.Logger
	missing   [nParts]prometheus.Counter
	lookOK    [nParts]prometheus.Counter
	lookErr   [nParts]prometheus.Counter

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	apps  map[string]*appCache // by application id
	zones map[string]*entry    // by zone name
	swept time.Time
}

// appCache is what is known of one application.
type appCache struct {
	owner       string
	app         entry // its fragment, and its zone
	instances   map[string]*entry
	deployments map[string]*entry
}

// entry is one cached look-up.
type entry struct {
	frag    []byte // `"part":{…}`; nil until a look-up succeeded
	zone    []byte // an application's zone
	expires time.Time
	// fetching is closed when the running look-up ends (nil: none runs);
	// started is when it started.
	fetching chan struct{}
	started  time.Time
	retryAt  time.Time // no look-up before
}

// New returns an Enricher; it does no I/O until lines come.
func New(opts Options) *Enricher {
	def := config.Default().Enrichment
	if opts.Key == "" {
		opts.Key = def.Key
	}
	if opts.TTL <= 0 {
		opts.TTL = def.TTL.D()
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 30 * time.Second
	}
	opts.RetryAfter = min(opts.RetryAfter, opts.TTL)
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Enricher{
		opts:      opts,
		api:       opts.API,
		keyName:   opts.Key,
		key:       append(event.AppendString(nil, opts.Key), ':'),
		quotedKey: event.AppendString(nil, opts.Key),
		log:       opts.Logger.With(zap.String("component", "enrich")),
		ctx:       ctx,
		cancel:    cancel,
		apps:      map[string]*appCache{},
		zones:     map[string]*entry{},
		swept:     opts.Now(),
	}
	for p := range nParts {
		e.missing[p] = opts.Metrics.EnrichMissing.WithLabelValues(partNames[p])
		e.lookOK[p] = opts.Metrics.EnrichLookups.WithLabelValues(partNames[p], "ok")
		e.lookErr[p] = opts.Metrics.EnrichLookups.WithLabelValues(partNames[p], "error")
	}
	return e
}

// Close stops the look-ups in progress and waits for them.
func (e *Enricher) Close() {
	e.cancel()
	e.wg.Wait()
}

// ids are the values of a line that enrichment looks up (slices of the
// line; empty when absent).
type ids struct {
	app, instance, deployment, zone []byte
	hasKey                          bool // the line has a member named Key
}

// scan reads the ids of raw. It stops once it has all four when raw
// cannot hold a member named Key (the API sends the ids before the
// message, so the message is not read at all).
func (e *Enricher) scan(raw []byte) ids {
	var v ids
	mayHaveKey := bytes.Contains(raw, e.quotedKey)
	for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
		k := m.Key
		if len(k) < 2 {
			continue
		}
		name := k[1 : len(k)-1]
		switch string(name) {
		case "applicationId":
			v.app = plainString(m.Value)
		case "instanceId":
			v.instance = plainString(m.Value)
		case "deploymentId":
			v.deployment = plainString(m.Value)
		case "zone":
			v.zone = plainString(m.Value)
		case e.keyName:
			v.hasKey = true
		}
		if !mayHaveKey && v.app != nil && v.instance != nil && v.deployment != nil && v.zone != nil {
			break
		}
	}
	return v
}

// plainString returns the content of a JSON string without escapes, else
// nil (ids never hold any).
func plainString(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return nil
	}
	in := v[1 : len(v)-1]
	for _, c := range in {
		if c == '\\' {
			return nil
		}
	}
	return in
}

// Apply returns raw with the enrichment member added, for a line of
// application appID (used when the line has no applicationId) of owner.
// raw is not modified; the result is a new slice, or raw itself when
// nothing is known at all. It waits at most MaxWait after a look-up it
// needs started (twice in a row for a line without a zone: the
// application's, then its zone's), or until ctx ends.
func (e *Enricher) Apply(ctx context.Context, owner, appID string, raw []byte) []byte {
	out, _ := e.apply(ctx, owner, appID, raw, nil)
	return out
}

// apply is Apply, building the new line in arena (nil: an allocation of
// its own); built reports a new line (else out is raw).
func (e *Enricher) apply(ctx context.Context, owner, appID string, raw []byte, arena *event.Arena) (out []byte, built bool) {
	v := e.scan(raw)
	var frags [nParts][]byte
	var waits [nParts]chan struct{}
	var deadline time.Time
	e.mu.Lock()
	now := e.opts.Now()
	e.collect(owner, appID, &v, now, &frags, &waits, &deadline)
	e.mu.Unlock()
	// A second round: a line without a zone learns it from its
	// application, then waits for the zone's look-up.
	for round := 0; round < 2 && !deadline.IsZero(); round++ {
		if !e.wait(ctx, &waits, deadline) {
			break
		}
		waits, deadline = [nParts]chan struct{}{}, time.Time{}
		e.mu.Lock()
		e.collect(owner, appID, &v, e.opts.Now(), &frags, &waits, &deadline)
		e.mu.Unlock()
	}
	n := 0
	for p, f := range frags {
		if f != nil {
			n += len(f) + 1
		} else if e.wanted(p, &v) {
			e.missing[p].Inc()
		}
	}
	if n == 0 {
		return raw, false
	}
	return e.build(raw, &v, &frags, n, arena), true
}

// wanted reports whether the line calls for part p.
func (e *Enricher) wanted(p int, v *ids) bool {
	switch p {
	case partInstance:
		return len(v.instance) > 0
	case partDeployment:
		return len(v.deployment) > 0
	}
	return true // every line has an application and a zone (the application's)
}

// collect fills frags with the cached parts of the line; when waits is not
// nil it starts the look-ups needed and records those worth waiting for,
// and the time to wait until. e.mu is held. Nothing is allocated when
// every part is cached.
func (e *Enricher) collect(owner, appID string, v *ids, now time.Time, frags *[nParts][]byte, waits *[nParts]chan struct{}, deadline *time.Time) {
	if len(v.app) > 0 && string(v.app) != appID {
		appID = string(v.app) // the line knows better (allocates, but only then)
	}
	if appID == "" {
		return
	}
	start := waits != nil
	ac := e.apps[appID]
	if ac == nil {
		if !start {
			return
		}
		ac = &appCache{owner: owner, instances: map[string]*entry{}, deployments: map[string]*entry{}}
		e.apps[appID] = ac
	}
	get := func(p int, ent *entry, id []byte) {
		if ent == nil || frags[p] != nil {
			return
		}
		f, w, until := e.lookup(p, ent, now, start, owner, appID, id)
		frags[p] = f
		if w != nil && start {
			waits[p] = w
			if deadline.IsZero() || until.After(*deadline) {
				*deadline = until
			}
		}
	}
	get(partApplication, &ac.app, nil)
	if len(v.instance) > 0 {
		get(partInstance, e.entryOf(ac.instances, v.instance, start), v.instance)
	}
	if len(v.deployment) > 0 {
		get(partDeployment, e.entryOf(ac.deployments, v.deployment, start), v.deployment)
	}
	zone := v.zone
	if len(zone) == 0 {
		zone = ac.app.zone
	}
	if len(zone) > 0 {
		get(partZone, e.entryOf(e.zones, zone, start), zone)
	}
}

// fetch looks part up: the application (owner, app), or its instance,
// deployment or zone id.
func (e *Enricher) fetch(ctx context.Context, part int, owner, app, id string) (entry, error) {
	switch part {
	case partApplication:
		a, err := e.api.Application(ctx, owner, app)
		if err != nil {
			return entry{}, err
		}
		b := append([]byte(`"application":{"name":`), event.AppendString(nil, a.Name)...)
		return entry{frag: append(b, '}'), zone: []byte(a.Zone)}, nil
	case partInstance:
		in, err := e.api.Instance(ctx, owner, app, id)
		if err != nil {
			return entry{}, err
		}
		b := append([]byte(`"instance":{"name":`), event.AppendString(nil, in.Name)...)
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(in.Index), 10)
		b = appendField(b, "flavor", in.Flavor)
		b = appendField(b, "state", in.State)
		return entry{frag: append(b, '}')}, nil
	case partDeployment:
		d, err := e.api.Deployment(ctx, owner, app, id)
		if err != nil {
			return entry{}, err
		}
		b := append([]byte(`"deployment":{"commit":`), event.AppendString(nil, d.Version.CommitID)...)
		b = appendField(b, "startDate", d.StartDate)
		b = appendField(b, "action", d.Origin.Action)
		b = appendField(b, "cause", d.Origin.Cause)
		return entry{frag: append(b, '}')}, nil
	default:
		z, err := e.api.Zone(ctx, id)
		if err != nil {
			return entry{}, err
		}
		b := append([]byte(`"zone":{"city":`), event.AppendString(nil, z.City)...)
		b = appendField(b, "country", z.Country)
		b = appendField(b, "countryCode", z.CountryCode)
		b = appendField(b, "displayName", z.DisplayName)
		return entry{frag: append(b, '}')}, nil
	}
}

// entryOf returns the entry of id in m, created when create is set.
func (e *Enricher) entryOf(m map[string]*entry, id []byte, create bool) *entry {
	if ent := m[string(id)]; ent != nil { // no allocation
		return ent
	}
	if !create {
		return nil
	}
	ent := &entry{}
	m[string(id)] = ent
	return ent
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return event.AppendString(b, value)
}

// lookup returns ent's fragment (possibly stale), starting a look-up when
// it is missing or stale and start is set. When there is no fragment and a
// look-up started less than MaxWait ago, it returns its channel and the end
// of the wait. e.mu is held.
func (e *Enricher) lookup(part int, ent *entry, now time.Time, start bool, owner, app string, id []byte) ([]byte, chan struct{}, time.Time) {
	if ent.frag != nil && now.Before(ent.expires) {
		return ent.frag, nil, time.Time{}
	}
	if start && ent.fetching == nil && !now.Before(ent.retryAt) {
		e.startFetch(part, ent, now, owner, app, string(id))
	}
	if ent.frag != nil {
		return ent.frag, nil, time.Time{}
	}
	if ent.fetching != nil {
		if until := ent.started.Add(e.opts.MaxWait); now.Before(until) {
			return nil, ent.fetching, until
		}
	}
	return nil, nil, time.Time{}
}

// startFetch runs the look-up of part in the background and stores its result in ent.
// e.mu is held.
func (e *Enricher) startFetch(part int, ent *entry, now time.Time, owner, app, id string) {
	if e.ctx.Err() != nil {
		return
	}
	done := make(chan struct{})
	ent.fetching, ent.started = done, now
	e.sweep(now)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		got, err := e.fetch(e.ctx, part, owner, app, id)
		e.mu.Lock()
		defer e.mu.Unlock()
		now := e.opts.Now()
		switch {
		case err == nil:
			e.lookOK[part].Inc()
			ent.frag, ent.zone = got.frag, got.zone
			ent.expires = now.Add(e.opts.TTL)
			ent.retryAt = time.Time{}
		case cleverapi.IsNotFound(err):
			e.lookErr[part].Inc()
			ent.retryAt = now.Add(e.opts.TTL)
			e.log.Info("enrichment: not found; lines go out without it", zap.String("part", partNames[part]), zap.Error(err))
		default:
			e.lookErr[part].Inc()
			ent.retryAt = now.Add(e.opts.RetryAfter)
			if e.ctx.Err() == nil {
				e.log.Warn("enrichment look-up failed; lines go out without it until a retry succeeds",
					zap.String("part", partNames[part]), zap.Duration("retry_after", e.opts.RetryAfter), zap.Error(err))
			}
		}
		ent.fetching = nil
		close(done)
	}()
}

// wait waits for the look-ups in waits until deadline or ctx's end; it
// reports whether any ended.
func (e *Enricher) wait(ctx context.Context, waits *[nParts]chan struct{}, deadline time.Time) bool {
	t := time.NewTimer(deadline.Sub(e.opts.Now()))
	defer t.Stop()
	ended := false
	for _, w := range waits {
		if w == nil {
			continue
		}
		select {
		case <-w:
			ended = true
		case <-t.C:
			return ended
		case <-ctx.Done():
			return ended
		}
	}
	return ended
}

// sweep forgets, at most once per TTL, the entries no line asked for since
// they expired a TTL ago (instances and deployments come and go). e.mu is
// held.
func (e *Enricher) sweep(now time.Time) {
	if now.Sub(e.swept) < e.opts.TTL {
		return
	}
	e.swept = now
	old := func(ent *entry) bool {
		return ent.fetching == nil && now.Sub(ent.expires) > e.opts.TTL && now.After(ent.retryAt)
	}
	for id, ac := range e.apps {
		for k, ent := range ac.instances {
			if old(ent) {
				delete(ac.instances, k)
			}
		}
		for k, ent := range ac.deployments {
			if old(ent) {
				delete(ac.deployments, k)
			}
		}
		if old(&ac.app) && len(ac.instances) == 0 && len(ac.deployments) == 0 {
			delete(e.apps, id)
		}
	}
	for k, ent := range e.zones {
		if old(ent) {
			delete(e.zones, k)
		}
	}
}

// build returns raw's members (but one named Key) followed by the
// enrichment member holding the parts in frags, in arena; n bounds their
// length.
func (e *Enricher) build(raw []byte, v *ids, frags *[nParts][]byte, n int, arena *event.Arena) []byte {
	out := arena.Alloc(len(raw) + len(e.key) + n + 3)
	out = append(out, '{')
	if v.hasKey {
		for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
			if string(m.Key[1:len(m.Key)-1]) == e.keyName {
				continue
			}
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, m.Key...)
			out = append(out, ':')
			out = append(out, m.Value...)
		}
	} else {
		// Every member as it is: the bytes between the braces.
		inner := trimObject(raw)
		out = append(out, inner...)
	}
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, e.key...)
	out = append(out, '{')
	first := true
	for _, f := range frags {
		if f == nil {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, f...)
	}
	return append(out, '}', '}')
}

// trimObject returns the members of the JSON object raw, between its
// braces, without the white space around them.
func trimObject(raw []byte) []byte {
	i, j := 0, len(raw)
	for i < j && raw[i] != '{' {
		i++
	}
	for j > i && raw[j-1] != '}' {
		j--
	}
	if j-i < 2 {
		return nil
	}
	in := raw[i+1 : j-1]
	for len(in) > 0 && isSpace(in[0]) {
		in = in[1:]
	}
	for len(in) > 0 && isSpace(in[len(in)-1]) {
		in = in[:len(in)-1]
	}
	return in
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Next is where an Output hands the lines on (the pipeline).
type Next interface {
	Submit(ctx context.Context, e event.Event) error
	DeadLetter(ctx context.Context, e event.Event, reason string) error
}

// Output enriches the lines of one source before handing them to Next.
// It is a source's Output: the enriched lines are built in an arena of
// its own (one allocation per chunk of lines, not one per line), and it
// copies those it does not enrich there: Submit keeps no reference to the
// line it is handed (a source.LineCopier).
type Output struct {
	Next     Next
	Enricher *Enricher
	Owner    string

	mu    sync.Mutex // the source calls alone; this is for safety's sake
	arena event.Arena
}

// Submit enriches e and hands it on.
func (o *Output) Submit(ctx context.Context, e event.Event) error {
	o.mu.Lock()
	raw, built := o.Enricher.apply(ctx, o.Owner, e.AppID, e.Raw, &o.arena)
	if !built {
		raw = o.arena.Copy(raw)
	}
	o.mu.Unlock()
	e.Raw = raw
	return o.Next.Submit(ctx, e)
}

// CopiesLines marks Output as a source.LineCopier: Submit copies its line.
func (o *Output) CopiesLines() {}

// DeadLetter hands e on as it is (the source copied it).
func (o *Output) DeadLetter(ctx context.Context, e event.Event, reason string) error {
	return o.Next.DeadLetter(ctx, e, reason)
}
