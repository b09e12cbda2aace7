package emulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// rec is one generated line, 16 bytes; its JSON is assembled from precomputed fragments.
type rec struct {
	date int64  // unix milliseconds
	n    uint32 // random number used by the message
	inst uint8  // instance index
	tmpl uint8  // message template index
	sev  uint8  // severity index
	svc  uint8  // service index
}

var severities = []struct {
	name  string
	level int
}{
	{"info", 6}, {"info", 6}, {"info", 6}, {"info", 6}, {"info", 6}, {"info", 6}, {"info", 6},
	{"notice", 5}, {"warning", 4}, {"err", 3}, {"debug", 7},
}

var services = []struct {
	name     string
	facility string
	code     int
}{
	{"bas.service", "daemon", 3},
	{"bas-deploy.service", "user", 1},
}

// instance is one instance an app's lines come from.
type instance struct {
	id, deploymentID, commitID string
	pid                        int
	lagMs                      int64
}

// appState is an App's generated log: lines in arrival order, generated lazily (forever for a
// live app) and deterministic for a given seed.
type appState struct {
	cfg        App
	index      int
	key        uint64 // id key
	t0         time.Time
	disorderMs int64
	instances  []instance
	deploys    []string // deployment ids
	commits    []string
	frag       *fragments
	// removedAt is when RemoveApp removed the app (unix nanoseconds; 0: served): it
	// publishes nothing after it, and the look-ups and the logs endpoint no longer know it.
	removedAt atomic.Int64

	mu   sync.Mutex
	recs []rec
	rng  *rand.Rand
	// generator state
	clockUs   int64 // non-decreasing "true" clock, microseconds since the epoch
	burstLeft int
	burst     rec
}

func newAppState(cfg App, index int, seed int64, t0 time.Time) *appState {
	k := hashKey(seed, cfg.ID)
	a := &appState{
		cfg:        cfg,
		index:      index,
		key:        k,
		t0:         t0,
		disorderMs: cfg.Disorder.Milliseconds(),
		rng:        rand.New(rand.NewPCG(k, mix64(k^0x5eed))),
		clockUs:    cfg.Start.Add(cfg.Disorder).UnixMicro(), // no line dated before Start
	}
	idRand := rand.New(rand.NewPCG(mix64(k^1), mix64(k^2)))
	for range cfg.Deployments {
		a.deploys = append(a.deploys, uuidFrom(idRand.Uint64(), idRand.Uint64()))
		a.commits = append(a.commits, fmt.Sprintf("%016x%016x%08x", idRand.Uint64(), idRand.Uint64(), idRand.Uint32()))
	}
	for i := range cfg.Instances {
		var lag int64
		if cfg.Instances > 1 {
			lag = a.disorderMs * int64(i) / int64(cfg.Instances-1)
		}
		a.instances = append(a.instances, instance{
			id:           uuidFrom(idRand.Uint64(), idRand.Uint64()),
			deploymentID: a.deploys[i%cfg.Deployments],
			commitID:     a.commits[i%cfg.Deployments],
			pid:          100 + idRand.IntN(30000),
			lagMs:        lag,
		})
	}
	a.frag = newFragments(a)
	return a
}

// live reports whether the app publishes new lines over time.
func (a *appState) live() bool { return a.cfg.Rate > 0 }

// pubOffset is when live line number k (1-based) is published, after t0.
func (a *appState) pubOffset(k int64) time.Duration {
	return time.Duration(math.Ceil(float64(k) * 1e9 / a.cfg.Rate))
}

// published returns how many lines are published at now.
func (a *appState) published(now time.Time) int64 {
	if r := a.removedAt.Load(); r != 0 && now.UnixNano() > r {
		now = time.Unix(0, r)
	}
	b := int64(a.cfg.Backlog)
	if !a.live() {
		return b
	}
	e := now.Sub(a.t0)
	if e <= 0 {
		return b
	}
	k := int64(float64(e) * a.cfg.Rate / 1e9)
	for k > 0 && a.pubOffset(k) > e {
		k--
	}
	for a.pubOffset(k+1) <= e {
		k++
	}
	return b + k
}

