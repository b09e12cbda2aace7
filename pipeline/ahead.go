package pipeline

import "time"

// maxAhead is how far after this host's clock a line may be dated and
// still move a delivered position's newest date: the source's tolerance
// for skewed instance clocks (issue 8 case 4). A line dated further ahead
// is delivered, moves the last id, and is remembered for dedupe, but
// neither the newest date (the next `since`, the lag) nor a skip set's end.
const maxAhead = time.Minute

// aheadHorizon tells the dates more than maxAhead after the clock. It
// reads the clock only when a date passes the horizon it last computed.
// The zero value uses time.Now. Not safe for concurrent use.
type aheadHorizon struct {
	now   func() time.Time // nil: time.Now
	limit int64            // now + maxAhead when last read
}

// ahead reports whether date (Unix nanoseconds) is more than maxAhead after
// the clock.
func (h *aheadHorizon) ahead(date int64) bool {
	if date <= h.limit {
		return false
	}
	now := time.Now
	if h.now != nil {
		now = h.now
	}
	h.limit = now().UnixNano() + int64(maxAhead)
	return date > h.limit
}
