package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
)

// simSeedTimeout bounds one seed: a seed still running then has lost its
// liveness (a stuck stream, a sink that never drains, a run that never ends).
const simSeedTimeout = 3 * time.Minute

// simResult is what one seed found and exercised.
type simResult struct {
	sched    *schedule
	problems []string
	logs     []string // warnings and errors the agent logged, for the report
	elapsed  time.Duration

	lines, restarts, crashes, kills, cuts, silences, statuses, rcvFaults, drops, shortWrites, timeouts int
	subprocess                                                                                         bool
}

func (r *simResult) fail(format string, args ...any) {
	if len(r.problems) < 12 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// report is the failure message: the seed first, so that it can be replayed.
func (r *simResult) report(job simJob, st simSettings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SEED=%d failed (faults %s", job.seed, job.classes)
	if job.note != "" {
		fmt.Fprintf(&b, "; %s", job.note)
	}
	fmt.Fprintf(&b, "; %v)\n", r.elapsed.Round(time.Millisecond))
	for _, p := range r.problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	b.WriteString("schedule:\n")
	b.WriteString(r.sched.String())
	if len(r.logs) > 0 {
		b.WriteString("agent warnings and errors (first ones):\n")
		for _, l := range r.logs {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	fmt.Fprintf(&b, "replay: go test -race ./cmd/logship -run 'TestSimulation$' -v -sim.seed %d -sim.faults %s\n", job.seed, job.classes)
	return b.String()
}

// runRecord is one run of the agent, from its start to its stop.
type runRecord struct {
	end    string           // how it ended: clean, crash, sigkill, complete
	cut    bool             // its drain ran out of shutdown_timeout (whatever the end)
	stdout map[string][]int // line indexes written to stdout, by app
	next   []map[string]int // per app and sink, the checkpoint the next run starts from (line index; absent: none)
	drops  int64            // events dropped for a full buffer (logship_events_dropped_total{reason="buffer_full"})
}

// simApp is one application with its expected lines.
type simApp struct {
	id    string
	ids   []string       // the expected ids, in arrival order
	index map[string]int // id -> position in ids
}

// simState is one seed's world.
type simState struct {
	s       *schedule
	res     *simResult
	dir     string
	state   string // state_dir
	out     string // the file sink's path
	cfg     string // config path
	emu     *emulator.Emulator
	api     *faultyAPI
	rcv     *simReceiver
	apps    []simApp
	runs    []runRecord
	yamlFor func(run int) string
	// shutdown, when set, replaces the schedule's shutdown_timeout.
	shutdown time.Duration
	bounds   map[string]float64 // sink name -> buffer bound in bytes
	// fileCache and stdoutCache parse the file and this run's stdout once.
	fileCache, stdoutCache lineCache
	memMax                 float64 // the process's memory bound (subprocess)
}

// simulate runs one seed in dir and returns what it found.
func simulate(seed int64, classes classSet, dir string) (res *simResult) {
	s := drawSchedule(seed, classes)
	res = &simResult{sched: s, subprocess: s.subprocess}
	started := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res.fail("panic: %v", p)
		}
		res.elapsed = time.Since(started)
	}()

	apps := make([]emulator.App, len(s.apps))
	for i, a := range s.apps {
		apps[i] = a.app
	}
	emu := emulator.New(emulator.Options{Apps: apps, Token: "test-token", Seed: seed,
		HeartbeatInterval: 100 * time.Millisecond, IgnoreLastEventID: s.ignoreAll})
	fa := &faultyAPI{emu: emu, plans: map[string][]connFault{}, conns: map[string]int{}}
	apps = emu.Apps()
	st := &simState{s: s, res: res, dir: dir, emu: emu, api: fa,
		state: filepath.Join(dir, "state"), out: filepath.Join(dir, "out", "logs.ndjson"), cfg: filepath.Join(dir, "logship.yaml")}
	for i, a := range apps {
		fa.plans[a.ID] = s.apps[i].conns
		sa := simApp{id: a.ID, index: map[string]int{}}
		for j, l := range emu.Lines(a.ID) {
			sa.ids = append(sa.ids, l.ID)
			sa.index[l.ID] = j
		}
		st.apps = append(st.apps, sa)
		res.lines += len(sa.ids)
	}
	srv := httptest.NewServer(fa)
	defer func() {
		emu.Close()
		srv.Close()
	}()
	if s.http != nil {
		st.rcv = newSimReceiver(s.http)
		defer st.rcv.srv.Close()
	}
	st.yamlFor = func(run int) string { return st.yaml(srv.URL, apps, run) }
	cfg, err := st.writeConfig(0)
	if err != nil {
		res.fail("%v", err)
		return res
	}
	st.bounds = map[string]float64{}
	for i, sc := range cfg.Sinks {
		st.bounds[sc.Name] = float64(cfg.SinkBuffer(i).MaxBytes)
	}
	st.memMax = float64(memoryBound(cfg, 0))

	st.runAll(started.Add(simSeedTimeout))
	st.finalChecks()
	if st.rcv != nil && len(res.problems) > 0 {
		st.rcv.mu.Lock()
		_ = os.WriteFile(filepath.Join(dir, "receiver.trace"), []byte(strings.Join(st.rcv.trace, "\n")+"\n"), 0o600)
		st.rcv.mu.Unlock()
	}
	res.cuts, res.silences, res.statuses = int(fa.cuts.Load()), int(fa.silences.Load()), int(fa.statuses.Load())
	if st.rcv != nil {
		st.rcv.mu.Lock()
		res.rcvFaults = st.rcv.faults
		st.rcv.mu.Unlock()
	}
	return res
}

// writeConfig writes the configuration of run and loads it.
func (st *simState) writeConfig(run int) (*config.Config, error) {
	if err := os.WriteFile(st.cfg, []byte(st.yamlFor(run)), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	cfg, err := config.Load(st.cfg, func(string) (string, bool) { return "", false }, sinkTable.Config())
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// yaml is the seed's configuration for run.
func (st *simState) yaml(api string, apps []emulator.App, run int) string {
	s := st.s
	var b strings.Builder
	fmt.Fprintf(&b, "api:\n  url: %s\n  token: test-token\nstate_dir: %s\n", api, st.state)
	shutdown := s.shutdown
	if st.shutdown > 0 {
		shutdown = st.shutdown
	}
	fmt.Fprintf(&b, "checkpoint:\n  interval: %v\nshutdown_timeout: %v\n", s.checkpoint, shutdown)
	fmt.Fprintf(&b, "dead_letter:\n  path: %s\n", filepath.Join(st.dir, "dead.ndjson"))
	b.WriteString("sources:\n")
	for i, a := range apps {
		fmt.Fprintf(&b, "  - name: s%d\n    owner_id: %s\n    application_id: %s\n    since: %s\n    until: %s\n",
			i, a.OwnerID, a.ID, a.Start.Add(-time.Minute).Format(time.RFC3339Nano), a.Start.Add(2*time.Hour).Format(time.RFC3339Nano))
		fmt.Fprintf(&b, "    throttle_elements: 1000\n    throttle_per_ms: 5\n    heartbeat_timeout: %v\n    lookback: %v\n", simHeartbeatTimeout, s.lookback)
	}
	fmt.Fprintf(&b, "pipeline:\n  batch:\n    max_events: %d\n    max_wait: %v\n", s.maxEvents, s.maxWait)
	fmt.Fprintf(&b, "sinks:\n  - type: file\n    name: file\n    path: %s\n    fsync: %s\n    fsync_interval: 20ms\n", st.out, s.fsync)
	if s.stdout {
		b.WriteString("  - type: stdout\n    name: stdout\n")
	}
	if h := s.http; h != nil {
		fmt.Fprintf(&b, "  - type: http\n    name: http\n    url: %s/ingest\n    in_flight: %d\n", st.rcv.srv.URL, h.inFlight)
		// The run's number: a request that a killed process had sent
		// still arrives after its death, and must count for its run.
		fmt.Fprintf(&b, "    headers:\n      X-Sim-Run: \"%d\"\n", run)
		b.WriteString("    retry_initial_backoff: 10ms\n    retry_max_backoff: 150ms\n")
		if h.gzip {
			b.WriteString("    compression: gzip\n")
		}
		fmt.Fprintf(&b, "    batch:\n      max_events: %d\n", h.maxEvents)
		if h.dropNewest {
			fmt.Fprintf(&b, "      max_bytes: %d\n    buffer:\n      max_bytes: %d\n      when_full: drop_newest\n", h.bufferBytes, h.bufferBytes)
		}
	}
	b.WriteString("metrics:\n  listen: 127.0.0.1:0\nlog:\n  level: info\n")
	return b.String()
}

// agentRun is one running agent, in this process or a subprocess.
type agentRun struct {
	stdout, stderr syncBuffer
	done           chan int // the exit code
	addr           atomic.Value
	cancel         context.CancelFunc // in process
	cmd            *exec.Cmd          // subprocess
}

var metricsAddrRe = regexp.MustCompile(`"msg":"serving metrics","addr":"([^"]+)"`)

func (a *agentRun) metricsAddr() string {
	if v, ok := a.addr.Load().(string); ok {
		return v
	}
	if a.cmd != nil {
		if m := metricsAddrRe.FindStringSubmatch(a.stderr.String()); m != nil {
			a.addr.Store(m[1])
			return m[1]
		}
	}
	return ""
}

// slowWriter makes each write wait delay first: a pipe into a slow reader.
type slowWriter struct {
	w     io.Writer
	delay time.Duration
}

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.w.Write(p)
}

func (st *simState) startAgent(cfg *config.Config) (*agentRun, error) {
	a := &agentRun{done: make(chan int, 1)}
	if !st.s.subprocess {
		ctx, cancel := context.WithCancel(context.Background())
		a.cancel = cancel
		var stdout io.Writer = &a.stdout
		if d := st.s.stdoutDelay; d > 0 {
			stdout = slowWriter{w: stdout, delay: d}
		}
		go func() {
			a.done <- runAgent(ctx, cfg, agentIO{stdout: stdout, stderr: &a.stderr,
				ready: func(addr string) { a.addr.Store(addr) }})
		}()
		return a, nil
	}
	a.cmd = exec.Command(os.Args[0], "run", "--config", st.cfg)
	a.cmd.Env = append(os.Environ(), "LOGSHIP_TEST_AS_MAIN=1")
	a.cmd.Stdout, a.cmd.Stderr = &a.stdout, &a.stderr
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		err := a.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			a.done <- 0
		case errors.As(err, &ee):
			a.done <- ee.ExitCode() // -1 when killed by a signal
		default:
			a.done <- -2
		}
	}()
	return a, nil
}

// stop stops a with kind and returns its exit code.
func (a *agentRun) stop(kind stopKind) int {
	switch {
	case a.cmd != nil && kind == stopKill:
		_ = a.cmd.Process.Signal(syscall.SIGKILL)
	case a.cmd != nil:
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
	default:
		a.cancel()
	}
	return <-a.done
}

// runAll runs the agent until a run completes by itself (every source
// reached until), stopping and restarting it as the schedule says.
func (st *simState) runAll(deadline time.Time) {
	s, res := st.s, st.res
	stops := s.stops
	shorts := s.shortWrites
	for run := 0; ; run++ {
		st.stdoutCache = lineCache{}
		cfg, err := st.writeConfig(run)
		if err != nil {
			res.fail("run %d: %v", run, err)
			return
		}
		a, err := st.startAgent(cfg)
		if err != nil {
			res.fail("run %d: start: %v", run, err)
			return
		}
		rec := runRecord{end: "complete"}
		var (
			code        = -3
			limitedAt   time.Time
			limitHold   time.Duration
			lastCheck   time.Time
			lastScrape  time.Time
			scrapeDrops float64
		)
		tick := time.NewTicker(5 * time.Millisecond)
	poll:
		for {
			select {
			case code = <-a.done:
				break poll
			case <-tick.C:
			}
			sent := st.emu.Stats().LinesSent
			if a.cmd != nil && !limitedAt.IsZero() && time.Since(limitedAt) >= limitHold {
				if err := setFileSizeLimit(a.cmd.Process.Pid, -1); err != nil {
					res.fail("lift the file size limit: %v", err)
				}
				limitedAt = time.Time{}
			}
			if a.cmd != nil && limitedAt.IsZero() && len(shorts) > 0 && sent >= shorts[0].at {
				size := int64(0)
				if fi, err := os.Stat(st.out); err == nil {
					size = fi.Size()
				}
				if err := setFileSizeLimit(a.cmd.Process.Pid, size+shorts[0].slack); err != nil {
					res.fail("set a file size limit: %v", err)
				}
				limitedAt, limitHold = time.Now(), shorts[0].hold
				shorts = shorts[1:]
				res.shortWrites++
			}
			if time.Since(lastCheck) >= 100*time.Millisecond {
				st.checkCheckpoints(run, a, false)
				lastCheck = time.Now()
			}
			if time.Since(lastScrape) >= 500*time.Millisecond {
				if d, ok := st.checkMemory(a); ok {
					scrapeDrops = max(scrapeDrops, d)
				}
				lastScrape = time.Now()
			}
			// A subprocess is stopped once it serves metrics: its signal
			// handlers are installed by then.
			if len(stops) > 0 && sent >= stops[0].at && (a.cmd == nil || a.metricsAddr() != "") {
				kind := stops[0].kind
				stops = stops[1:]
				rec.end = kind.String()
				var snapshot map[string][]byte
				if kind == stopCrash {
					snapshot = readCheckpointFiles(st.state)
				}
				code = a.stop(kind)
				switch kind {
				case stopClean:
					res.restarts++
				case stopCrash:
					res.crashes++
					if err := restoreCheckpointFiles(st.state, snapshot); err != nil {
						res.fail("run %d: roll the checkpoints back: %v", run, err)
					}
				case stopKill:
					res.kills++
				}
				break poll
			}
			if time.Now().After(deadline) {
				res.fail("run %d: not complete after %v (liveness): the emulator sent %d lines; sinks hold %s",
					run, simSeedTimeout, sent, st.holdings())
				a.stop(stopKill)
				st.collectLogs(a)
				return
			}
		}
		tick.Stop()
		if a.cmd != nil && !limitedAt.IsZero() {
			limitedAt = time.Time{}
		}
		if code == -1 && a.cmd != nil && rec.end != stopKill.String() && strings.Contains(a.stderr.String(), "logship stopped cleanly") {
			code = 0 // SIGTERM came as the run was exiting by itself, after its handler was gone
		}
		if code == exitFail && a.cmd != nil && strings.Contains(a.stderr.String(), "file too large") {
			// Stopped with the disk full (a short-write episode that lasted
			// through the drain): the final save failed, as it must; the
			// run ends as a crash would.
			code, rec.end = 0, stopCrash.String()
		}
		if rec.end != stopKill.String() && code != 0 {
			res.fail("run %d (%s): exit code %d", run, rec.end, code)
		}
		st.collectLogs(a)
		_ = os.WriteFile(filepath.Join(st.dir, fmt.Sprintf("run-%d.stderr", run)), []byte(a.stderr.String()), 0o600)
		_ = os.WriteFile(filepath.Join(st.dir, fmt.Sprintf("run-%d.stdout", run)), []byte(a.stdout.String()), 0o600)
		// What this run wrote to stdout, and where the next run starts.
		rec.stdout = st.stdoutIndexes(run, a.stdout.String(), rec.end == stopKill.String())
		rec.next = st.checkpoints(run)
		if d, ok := dropTotals(a.stderr.String()); ok {
			rec.drops = d
		} else {
			rec.drops = int64(scrapeDrops)
		}
		res.drops += int(rec.drops)
		// The drain ran out of shutdown_timeout: what was unwritten is
		// left for the next start, for the sinks that had not written it
		// (crashLike says which may get lines again).
		errOut := a.stderr.String()
		rec.cut = strings.Contains(errOut, "shutdown timeout") || strings.Contains(errOut, "hard stop")
		st.runs = append(st.runs, rec)
		if rec.end != stopCrash.String() && rec.end != stopKill.String() {
			st.checkCheckpoints(run, a, true)
		}
		if rec.cut {
			res.timeouts++
			// A stuck sink has had its stop: later runs drain in full, so
			// that the seed ends even on a slow machine.
			st.shutdown = 30 * time.Second
			if rec.end == "complete" {
				continue
			}
		}
		if rec.end == "complete" || len(res.problems) > 0 {
			return
		}
	}
}

// collectLogs keeps the first warnings and errors of a run for the report.
func (st *simState) collectLogs(a *agentRun) {
	for _, l := range strings.Split(a.stderr.String(), "\n") {
		if len(st.res.logs) >= 25 {
			return
		}
		if strings.Contains(l, `"level":"error"`) || strings.Contains(l, `"level":"warn"`) || strings.HasPrefix(l, "logship:") || strings.Contains(l, "panic") || strings.Contains(l, "DATA RACE") {
			if len(l) > 400 {
				l = l[:400] + "…"
			}
			st.res.logs = append(st.res.logs, l)
		}
	}
}

// simCheckpoints is what the simulation reads of state_dir/checkpoints.json
// (version 2 and later: a delivered position per source and sink).
type simCheckpoints struct {
	Version int `json:"version"`
	Sources []struct {
		Source    string `json:"source"`
		Positions []struct {
			LastID string `json:"last_id"`
		} `json:"positions"`
		Sinks map[string]int `json:"sinks"`
	} `json:"sources"`
}

// checkpoints returns, per app, the line index each sink's checkpoint is at
// (a sink absent from the map has none).
func (st *simState) checkpoints(run int) []map[string]int {
	out := make([]map[string]int, len(st.apps))
	for i := range out {
		out[i] = map[string]int{}
	}
	data, err := os.ReadFile(filepath.Join(st.state, "checkpoints.json"))
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		st.res.fail("run %d: read the checkpoints: %v", run, err)
		return out
	}
	var cp simCheckpoints
	// Versions 2 and 3 share what is read here; a later one may add keys.
	if err := json.Unmarshal(data, &cp); err != nil || cp.Version < 2 {
		st.res.fail("run %d: checkpoints unreadable (version %d, %v): %.200s", run, cp.Version, err, data)
		return out
	}
	for _, src := range cp.Sources {
		i, err := strconv.Atoi(strings.TrimPrefix(src.Source, "s"))
		if err != nil || i < 0 || i >= len(st.apps) {
			st.res.fail("run %d: checkpoint of an unknown source %q", run, src.Source)
			continue
		}
		for sink, k := range src.Sinks {
			if k < 0 || k >= len(src.Positions) {
				st.res.fail("run %d: checkpoint of %s: sink %s points at position %d of %d", run, src.Source, sink, k, len(src.Positions))
				continue
			}
			id := src.Positions[k].LastID
			if id == "" {
				continue // nothing delivered to this sink yet
			}
			j, ok := st.apps[i].index[id]
			if !ok {
				st.res.fail("run %d: checkpoint of %s for sink %s names an id the application never sent: %q", run, src.Source, sink, id)
				continue
			}
			out[i][sink] = j
		}
	}
	return out
}

