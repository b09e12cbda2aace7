package emulator

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Faults are the failures the emulator injects. Set them in Options.Faults or, while running,
// with Emulator.SetFaults (which replaces them all) and Emulator.QueueStatus.
type Faults struct {
	// DropEvery, when > 0, closes each stream after about that many lines sent on it
	// (without END_OF_STREAM): each connection drops after DropEvery ± DropJitter lines,
	// drawn from the seed and the connection number.
	DropEvery  int
	DropJitter int
	// DropClean ends the response normally (a clean end of body) instead of aborting the
	// connection mid-stream.
	DropClean bool
	// SilenceAfter, when > 0, makes the connection that sends the SilenceAfter-th line
	// (counted over all connections from when these faults were set) go silent for
	// SilenceFor: no line, no heartbeat. It happens once.
	SilenceAfter int64
	SilenceFor   time.Duration
	// Statuses are answered, in order, to the next requests to the logs endpoint (before any
	// check), one each, instead of a stream.
	Statuses []StatusFault
	// Malformed are extra frames, each written once (on whichever stream first reaches its
	// position).
	Malformed []Malformed
	// API slow down or fail the look-up endpoints (everything but the logs stream): the
	// first entry matching a request applies.
	API []APIFault
}

// APIFault slows down or fails the look-up endpoints (/v2/…, /v4/orchestration/…,
// /v4/products/…), for discovery and enrichment tests. The logs stream is never affected
// (see StatusFault for it).
type APIFault struct {
	// Match restricts the fault to requests whose path contains it (for example
	// "/applications", "/instances", "/deployments", "/v4/products/zones"); empty matches
	// every look-up.
	Match string
	// Delay is waited before answering (the request's own end cuts it short).
	Delay time.Duration
	// Status, when set, is answered (a JSON error body fitting it) instead of the real answer.
	Status int
	// Count, when > 0, limits the fault to that many matching requests; 0: every one.
	Count int64
}

// StatusFault is an error response to a logs request.
type StatusFault struct {
	// Code is the HTTP status (e.g. 503, 500, 429).
	Code int
	// RetryAfter, when set, is sent as the Retry-After header (e.g. "1").
	RetryAfter string
	// Body, when set, is the JSON body; otherwise a JSON body fitting Code is sent.
	Body string
}

// MalformedKind is the kind of an injected frame.
type MalformedKind int

// The kinds of injected frames. Frames of kinds that carry a log carry an "id:" line and a
// JSON "id", both of the form "fault-<kind>-<position>", never one of Lines (but NoID, which
// has neither).
const (
	// BadJSON is an APPLICATION_LOG whose data is truncated JSON.
	BadJSON MalformedKind = iota + 1
	// UnknownEvent is a frame with an event name the protocol does not define.
	UnknownEvent
	// InvalidUTF8 is an APPLICATION_LOG whose JSON message holds invalid UTF-8 bytes.
	InvalidUTF8
	// Oversized is an APPLICATION_LOG with valid JSON and a message of Malformed.Size bytes
	// (default 1 MiB).
	Oversized
	// NoID is an APPLICATION_LOG with valid JSON but no id: neither an "id:" line nor a
	// JSON "id" (it is recognised by its message, "… has no id at all").
	NoID
	// Comment is two SSE comment lines (": …"), one alone before a blank line and one inside
	// the next frame.
	Comment
)

var malformedNames = map[MalformedKind]string{
	BadJSON: "badjson", UnknownEvent: "unknown", InvalidUTF8: "utf8", Oversized: "oversized",
	NoID: "noid", Comment: "comment",
}

// String returns the kind's short name.
func (k MalformedKind) String() string {
	if s, ok := malformedNames[k]; ok {
		return s
	}
	return "kind?"
}

// Malformed places an injected frame.
type Malformed struct {
	// AppID restricts it to one app; empty means any app.
	AppID string
	// At is the arrival position of the line the frame is written before (that line is then
	// sent as usual). The frame is written when a stream reaches At, whether or not the line
	// there matches the stream's filters.
	At   int64
	Kind MalformedKind
	// Size is the message size for Oversized; default 1 MiB.
	Size int
}

// faultState is an immutable snapshot of the faults, except for the consumed flags.
type faultState struct {
	f         Faults
	malformed []Malformed // sorted by At
	consumed  []atomic.Bool
}

func newFaultState(f Faults) *faultState {
	f.Statuses = nil // kept in the emulator's queue
	m := slices.Clone(f.Malformed)
	slices.SortStableFunc(m, func(a, b Malformed) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	f.Malformed = m
	return &faultState{f: f, malformed: m, consumed: make([]atomic.Bool, len(m))}
}

// nextMalformed returns the index of the first malformed entry at or after pos, or len.
func (s *faultState) nextMalformed(pos int64) int {
	i, _ := slices.BinarySearchFunc(s.malformed, pos, func(m Malformed, p int64) int {
		switch {
		case m.At < p:
			return -1
		case m.At > p:
			return 1
		}
		return 0
	})
	return i
}

// atOf returns the position of entry i, or the max int64 when there is none.
func (s *faultState) atOf(i int) int64 {
	if i >= len(s.malformed) {
		return 1<<63 - 1
	}
	return s.malformed[i].At
}

// apiFaultState is the API faults with their use counts.
type apiFaultState struct {
	faults []APIFault
	used   []atomic.Int64
}

func newAPIFaultState(f []APIFault) *apiFaultState {
	return &apiFaultState{faults: slices.Clone(f), used: make([]atomic.Int64, len(f))}
}

// match returns the fault to apply to path, consuming one use of it.
func (s *apiFaultState) match(path string) (APIFault, bool) {
	for i, f := range s.faults {
		if f.Match != "" && !strings.Contains(path, f.Match) {
			continue
		}
		if f.Count > 0 && s.used[i].Add(1) > f.Count {
			continue
		}
		return f, true
	}
	return APIFault{}, false
}
