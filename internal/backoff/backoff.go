// Package backoff is the one retry delay policy of logship, shared by the
// source's reconnects and the pipeline's sink retries: a bound that starts
// at an initial value and grows by half (x1.5) at each attempt up to a cap
// (cenkalti/backoff's exponential backoff with its default multiplier,
// without its own randomisation), and full jitter on
// top: each wait is uniform in [0, bound], so that many streams or agents
// failing together do not retry in step.
package backoff

import (
	"math/rand/v2"
	"time"

	cb "github.com/cenkalti/backoff/v4"
)

// Backoff yields the waits between attempts. It is not safe for
// concurrent use: each retry loop owns one.
type Backoff struct {
	exp *cb.ExponentialBackOff
}

// New returns a Backoff whose bound starts at initial and grows by half
// at each Next up to ceiling; it never gives up (a caller that bounds the total time does so
// itself). Both must be positive.
func New(initial, ceiling time.Duration) *Backoff {
	exp := cb.NewExponentialBackOff()
	exp.InitialInterval, exp.MaxInterval = initial, ceiling
	exp.MaxElapsedTime, exp.RandomizationFactor = 0, 0
	exp.Reset()
	return &Backoff{exp: exp}
}

// Next returns the next wait, uniform in [0, bound], and grows the bound
// by half (up to ceiling).
func (b *Backoff) Next() time.Duration {
	return time.Duration(rand.Int64N(int64(b.exp.NextBackOff()) + 1))
}

// Reset brings the bound back to initial (after a success).
func (b *Backoff) Reset() { b.exp.Reset() }