// pubTime is when the line at pos is published.
func (a *appState) pubTime(pos int64) time.Time {
	b := int64(a.cfg.Backlog)
	if pos < b || !a.live() {
		return a.t0
	}
	return a.t0.Add(a.pubOffset(pos - b + 1))
}

// records returns the lines [from, to), generating them if needed. The returned slice is
// never modified afterwards.
func (a *appState) records(from, to int64) []rec {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.generate(to)
	return a.recs[from:to:to]
}

// generate extends a.recs to n lines; a.mu is held.
func (a *appState) generate(n int64) {
	if int64(len(a.recs)) >= n {
		return
	}
	if int64(cap(a.recs)) < n {
		nc := max(n, int64(cap(a.recs))*2, 1024)
		if !a.live() {
			nc = min(nc, int64(a.cfg.Backlog))
		}
		grown := make([]rec, len(a.recs), nc)
		copy(grown, a.recs)
		a.recs = grown
	}
	r := a.rng
	backlog := int64(a.cfg.Backlog)
	spacingUs := a.cfg.Spacing.Microseconds()
	for pos := int64(len(a.recs)); pos < n; pos++ {
		if a.burstLeft == 0 {
			size := 1 + r.IntN(a.cfg.SameDate)
			if pos < backlog {
				a.clockUs += r.Int64N(2*spacingUs*int64(size) + 1)
			} else {
				a.clockUs = max(a.clockUs, a.pubTime(pos).UnixMicro())
			}
			inst := r.IntN(len(a.instances))
			delay := a.instances[inst].lagMs
			if len(a.instances) == 1 {
				delay = r.Int64N(a.disorderMs + 1)
			} else if delay > 0 {
				delay -= r.Int64N(min(delay, 20) + 1)
			}
			svc := 0
			if r.IntN(10) == 0 {
				svc = 1
			}
			date := floorDiv(a.clockUs, 1000) - delay
			if pos > 0 && date == a.burst.date {
				// keep runs of one date within SameDate: move the clock on by 1 ms
				a.clockUs += 1000
				date++
			}
			a.burst = rec{
				date: date,
				inst: uint8(inst),
				svc:  uint8(svc),
			}
			a.burstLeft = size
		}
		l := a.burst
		if a.future(pos) {
			l.date += a.cfg.FutureSkew.Milliseconds()
		}
		l.n = r.Uint32()
		l.tmpl = uint8(r.IntN(len(templates)))
		l.sev = uint8(r.IntN(len(severities)))
		a.recs = append(a.recs, l)
		a.burstLeft--
	}
}

// future reports whether the line at pos is dated in the future (App.FutureEvery).
func (a *appState) future(pos int64) bool {
	n := a.cfg.FutureEvery
	return n > 0 && pos > 0 && mix64(a.key^uint64(pos)*0x9e3779b97f4a7c15^0xf07)%uint64(n) == 0
}

// micros returns the date of a line dated ms, in unix microseconds: with SubMillisecond,
// ms plus microseconds drawn from ms itself (so one millisecond has one exact date).
func (a *appState) micros(ms int64) int64 {
	if !a.cfg.SubMillisecond {
		return ms * 1000
	}
	return ms*1000 + int64(mix64(a.key^uint64(ms)*0xd1b54a32d192ed03)%1000)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Line is one generated log line.
type Line struct {
	// Pos is the arrival position (0 for the first line of the app).
	Pos int64
	// ID is the line's opaque id (the SSE id and the JSON "id").
	ID string
	// Date is the line's date, millisecond precision (microsecond with
	// App.SubMillisecond), UTC.
	Date time.Time
	// Raw is the APPLICATION_LOG data as served without field selection.
	Raw []byte
}

// line renders the line at pos (which must be generated).
func (a *appState) line(pos int64, r rec, df *dateFormatter) Line {
	raw := a.frag.appendFull(nil, pos, r, df)
	return Line{
		Pos:  pos,
		ID:   string(appendLineID(nil, a.key, pos)),
		Date: time.UnixMicro(a.micros(r.date)).UTC(),
		Raw:  raw,
	}
}
