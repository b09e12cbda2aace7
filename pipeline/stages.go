package pipeline

import (
	"context"

	"golang.org/x/time/rate"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// throttle is a token bucket over all events: in block mode it makes the
// submitting source wait (backpressure up to the stream); in drop mode it
// drops what exceeds the rate.
type throttle struct {
	lim  *rate.Limiter
	drop bool
}

func newThrottle(c config.Throttle) *throttle {
	if c.Rate <= 0 {
		return nil
	}
	burst := c.Burst
	if burst < 1 {
		burst = max(1, int(c.Rate))
	}
	return &throttle{lim: rate.NewLimiter(rate.Limit(c.Rate), burst), drop: c.Mode == "drop"}
}

// admit reports whether e may pass, waiting in block mode.
func (t *throttle) admit(ctx context.Context) (bool, error) {
	if t.drop {
		return t.lim.Allow(), nil
	}
	if err := t.lim.Wait(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// fieldFilter keeps (include) or removes (exclude) top-level fields of the
// event's JSON object. It copies the kept members' bytes as they are: no
// decode and re-encode.
type fieldFilter struct {
	include map[string]bool
	exclude map[string]bool
}

func newFieldFilter(c config.Fields) *fieldFilter {
	if len(c.Include) == 0 && len(c.Exclude) == 0 {
		return nil
	}
	f := &fieldFilter{}
	if len(c.Include) > 0 {
		f.include = make(map[string]bool, len(c.Include))
		for _, k := range c.Include {
			f.include[k] = true
		}
	}
	if len(c.Exclude) > 0 {
		f.exclude = make(map[string]bool, len(c.Exclude))
		for _, k := range c.Exclude {
			f.exclude[k] = true
		}
	}
	return f
}

// keep reports whether the member with this raw key (quotes included) stays.
func (f *fieldFilter) keep(m event.Member) bool {
	k := m.Key
	if bytesIndexByte(k, '\\') >= 0 {
		name := m.Name()
		return (f.include == nil || f.include[name]) && !f.exclude[name]
	}
	k = k[1 : len(k)-1]
	// map[string(b)] lookups do not allocate.
	if f.include != nil && !f.include[string(k)] {
		return false
	}
	return !f.exclude[string(k)]
}

func bytesIndexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// apply returns raw with only the kept members, in their order. raw is
// left untouched; when every member is kept, raw itself is returned.
func (f *fieldFilter) apply(raw []byte) []byte {
	all := true
	_ = event.EachMember(raw, func(m event.Member) bool {
		if !f.keep(m) {
			all = false
			return false
		}
		return true
	})
	if all {
		return raw
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	_ = event.EachMember(raw, func(m event.Member) bool {
		if f.keep(m) {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, m.Key...)
			out = append(out, ':')
			out = append(out, m.Value...)
		}
		return true
	})
	return append(out, '}')
}
