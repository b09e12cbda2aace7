package main

// The seeded fault simulation (issue 8): each seed draws a fault schedule
// and runs the real agent (source → pipeline → file, stdout and HTTP sinks)
// against the API emulator over real HTTP on loopback, restarting it
// cleanly, "crashing" it (restart without a final save) and, for a share
// of seeds, killing a real subprocess with SIGKILL; it checks as it goes,
// and at the end, that every line reached every sink exactly once and in
// order (for drop_newest: no duplicate, and every missing line counted as
// dropped), that a checkpoint is never ahead of what every sink holds, and
// that the sinks' buffers stay within their bound.
//
// What is deterministic: one seed decides every fault (which connection of
// which application is cut at which byte, answers 5xx or 429, goes silent
// or ignores Last-Event-ID; which receiver request fails; when the agent
// is stopped and how; the generated logs themselves). What is not: the
// goroutine scheduling of the agent and of net/http, its reconnect jitter,
// and so how batches are cut. A failing seed replays the same schedule, and
// nearly always fails the same way; the schedule is printed with it.
//
// Runs:
//
//	go test ./cmd/logship -run TestSimulation                         # CI: the CI seed set
//	go test ./cmd/logship -run TestSimulation -sim.seed 1234 -v      # replay one seed
//	go test ./cmd/logship -run TestSimulation -sim.seeds 2000        # more seeds
//	bash scripts/sim.sh 30m                                           # long mode
//
// The same settings are read from SIM_SEED, SIM_SEEDS, SIM_START,
// SIM_DURATION, SIM_FAULTS and SIM_PARALLEL when the flags are not given.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	simSeedFlag     = flag.Int64("sim.seed", 0, "simulation: replay this one seed")
	simSeedsFlag    = flag.Int("sim.seeds", 0, "simulation: number of seeds to run (default: the CI count)")
	simStartFlag    = flag.Int64("sim.start", 0, "simulation: first seed of a -sim.seeds or -sim.duration run (default 1, or random with -sim.duration)")
	simDurationFlag = flag.Duration("sim.duration", 0, "simulation: run consecutive seeds for this long (long mode)")
	simFaultsFlag   = flag.String("sim.faults", "", "simulation: fault classes, comma-separated, 'ci' (default) or 'all'; '-name' removes one")
	simParallelFlag = flag.Int("sim.parallel", 0, "simulation: seeds run at once (default 8 per core: seeds mostly wait)")
	simKeepFlag     = flag.Bool("sim.keep", false, "simulation: keep the directory of failing seeds")
	simRepeatFlag   = flag.Int("sim.repeat", 1, "simulation: run each seed this many times (a replay under load)")
)

// simCISeeds is how many seeds CI runs (seeds 1..simCISeeds), plus the
// regression list.
const simCISeeds = 300

// faultClass is one switchable kind of fault.
type faultClass int

const (
	fcDrop        faultClass = iota // log streams cut at any byte: connection aborted or response ended cleanly
	fcIgnoreLEID                    // the server ignores Last-Event-ID (on some connections, or all)
	fcDisorder                      // dates out of order within the look-back
	fcSameDate                      // bursts of lines sharing one date
	fcSubMilli                      // dates with microseconds
	fcFuture                        // lines dated an hour ahead of the wall clock
	fcSilence                       // a stream going silent (no line, no heartbeat) at any byte, for well under the heartbeat timeout
	fcSilenceEdge                   // silences beyond the heartbeat timeout, or ending right when it fires
	fcStatus                        // 5xx and 429 (with or without Retry-After) on the logs endpoint
	fcSinkHTTP                      // the HTTP receiver answers 5xx/429, accepts then fails, or is slow
	fcDropNewest                    // an HTTP sink with when_full: drop_newest under pressure
	fcDropStuck                     // that drop_newest sink stuck for seconds, stops landing meanwhile
	fcRestart                       // clean stops (SIGTERM) and restarts
	fcCrash                         // restarts without a final save: the checkpoint rolled back to a periodic save
	fcKill                          // a real SIGKILL of a logship subprocess
	fcShortWrite                    // short writes of the file sink (file size limit), subprocess, Linux
	fcSlowStdout                    // a slow stdout (each write waits) and a short shutdown_timeout: drains cut with batches queued
	numFaultClasses
)

