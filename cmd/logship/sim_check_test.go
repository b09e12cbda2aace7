package main

import (
	"fmt"
	"slices"
)

// finalChecks checks what every sink holds once a run completed.
func (st *simState) finalChecks() {
	if len(st.runs) == 0 || st.runs[len(st.runs)-1].end != "complete" {
		return // the run loop has already said why
	}
	file, bad := st.fileIndexes()
	if len(bad) > 0 {
		st.res.fail("file sink: lines that are no event (torn or glued): %q", bad)
	}
	var missingDropped int
	for i, sa := range st.apps {
		st.checkExact("file", i, file[sa.id])
		if st.s.stdout {
			segs := make([][]int, len(st.runs))
			for r, rec := range st.runs {
				segs[r] = rec.stdout[sa.id]
			}
			st.checkRuns("stdout", i, segs, true, false, false)
		}
		if st.rcv != nil {
			segs := make([][]int, len(st.runs))
			for _, l := range st.rcv.ids(sa.id) {
				j, ok := sa.index[l.id]
				if !ok {
					st.res.fail("http sink: app %d got an id it never sent: %s", i, l.id)
					continue
				}
				if l.run < len(segs) {
					segs[l.run] = append(segs[l.run], j)
				}
			}
			ordered := st.s.http.inFlight == 1
			missingDropped += st.checkRuns("http", i, segs, ordered, true, st.s.http.dropNewest)
		}
		for _, sink := range st.sinkNames() {
			if c := at(st.runs[len(st.runs)-1].next[i], sink); c != len(sa.ids)-1 {
				st.res.fail("s%d: the final checkpoint of sink %s is at line %d of %d", i, sink, c, len(sa.ids))
			}
		}
	}
	if st.s.http != nil && st.s.http.dropNewest {
		var dropped int64
		for _, r := range st.runs {
			dropped += r.drops
		}
		if int64(missingDropped) > dropped {
			st.res.fail("http sink (drop_newest): %d lines missing but only %d counted in logship_events_dropped_total{reason=\"buffer_full\"}", missingDropped, dropped)
		}
	}
}

// crashLike reports whether a run that ended so may leave sink lines it
// gets again at the next start: a crash or a SIGKILL; a drain past
// shutdown_timeout for the HTTP sink only, whose request in flight may
// have been stored without an answer, and whose batches written in
// parallel (in_flight above 1) may follow one abandoned. The file and
// stdout sinks write a batch whole or not at all and one at a time: a
// drain cut short, stuck neighbour or loaded machine, leaves each exactly
// at what it wrote (seed 42269 found it did not always).
func crashLike(run runRecord, sink string) bool {
	return run.end == stopCrash.String() || run.end == stopKill.String() || run.cut && sink == "http"
}

// sinkNames are the seed's sinks.
func (st *simState) sinkNames() []string {
	names := []string{"file"}
	if st.s.stdout {
		names = append(names, "stdout")
	}
	if st.s.http != nil {
		names = append(names, "http")
	}
	return names
}

// checkExact checks a sink that must hold every line of app i exactly
// once, in order, whatever happened (the file sink reconciles after a crash).
func (st *simState) checkExact(sink string, i int, got []int) {
	want := len(st.apps[i].ids)
	if len(got) == want {
		ok := true
		for j, g := range got {
			if g != j {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	st.res.fail("%s sink, app %d: %s", sink, i, describe(got, want))
}

// describe explains how got differs from 0..want-1.
func describe(got []int, want int) string {
	seen := map[int]int{}
	dups := 0
	for _, g := range got {
		seen[g]++
		if seen[g] == 2 {
			dups++
		}
	}
	var missing []int
	for j := range want {
		if seen[j] == 0 {
			missing = append(missing, j)
		}
	}
	first := -1
	for j, g := range got {
		if g != j {
			first = j
			break
		}
	}
	s := fmt.Sprintf("%d lines for %d: %d missing %v, %d duplicated", len(got), want, len(missing), head(missing), dups)
	if first >= 0 {
		s += fmt.Sprintf("; first out of place at %d: %v", first, got[first:min(len(got), first+8)])
	}
	return s
}

func head(x []int) []int {
	if len(x) > 8 {
		return x[:8]
	}
	return x
}

// checkRuns checks a sink that does not reconcile (stdout, http), given
// what it got in each run (segs[r]), against where each run resumed:
//
//   - run r starts right after the checkpoint it loaded and goes on in order
//     (when ordered; otherwise as a set), with no gap: a checkpoint never
//     passes a line the sink lacks (but for drop_newest, where lines may
//     be missing, each counted as dropped);
//   - a line arrives once, plus once more for each crash (or SIGKILL) that
//     left the checkpoint before it while the sink held it: a clean stop
//     and restart never sends a line twice;
//   - a sink that dedupes (the HTTP receiver drops a batch whose
//     Idempotency-Key it accepted) may skip lines it already held.
//
// The last run must end at the last line (but for drop_newest). It returns
// the number of lines the sink never got.
func (st *simState) checkRuns(sink string, i int, segs [][]int, ordered, dedupes, drops bool) int {
	n := len(st.apps[i].ids)
	count := make([]int, n)
	allow := make([]int, n) // re-sends allowed by crashes
	held := 0               // lines below held were in the sink (block sinks: all of them)
	for r, seg := range segs {
		start := 0
		if r > 0 {
			start = at(st.runs[r-1].next[i], sink) + 1
		}
		if start > held && !drops {
			st.res.fail("%s sink, app %d: run %d resumes after line %d but the sink holds lines up to %d only: lines %d..%d are lost (a checkpoint ahead of the sink)",
				sink, i, r, start-1, held-1, held, start-1)
			return 0
		}
		got := seg
		if !ordered {
			got = slices.Sorted(slices.Values(seg))
		}
		// With batches written in parallel, a run that ends without a
		// drain, or whose drain was cut short (a crash's too), leaves holes
		// where batches were abandoned while later ones were written.
		holes := !ordered && (st.runs[r].cut || st.runs[r].end == stopKill.String())
		e := start
		for k, j := range got {
			for (dedupes || drops || holes) && e < j && (drops || holes || e < held) {
				e++ // dropped, or sent again and dropped by the receiver as a replayed batch
			}
			if j != e {
				st.res.fail("%s sink, app %d, run %d (resumed at line %d): %d lines; line %d of the run is %d, want %d (around: %v)",
					sink, i, r, start, len(got), k, j, e, got[max(0, k-3):min(len(got), k+6)])
				return 0
			}
			e++
			count[j]++
			if count[j] > 1+allow[j] {
				st.res.fail("%s sink, app %d, run %d: line %d arrives a %s time, with no crash to explain it (a clean restart or a reconnect sent it again)",
					sink, i, r, j, ordinal(count[j]))
				return 0
			}
		}
		held = max(held, e)
		if crashLike(st.runs[r], sink) {
			for j := at(st.runs[r].next[i], sink) + 1; j < held; j++ {
				allow[j]++
			}
		}
	}
	missing := 0
	for j := range n {
		if count[j] == 0 {
			missing++
			if !drops {
				st.res.fail("%s sink, app %d: line %d never arrived (%d lines missing)", sink, i, j, n-held)
				return 0
			}
		}
	}
	return missing
}

func ordinal(n int) string {
	switch n {
	case 2:
		return "second"
	case 3:
		return "third"
	}
	return fmt.Sprintf("%dth", n)
}
