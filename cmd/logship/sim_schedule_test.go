package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/logship/logship/emulator"
)

// simHeartbeatTimeout is the sources' heartbeat_timeout; the emulator
// sends a heartbeat every 100 ms. It is far above the heartbeat period so
// that a loaded machine does not see silences that are not: a watchdog
// firing as data arrives loses a line today (see simRegressions).
const simHeartbeatTimeout = 4 * time.Second

// schedule is everything a seed decides.
type schedule struct {
	seed     int64
	classes  classSet
	lookback time.Duration
	apps     []appPlan
	// ignoreAll makes the emulator ignore Last-Event-ID on every connection.
	ignoreAll bool

	subprocess bool
	maxEvents  int
	maxWait    time.Duration
	checkpoint time.Duration
	shutdown   time.Duration

	fsync  string
	stdout bool
	// stdoutDelay makes each write to stdout wait that long (in process
	// only): a pipe into a slow reader.
	stdoutDelay time.Duration
	http        *httpPlan

	stops       []stopPlan
	shortWrites []shortWrite
}

// appPlan is one application and the faults of its first connections.
type appPlan struct {
	app   emulator.App
	conns []connFault
}

// connFault is what happens to one logs request of an application.
type connFault struct {
	status     int    // answered instead of a stream (0: none)
	retryAfter string // with status
	cut        bool   // the body is cut after cutAt bytes
	cutAt      int64
	clean      bool // the cut ends the response cleanly instead of aborting the connection
	ignoreLEID bool // Last-Event-ID removed before the emulator sees it
	silence    bool // nothing written for silenceFor once silenceAt bytes are out
	silenceAt  int64
	silenceFor time.Duration
}

func (c connFault) String() string {
	var parts []string
	if c.status != 0 {
		s := fmt.Sprint(c.status)
		if c.retryAfter != "" {
			s += "(Retry-After " + c.retryAfter + ")"
		}
		parts = append(parts, s)
	}
	if c.ignoreLEID {
		parts = append(parts, "no-LEID")
	}
	if c.silence {
		parts = append(parts, fmt.Sprintf("silent@%dB/%v", c.silenceAt, c.silenceFor))
	}
	if c.cut {
		kind := "abort"
		if c.clean {
			kind = "end"
		}
		parts = append(parts, fmt.Sprintf("%s@%dB", kind, c.cutAt))
	}
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, "+")
}

// httpPlan is the HTTP sink and its receiver's faults.
type httpPlan struct {
	inFlight    int
	maxEvents   int
	gzip        bool
	dropNewest  bool
	bufferBytes int // 0: the default
	delay       time.Duration
	faults      map[int]rcvFault // by request number, from 1
	stuckFrom   int              // from request stuckFrom on, for stuckFor, every request answers 503
	stuckFor    time.Duration
}

// rcvFault is what the receiver does with one request.
type rcvFault struct {
	status     int
	retryAfter string
	acceptFail bool // store the batch, then answer 503 (the answer is lost)
}

// stopKind is how a run is stopped before its end.
type stopKind int

const (
	stopClean stopKind = iota // SIGTERM (in process: the context), drain, final save
	stopCrash                 // no final save: the checkpoints are rolled back to an earlier periodic save
	stopKill                  // SIGKILL of the subprocess
)

func (k stopKind) String() string { return [...]string{"clean", "crash", "sigkill"}[k] }

// stopPlan stops the current run once the emulator has sent at lines
// (counted over every connection, replays included).
type stopPlan struct {
	at   int64
	kind stopKind
}

// shortWrite limits the subprocess's file size to the output file's size
// plus slack once the emulator has sent at lines, for hold.
type shortWrite struct {
	at    int64
	slack int64
	hold  time.Duration
}