var faultClassNames = [numFaultClasses]string{
	"drop", "ignore_leid", "disorder", "same_date", "submilli", "future", "silence", "silence_edge", "status",
	"sink_http", "drop_newest", "drop_stuck", "restart", "crash", "sigkill", "short_write",
	"slow_stdout",
}

func (c faultClass) String() string { return faultClassNames[c] }

// simCIFaults are the classes CI enables: those that hold on main; a
// class that finds a hole leaves the set with a seed in simRegressions
// until its fix has landed and the long mode runs clean with it. Every
// class is in: silence_edge joined once the source stopped counting a
// refused line as seen; drop_newest and drop_stuck once the resume
// position was the earliest of the sinks' in stream order; short_write
// once nothing was written after a hard stop; slow_stdout once a batch
// written before a hard stop was always checkpointed (seed 42269).
var simCIFaults = []faultClass{
	fcDrop, fcIgnoreLEID, fcDisorder, fcSameDate, fcSubMilli, fcFuture, fcSilence, fcSilenceEdge, fcStatus, fcSinkHTTP,
	fcDropNewest, fcDropStuck, fcRestart, fcCrash, fcKill, fcShortWrite, fcSlowStdout,
}

// simRegression is a seed that found a bug: it runs in CI with exactly its
// classes once every one of them is in the CI set.
type simRegression struct {
	seed    int64
	classes string
	bug     string
}

