package backoff

import (
	"testing"
	"time"
)

// TestBounds: every wait lies in [0, bound], the bound growing by half
// from initial up to the ceiling, and Reset brings it back to initial.
func TestBounds(t *testing.T) {
	const initial, ceiling = 100 * time.Millisecond, time.Second
	b := New(initial, ceiling)
	bounds := []time.Duration{100_000, 150_000, 225_000, 337_500, 506_250, 759_375, 1_000_000, 1_000_000} // µs
	for round := range 2 {
		for i, bound := range bounds {
			bound *= time.Microsecond
			var hi time.Duration
			for range 200 {
				// Draw several times at this step: a fresh Backoff per
				// draw, advanced to step i.
				c := New(initial, ceiling)
				for range i {
					c.Next()
				}
				d := c.Next()
				if d < 0 || d > bound {
					t.Fatalf("round %d step %d: wait %v outside [0, %v]", round, i, d, bound)
				}
				hi = max(hi, d)
			}
			if hi < bound/2 {
				t.Errorf("step %d: 200 waits all below %v: not uniform up to %v", i, hi, bound)
			}
			if d := b.Next(); d < 0 || d > bound {
				t.Fatalf("round %d step %d: wait %v outside [0, %v]", round, i, d, bound)
			}
		}
		b.Reset()
	}
}