// classRand is the random stream of one class: a class's draws do not
// move when another class is switched on or off.
func classRand(seed int64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// drawSchedule draws the schedule of seed with the classes on.
func drawSchedule(seed int64, on classSet) *schedule {
	base := classRand(seed, "base")
	s := &schedule{seed: seed, classes: on}
	s.lookback = time.Duration(2+base.IntN(9)) * 250 * time.Millisecond // 0.5s..2.5s
	s.maxEvents = 5 + base.IntN(60)
	s.maxWait = time.Duration(2+base.IntN(40)) * time.Millisecond
	s.checkpoint = time.Duration(10+base.IntN(150)) * time.Millisecond
	s.shutdown = 30 * time.Second
	s.fsync = []string{"batch", "interval", "never"}[base.IntN(3)]
	s.stdout = base.IntN(5) < 3

	// The applications: a few hundred lines each, dated in the recent past.
	nApps := 1 + base.IntN(2)
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	total := int64(0)
	for i := range nApps {
		a := emulator.App{
			Backlog:   80 + base.IntN(320),
			Start:     start,
			Spacing:   time.Duration(3+base.IntN(30)) * time.Millisecond,
			Instances: 1 + base.IntN(4),
			Disorder:  -1,
			SameDate:  1,
		}
		if r := classRand(seed, fmt.Sprintf("disorder/%d", i)); on[fcDisorder] && r.IntN(4) > 0 {
			// Up to the look-back itself: the promise holds to the boundary.
			a.Disorder = time.Duration(r.Int64N(int64(s.lookback/time.Millisecond)+1)) * time.Millisecond
			if a.Disorder == 0 {
				a.Disorder = -1
			}
		}
		if r := classRand(seed, fmt.Sprintf("same_date/%d", i)); on[fcSameDate] && r.IntN(4) > 0 {
			a.SameDate = 2 + r.IntN(10)
		}
		if r := classRand(seed, fmt.Sprintf("submilli/%d", i)); on[fcSubMilli] && r.IntN(2) == 0 {
			a.SubMillisecond = true
		}
		if r := classRand(seed, fmt.Sprintf("future/%d", i)); on[fcFuture] && r.IntN(3) == 0 {
			a.FutureEvery = 30 + r.IntN(150)
			a.FutureSkew = time.Hour
		}
		total += int64(a.Backlog)
		s.apps = append(s.apps, appPlan{app: a})
	}
	if r := classRand(seed, "ignore_all"); on[fcIgnoreLEID] && r.IntN(4) == 0 {
		s.ignoreAll = true
	}

	// The first connections of each application.
	for i := range s.apps {
		r := classRand(seed, fmt.Sprintf("conns/%d", i))
		n := r.IntN(8)
		silent := false
		for range n {
			var c connFault
			switch k := r.IntN(10); {
			case k < 2 && on[fcStatus]:
				c.status = []int{500, 502, 503, 503, 429, 429}[r.IntN(6)]
				if c.status == 429 || c.status == 503 {
					c.retryAfter = []string{"", "", "0", "1"}[r.IntN(4)]
				}
			case k < 4 && on[fcSilence] && !silent:
				// Shorter than the heartbeat timeout (the stream goes on) or
				// well beyond it (the source must reconnect), never near it.
				silent = true
				c.silence = true
				c.silenceAt = r.Int64N(30_000)
				// Long silences (the source must reconnect) belong to
				// silence_edge: they too lose a line now and then today.
				if long := r.IntN(3) == 0; !long || !on[fcSilenceEdge] {
					c.silenceFor = time.Duration(50+r.IntN(int(simHeartbeatTimeout/time.Millisecond)/5)) * time.Millisecond
				} else {
					c.silenceFor = simHeartbeatTimeout*5/4 + time.Duration(r.IntN(1000))*time.Millisecond
				}
			case k < 5 && on[fcSilenceEdge] && !silent:
				// Data again right when the watchdog fires.
				silent = true
				c.silence = true
				c.silenceAt = r.Int64N(30_000)
				c.silenceFor = simHeartbeatTimeout + time.Duration(r.IntN(21)-10)*time.Millisecond
			}
			if on[fcDrop] && c.status == 0 && r.IntN(3) > 0 {
				c.cut = true
				if r.IntN(4) == 0 {
					c.cutAt = r.Int64N(1500) // within the first lines, often mid-frame
				} else {
					c.cutAt = r.Int64N(60_000)
				}
				c.clean = r.IntN(3) == 0
			}
			if on[fcIgnoreLEID] && c.status == 0 && r.IntN(2) == 0 {
				c.ignoreLEID = true
			}
			s.apps[i].conns = append(s.apps[i].conns, c)
		}
	}

	// The HTTP sink.
	if r := classRand(seed, "http"); r.IntN(10) < 7 || on[fcDropNewest] && r.IntN(2) == 0 {
		h := &httpPlan{inFlight: 1 + r.IntN(3), maxEvents: 5 + r.IntN(80), gzip: r.IntN(2) == 0, faults: map[int]rcvFault{}}
		if on[fcSinkHTTP] {
			fr := classRand(seed, "sink_http")
			for req := 1; req <= 40; req++ {
				if fr.IntN(4) != 0 {
					continue
				}
				switch fr.IntN(6) {
				case 0, 1:
					h.faults[req] = rcvFault{status: []int{500, 502, 503}[fr.IntN(3)]}
				case 2:
					h.faults[req] = rcvFault{status: 429, retryAfter: []string{"", "0", "1"}[fr.IntN(3)]}
				case 3:
					h.faults[req] = rcvFault{acceptFail: true}
				default:
					h.faults[req] = rcvFault{status: 408}
				}
			}
			if fr.IntN(3) == 0 {
				h.delay = time.Duration(fr.IntN(20)) * time.Millisecond
			}
		}
		if dr := classRand(seed, "drop_newest"); on[fcDropNewest] && dr.IntN(2) == 0 {
			h.dropNewest = true
			h.bufferBytes = (2 + dr.IntN(14)) << 10
			h.delay = time.Duration(5+dr.IntN(30)) * time.Millisecond
			if sr := classRand(seed, "drop_stuck"); on[fcDropStuck] && sr.IntN(2) == 0 {
				h.stuckFrom = 1 + sr.IntN(10)
				h.stuckFor = time.Duration(1500+sr.IntN(3000)) * time.Millisecond
				s.shutdown = time.Duration(200+sr.IntN(1500)) * time.Millisecond
			}
		}
		s.http = h
	}

	// How the runs stop. A seed is a subprocess seed for SIGKILLs and short
	// writes, otherwise the agent runs in this process.
	if r := classRand(seed, "subprocess"); (on[fcKill] || on[fcShortWrite] && shortWriteSupported) && r.IntN(8) == 0 {
		s.subprocess = true
		if s.http != nil && s.http.dropNewest {
			// The drop count of a killed process is unknown: drop modes run
			// in process only (see simulate).
			s.http.dropNewest, s.http.bufferBytes, s.http.stuckFrom, s.http.stuckFor = false, 0, 0, 0
			s.shutdown = 30 * time.Second
		}
	}
	addStops := func(class faultClass, kind stopKind, max int) {
		r := classRand(seed, "stops/"+class.String())
		if !on[class] {
			return
		}
		for range r.IntN(max + 1) {
			s.stops = append(s.stops, stopPlan{at: r.Int64N(total*6/5 + 1), kind: kind})
		}
	}
	addStops(fcRestart, stopClean, 3)
	addStops(fcCrash, stopCrash, 2)
	if s.subprocess {
		addStops(fcKill, stopKill, 4)
		if r := classRand(seed, "short_write"); on[fcShortWrite] && shortWriteSupported {
			for range r.IntN(4) {
				s.shortWrites = append(s.shortWrites, shortWrite{
					at: r.Int64N(total + 1), slack: r.Int64N(3000), hold: time.Duration(20+r.IntN(400)) * time.Millisecond,
				})
			}
			slices.SortFunc(s.shortWrites, func(a, b shortWrite) int { return int(a.at - b.at) })
		}
	}
	if r := classRand(seed, "slow_stdout"); on[fcSlowStdout] && s.stdout && !s.subprocess && r.IntN(2) == 0 {
		// Batches queue for stdout, and a stop's drain is often cut
		// short with some of them written and the rest abandoned: each
		// sink must then resume exactly after what it wrote (seed 42269).
		s.stdoutDelay = time.Duration(2+r.IntN(20)) * time.Millisecond
		s.shutdown = min(s.shutdown, time.Duration(50+r.IntN(400))*time.Millisecond)
	}
	slices.SortStableFunc(s.stops, func(a, b stopPlan) int { return int(a.at - b.at) })
	return s
}

// String is the schedule as printed with a failing seed.
func (s *schedule) String() string {
	var b strings.Builder
	mode := "in process"
	if s.subprocess {
		mode = "subprocess"
	}
	fmt.Fprintf(&b, "  agent %s; lookback %v, batch %d events/%v, checkpoint every %v, shutdown_timeout %v\n",
		mode, s.lookback, s.maxEvents, s.maxWait, s.checkpoint, s.shutdown)
	for i, a := range s.apps {
		fmt.Fprintf(&b, "  app %d: %d lines, spacing %v, %d instances, disorder %v, same date ≤%d, submilli %v, future 1/%d; connections %v\n",
			i, a.app.Backlog, a.app.Spacing, a.app.Instances, max(a.app.Disorder, 0), a.app.SameDate, a.app.SubMillisecond, a.app.FutureEvery, a.conns)
	}
	if s.ignoreAll {
		b.WriteString("  the server ignores Last-Event-ID on every connection\n")
	}
	fmt.Fprintf(&b, "  sinks: file (fsync %s)", s.fsync)
	if s.stdout {
		b.WriteString(", stdout")
		if s.stdoutDelay > 0 {
			fmt.Fprintf(&b, " (%v a write)", s.stdoutDelay)
		}
	}
	if h := s.http; h != nil {
		fmt.Fprintf(&b, ", http (in_flight %d, batch %d, gzip %v, delay %v", h.inFlight, h.maxEvents, h.gzip, h.delay)
		if h.dropNewest {
			fmt.Fprintf(&b, ", drop_newest in %d bytes", h.bufferBytes)
		}
		if h.stuckFor > 0 {
			fmt.Fprintf(&b, ", stuck from request %d for %v", h.stuckFrom, h.stuckFor)
		}
		keys := make([]int, 0, len(h.faults))
		for k := range h.faults {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var fs []string
		for _, k := range keys {
			f := h.faults[k]
			switch {
			case f.acceptFail:
				fs = append(fs, fmt.Sprintf("#%d:stored+503", k))
			default:
				fs = append(fs, fmt.Sprintf("#%d:%d%s", k, f.status, map[bool]string{true: "(RA " + f.retryAfter + ")"}[f.retryAfter != ""]))
			}
		}
		fmt.Fprintf(&b, ", faults %v)", fs)
	}
	b.WriteString("\n  stops:")
	for _, st := range s.stops {
		fmt.Fprintf(&b, " %s@%d", st.kind, st.at)
	}
	for _, w := range s.shortWrites {
		fmt.Fprintf(&b, " short-write@%d(+%dB for %v)", w.at, w.slack, w.hold)
	}
	b.WriteString("\n")
	return b.String()
}