// simRegressions keeps each seed that found a bug (STYLE.md: each bug found
// keeps its seed). The classes listed are the fewest that replay it.
var simRegressions = []simRegression{
	// Found by the simulation, not in issue 8: when the heartbeat watchdog
	// fires as a Read returns data (a silence ending right at
	// heartbeat_timeout, or a starved machine), the source has already put
	// the line in its read window when Pipeline.Submit fails with the
	// attempt's cancelled context: the line is never delivered, the next
	// reconnect resumes after it, and the checkpoint passes it
	// (source/stream.go handleLog). 4 of seeds 1-12 of silence_edge; also
	// seed 5354 of the CI classes while long silences were among them.
	// Fixed: a line the Output refused is not seen (TestRefusedSubmitIsReadAgain).
	{seed: 3, classes: "silence_edge", bug: "a line lost when the watchdog fires as data arrives"},
	// Two sinks whose positions shared their newest date (the lines between
	// them dated earlier, out of order within the look-back): the source
	// resumed from the one listed first, further along, and the sink behind
	// never got the lines between them (21036, 21327: the HTTP sink's
	// checkpoint ahead of what it held; 21863: stdout's run started 2 lines
	// after its checkpoint; 22124: after a crash, the HTTP sink's final
	// checkpoint stayed behind, its lines never replayed). Long mode,
	// 2026-11-28, about 1 seed in 900; timing-dependent. Fixed: the
	// resume position is the one with the fewest lines delivered among
	// those sharing the oldest newest date (pipeline.oldest;
	// TestResumeFromSinkBehindWithSameNewestDate).
	{seed: 21036, classes: "ci", bug: "resume from the sink further along when two share the newest date (http)"},
	{seed: 21327, classes: "ci", bug: "resume from the sink further along when two share the newest date (http, LEID ignored)"},
	{seed: 21863, classes: "ci", bug: "resume from the sink further along when two share the newest date (stdout)"},
	{seed: 22124, classes: "ci", bug: "resume from the sink further along when two share the newest date (final checkpoint)"},
	// Short writes (a file size limit) still on while logship stops, then
	// restarts: the file sink wrote lines 35 and 36 after line 2, then 3
	// onwards, 35 and 36 again (long mode, 2026-11-28; 4 of 32 replays).
	// The drain ran out of shutdown_timeout on the refused batch, and the
	// lane's writer went on to the batches queued behind it: the file sink
	// (which does not look at the context) wrote the small ones that fit.
	// Fixed: nothing is written after the hard stop
	// (TestHardStopWritesNothingMore).
	{seed: 1273, classes: "all,-silence_edge", bug: "file sink: lines out of place and doubled after short writes across a stop"},
	// drop_stuck: after the stuck receiver, the HTTP sink's final checkpoint
	// stays 2 lines short of the end and one missing line is not counted
	// as dropped (long mode, 2026-11-28).
	// drop_newest without a stuck receiver, same signature: the HTTP sink's
	// final checkpoint 3 lines short of the end (1 of 60 CI seeds on
	// 2026-11-28 with the per-sink positions). drop_newest left the CI set
	// for them. Both fit the resume from the sink further along (seeds
	// 21036…): the lines after where the HTTP sink's position ended (255
	// of 0..255 in 1440, 143 and 144 of 0..144 in 11's second application)
	// are dated before the newest line ahead of them, so that position
	// shared its newest date with the file sink's at the end, the source
	// resumed from the file's and those lines never came again. Neither
	// fails since the fix (11 did not in 48 replays before it either:
	// timing-dependent).
	{seed: 1440, classes: "all,-silence_edge", bug: "drop_newest sink: a line neither delivered nor counted as dropped"},
	{seed: 11, classes: "ci,drop_newest", bug: "drop_newest sink: final checkpoint short of the end"},
	// The 30-minute long run of 2026-11-28 04:12 (3,091 seeds): the stdout
	// sink got line 277 of app 0 a second time in the run after one that
	// completed with its drain cut by shutdown_timeout (416ms; 107 stdout
	// events abandoned) while the HTTP sink was stuck: stdout's final
	// checkpoint was behind a batch it had written. The tracker groups a
	// sink's owed events by the lane's batch; an event tracked under the
	// batch current when fanOut read it, but added to the next one
	// (the other source's event had filled the first in between), tied
	// the two: the second abandoned, the first was not checkpointed.
	// Clean in 108 replays before the fix (timing-dependent); the
	// slow_stdout class, made for it, found it again once in 1,000 seeds
	// of restart,slow_stdout (seed 1819) without the fix. Fixed: the
	// lanes are locked from reading the batch to adding the event
	// (TestHardStopCheckpointsEveryBatchWritten: 5 of 5 runs failed before).
	{seed: 42269, classes: "ci", bug: "stdout sink: a line again after a drain cut by shutdown_timeout (a batch written, not checkpointed)"},
}

// classSet is a set of fault classes.
type classSet [numFaultClasses]bool

func (s classSet) String() string {
	var names []string
	for c, on := range s {
		if on {
			names = append(names, faultClass(c).String())
		}
	}
	return strings.Join(names, ",")
}

func (s classSet) subsetOf(o classSet) bool {
	for c := range s {
		if s[c] && !o[c] {
			return false
		}
	}
	return true
}

// parseClasses reads "ci", "all", or a comma-separated list of class names;
// "-name" removes a class from what came before.
func parseClasses(spec string) (classSet, error) {
	var s classSet
	if spec == "" {
		spec = "ci"
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		on := true
		if strings.HasPrefix(part, "-") {
			on, part = false, part[1:]
		}
		switch part {
		case "":
		case "ci":
			for _, c := range simCIFaults {
				s[c] = on
			}
		case "all":
			for c := range s {
				s[c] = on
			}
		default:
			i := slices.Index(faultClassNames[:], part)
			if i < 0 {
				return s, fmt.Errorf("unknown fault class %q (known: %s)", part, strings.Join(faultClassNames[:], ", "))
			}
			s[i] = on
		}
	}
	return s, nil
}

