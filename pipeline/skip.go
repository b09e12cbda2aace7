package pipeline

import (
	"time"

	"github.com/logship/logship/event"
)

// skipSet is what one sink's own delivered position covers beyond the
// position its source resumes from. A source resumes from the oldest
// position of its sinks; during the replay that follows, a sink that was
// further along skips, by date and id, what it already holds: the events
// dated before its look-back cutoff (windowCutoff; stream order differs from date order
// by less than the look-back, so these are all in its delivered prefix)
// and those whose id its look-back window holds. Once the stream brings an
// event dated beyond its newest date plus the look-back, nothing later can
// be covered and the set is dropped.
type skipSet struct {
	cutoff, until int64
	ids           map[string]struct{}
	h             aheadHorizon
}

// newSkipSet returns the skip set of a sink at pos when the source resumes
// from resume; nil when there is nothing to skip (pos is the resume
// position, or empty).
func newSkipSet(pos, resume event.Position, lookback time.Duration) *skipSet {
	if pos.IsZero() || (pos.LastID == resume.LastID && pos.Newest == resume.Newest) {
		return nil
	}
	s := &skipSet{cutoff: windowCutoff(pos.Newest, int64(lookback)), until: pos.Newest + int64(lookback),
		ids: make(map[string]struct{}, len(pos.Recent))}
	for _, r := range pos.Recent {
		s.ids[r.ID] = struct{}{}
	}
	return s
}

// covers reports whether the sink already holds e, and whether the set is
// spent (no later event can be covered). A line dated ahead of the clock
// (a skewed instance) is checked by id and spends nothing.
func (s *skipSet) covers(e *event.Event) (covered, spent bool) {
	if e.Date > s.until {
		if s.h.ahead(e.Date) {
			_, ok := s.ids[e.ID]
			return ok, false
		}
		return false, true
	}
	if e.Date < s.cutoff {
		return true, false
	}
	_, ok := s.ids[e.ID]
	return ok, false
}