// at returns sink's checkpoint in cps (-1: none).
func at(cps map[string]int, sink string) int {
	if j, ok := cps[sink]; ok {
		return j
	}
	return -1
}

// checkpointFiles are the state_dir entries that hold checkpoints.
var checkpointFiles = []string{"checkpoints.json"}

func readCheckpointFiles(state string) map[string][]byte {
	out := map[string][]byte{}
	for _, name := range checkpointFiles {
		if data, err := os.ReadFile(filepath.Join(state, name)); err == nil {
			out[name] = data
		}
	}
	return out
}

// restoreCheckpointFiles puts the checkpoint files back as snapshot had
// them: what a crash right after that periodic save would have left.
func restoreCheckpointFiles(state string, snapshot map[string][]byte) error {
	for _, name := range checkpointFiles {
		p := filepath.Join(state, name)
		data, ok := snapshot[name]
		if !ok {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// fileIndexes returns the line indexes of each app in the file sink's file
// (its complete lines), and the lines that are no event of any app.
func (st *simState) fileIndexes() (map[string][]int, []string) {
	data, err := os.ReadFile(st.out)
	if err != nil {
		return map[string][]int{}, nil
	}
	return st.indexLines(completeLines(data), true)
}

// lineCache parses a growing NDJSON text once: it keeps what it parsed
// while the text only grows.
type lineCache struct {
	parsed []byte // the text parsed so far (complete lines)
	index  map[string][]int
}

func (c *lineCache) indexes(st *simState, data []byte) map[string][]int {
	data = completeLines(data)
	if c.index == nil || len(data) < len(c.parsed) || !bytes.Equal(data[:len(c.parsed)], c.parsed) {
		c.parsed, c.index = nil, map[string][]int{}
	}
	more, _ := st.indexLines(data[len(c.parsed):], false)
	for app, ix := range more {
		c.index[app] = append(c.index[app], ix...)
	}
	c.parsed = append(c.parsed[:0:0], data...)
	return c.index
}

// indexLines maps NDJSON lines to line indexes by app; strict also checks
// that each line is valid JSON.
func (st *simState) indexLines(data []byte, strict bool) (map[string][]int, []string) {
	out := map[string][]int{}
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		app, id := jsonField(line, "applicationId"), jsonField(line, "id")
		j, ok := -1, false
		for _, a := range st.apps {
			if a.id == app {
				j, ok = a.index[id]
			}
		}
		if !ok || strict && !json.Valid(line) {
			if len(bad) < 3 {
				bad = append(bad, fmt.Sprintf("%.160s", line))
			}
			continue
		}
		out[app] = append(out[app], j)
	}
	return out, bad
}

// stdoutIndexes returns what a run wrote to stdout; a killed run may have
// torn its last line, which counts as not written.
func (st *simState) stdoutIndexes(run int, out string, killed bool) map[string][]int {
	if !st.s.stdout {
		return nil
	}
	data := []byte(out)
	if killed {
		data = completeLines(data)
	}
	m, bad := st.indexLines(data, true)
	if len(bad) > 0 {
		st.res.fail("run %d: stdout holds lines that are no event: %q", run, bad)
	}
	return m
}

// holdings summarises what the sinks hold, for liveness failures.
func (st *simState) holdings() string {
	file, _ := st.fileIndexes()
	var parts []string
	for _, a := range st.apps {
		p := fmt.Sprintf("%s: %d expected, file %d", a.id[:12], len(a.ids), len(file[a.id]))
		if st.rcv != nil {
			p += fmt.Sprintf(", http %d", len(st.rcv.ids(a.id)))
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// checkCheckpoints checks, while a runs (or right after a clean stop), that
// no checkpoint is ahead of what a sink that does not drop holds: read the
// checkpoints first, the sinks after (sinks only grow).
func (st *simState) checkCheckpoints(run int, a *agentRun, stopped bool) {
	cps := st.checkpoints(run)
	fileData, _ := os.ReadFile(st.out)
	held := map[string]map[string]map[int]bool{"file": setOf(st.fileCache.indexes(st, fileData))}
	// A subprocess's stdout reaches this process through a pipe, later than
	// the checkpoint that covers it: it is checked once the run stopped.
	if st.s.stdout && (a.cmd == nil || stopped) {
		all := map[string][]int{}
		for _, r := range st.runs {
			for app, ix := range r.stdout {
				all[app] = append(all[app], ix...)
			}
		}
		cur := st.stdoutCache.indexes(st, []byte(a.stdout.String()))
		for app, ix := range cur {
			all[app] = append(all[app], ix...)
		}
		held["stdout"] = setOf(all)
	}
	if st.rcv != nil && !st.s.http.dropNewest {
		all := map[string][]int{}
		for _, sa := range st.apps {
			for _, l := range st.rcv.ids(sa.id) {
				if j, ok := sa.index[l.id]; ok {
					all[sa.id] = append(all[sa.id], j)
				}
			}
		}
		held["http"] = setOf(all)
	}
	for i, sa := range st.apps {
		for sink, h := range held {
			c := at(cps[i], sink)
			for j := 0; j <= c; j++ {
				if !h[sa.id][j] {
					when := "while running"
					if stopped {
						when = "after the stop"
					}
					st.res.fail("run %d, %s: the checkpoint of s%d for sink %s is at line %d but the sink lacks line %d (%s): a checkpoint ahead of its sink",
						run, when, i, sink, c, j, sa.ids[j])
					return
				}
			}
		}
	}
}

// completeLines cuts data after its last line break.
func completeLines(data []byte) []byte {
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		return nil
	}
	return data[:i+1]
}

func setOf(m map[string][]int) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for app, ix := range m {
		s := make(map[int]bool, len(ix))
		for _, j := range ix {
			s[j] = true
		}
		out[app] = s
	}
	return out
}

// checkMemory scrapes the agent's metrics: each sink's buffered bytes stay
// within its buffer, and a subprocess's heap within the bound logship
// computes for its config. It returns the buffer_full drop count.
func (st *simState) checkMemory(a *agentRun) (float64, bool) {
	addr := a.metricsAddr()
	if addr == "" {
		return 0, false
	}
	m, err := scrapeMetrics(addr)
	if err != nil {
		return 0, false // the agent may be stopping
	}
	for sink, bound := range st.bounds {
		if v, ok := m[`logship_sink_buffered_bytes{sink="`+sink+`"}`]; ok && v > bound {
			st.res.fail("sink %s buffers %.0f bytes, beyond its buffer.max_bytes %.0f", sink, v, bound)
		}
	}
	if a.cmd != nil {
		if v, ok := m["go_memstats_heap_inuse_bytes"]; ok && v > st.memMax {
			st.res.fail("the subprocess's heap is %.0f bytes, beyond its memory bound %.0f", v, st.memMax)
		}
	}
	d, ok := m[`logship_events_dropped_total{reason="buffer_full"}`]
	return d, ok
}

// scrapeMetrics reads a Prometheus text page into "name{labels}" -> value.
func scrapeMetrics(addr string) (map[string]float64, error) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
			out[l[:i]] = v
		}
	}
	return out, nil
}

// dropTotals reads the buffer_full count of the totals logged at a stop.
func dropTotals(stderr string) (int64, bool) {
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.Contains(l, "pipeline totals") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		if v, ok := m["buffer_full"].(float64); ok {
			return int64(v), true
		}
	}
	return 0, false
}