// simSettings are the flags, or the environment when a flag is unset.
type simSettings struct {
	seed     int64
	seeds    int
	start    int64
	duration time.Duration
	classes  classSet
	parallel int
	keep     bool
	repeat   int
}

func readSimSettings(t *testing.T) simSettings {
	t.Helper()
	env := func(name string) string { return os.Getenv(name) }
	st := simSettings{seed: *simSeedFlag, seeds: *simSeedsFlag, start: *simStartFlag, duration: *simDurationFlag,
		parallel: *simParallelFlag, keep: *simKeepFlag, repeat: max(1, *simRepeatFlag)}
	var err error
	if st.seed == 0 && env("SIM_SEED") != "" {
		if st.seed, err = strconv.ParseInt(env("SIM_SEED"), 10, 64); err != nil {
			t.Fatalf("SIM_SEED: %v", err)
		}
	}
	if st.seeds == 0 && env("SIM_SEEDS") != "" {
		if st.seeds, err = strconv.Atoi(env("SIM_SEEDS")); err != nil {
			t.Fatalf("SIM_SEEDS: %v", err)
		}
	}
	if st.start == 0 && env("SIM_START") != "" {
		if st.start, err = strconv.ParseInt(env("SIM_START"), 10, 64); err != nil {
			t.Fatalf("SIM_START: %v", err)
		}
	}
	if st.duration == 0 && env("SIM_DURATION") != "" {
		if st.duration, err = time.ParseDuration(env("SIM_DURATION")); err != nil {
			t.Fatalf("SIM_DURATION: %v", err)
		}
	}
	if st.parallel == 0 && env("SIM_PARALLEL") != "" {
		if st.parallel, err = strconv.Atoi(env("SIM_PARALLEL")); err != nil {
			t.Fatalf("SIM_PARALLEL: %v", err)
		}
	}
	if env("SIM_KEEP") != "" {
		st.keep = true
	}
	spec := *simFaultsFlag
	if spec == "" {
		spec = env("SIM_FAULTS")
	}
	if st.classes, err = parseClasses(spec); err != nil {
		t.Fatal(err)
	}
	if st.parallel <= 0 {
		st.parallel = 8 * runtime.GOMAXPROCS(0)
	}
	return st
}

// simJob is one seed to run with its classes.
type simJob struct {
	seed    int64
	classes classSet
	note    string
}

// TestSimulation runs the seeded fault simulation: by default the CI seed
// set; see the package comment of this file for the long mode and replays.
func TestSimulation(t *testing.T) {
	st := readSimSettings(t)
	if testing.Short() && st.seed == 0 && st.seeds == 0 && st.duration == 0 {
		t.Skip("the simulation's CI seed set runs without -short")
	}
	// Beside the package's other parallel tests: its CPU-bound seeds
	// overlap the minute TestShapingBlockedSinkRSS spends waiting.
	t.Parallel()
	var jobs func(yield func(simJob) bool)
	switch {
	case st.seed != 0:
		jobs = func(yield func(simJob) bool) {
			for range st.repeat {
				if !yield(simJob{seed: st.seed, classes: st.classes}) {
					return
				}
			}
		}
	case st.duration > 0:
		first := st.start
		if first == 0 {
			first = 1 + rand.Int64N(1<<40)
		}
		deadline := time.Now().Add(st.duration)
		jobs = func(yield func(simJob) bool) {
			for s := first; time.Now().Before(deadline); s++ {
				if !yield(simJob{seed: s, classes: st.classes}) {
					return
				}
			}
		}
		t.Logf("long mode: seeds from %d for %v, faults %s", first, st.duration, st.classes)
	default:
		n, first := st.seeds, st.start
		if n == 0 {
			n = simCISeeds
		}
		if first == 0 {
			first = 1
		}
		jobs = func(yield func(simJob) bool) {
			ci, _ := parseClasses("ci")
			if st.seeds == 0 && st.start == 0 { // the CI set: regressions first
				for _, r := range simRegressions {
					cs, err := parseClasses(r.classes)
					if err != nil {
						panic(err)
					}
					if cs.subsetOf(ci) && cs.subsetOf(st.classes) {
						if !yield(simJob{seed: r.seed, classes: cs, note: "regression: " + r.bug}) {
							return
						}
					}
				}
			}
			for s := first; s < first+int64(n); s++ {
				if !yield(simJob{seed: s, classes: st.classes}) {
					return
				}
			}
		}
	}

	// Seeds write under SIM_DIR, default /dev/shm when it exists: every
	// batch and checkpoint is fsynced, and hundreds of seeds fsyncing to a
	// disk would measure the disk, not logship.
	base := os.Getenv("SIM_DIR")
	if fi, err := os.Stat("/dev/shm"); base == "" && err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	root, err := os.MkdirTemp(base, "logship-sim-")
	if err != nil {
		t.Fatal(err)
	}
	if !st.keep {
		t.Cleanup(func() { os.RemoveAll(root) })
	}
	var (
		mu       sync.Mutex
		ran      int
		failed   []string
		stats    simStats
		wg       sync.WaitGroup
		sem      = make(chan struct{}, st.parallel)
		stopping atomic.Bool
	)
	started := time.Now()
	for job := range jobs {
		if stopping.Load() && st.duration == 0 {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dir, err := os.MkdirTemp(root, fmt.Sprintf("seed-%d-", job.seed))
			if err != nil {
				t.Error(err)
				return
			}
			res := simulate(job.seed, job.classes, dir)
			mu.Lock()
			defer mu.Unlock()
			ran++
			stats.add(res)
			if len(res.problems) > 0 {
				failed = append(failed, strconv.FormatInt(job.seed, 10))
				t.Errorf("%s", res.report(job, st))
				if st.keep {
					t.Logf("SEED=%d: its files are kept in %s", job.seed, dir)
					return
				}
			}
			_ = os.RemoveAll(dir)
		}()
	}
	wg.Wait()
	elapsed := time.Since(started).Round(time.Millisecond)
	t.Logf("simulation: %d seeds in %v, %d clean, %d failed %v; faults %s; %s",
		ran, elapsed, ran-len(failed), len(failed), failed, st.classes, stats)
	if st.duration > 0 || st.seeds > 0 {
		// The long mode's summary line, for scripts/sim.sh and the README.
		fmt.Printf("SIM SUMMARY: %d seeds, %d clean, %d failed in %v; faults %s; %s\n",
			ran, ran-len(failed), len(failed), elapsed, st.classes, stats)
	}
}

// simStats counts what the seeds exercised, to show the faults were real.
type simStats struct {
	seeds, lines, restarts, crashes, kills, cuts, silences, statuses, rcvFaults, drops, shortWrites, subprocess, timeouts int
}

func (s *simStats) add(r *simResult) {
	s.seeds++
	s.lines += r.lines
	s.restarts += r.restarts
	s.crashes += r.crashes
	s.kills += r.kills
	s.cuts += r.cuts
	s.silences += r.silences
	s.statuses += r.statuses
	s.rcvFaults += r.rcvFaults
	s.drops += r.drops
	s.shortWrites += r.shortWrites
	s.timeouts += r.timeouts
	if r.subprocess {
		s.subprocess++
	}
}

func (s simStats) String() string {
	return fmt.Sprintf("exercised: %d lines, %d clean restarts, %d crash restarts, %d SIGKILLs (%d subprocess seeds), %d cut streams, %d silences, %d 5xx/429, %d receiver faults, %d drop_newest drops, %d short-write episodes, %d drains past shutdown_timeout",
		s.lines, s.restarts, s.crashes, s.kills, s.subprocess, s.cuts, s.silences, s.statuses, s.rcvFaults, s.drops, s.shortWrites, s.timeouts)
}
