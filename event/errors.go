package event

import (
	"errors"
	"time"
)

// A sink's Write returns nil when the receiver accepted every event of the
// batch. Otherwise the error says what the pipeline should do:
//
//   - a plain error is retryable: the pipeline writes the same batch again
//     after a backoff, without limit while the agent runs;
//   - Permanent(err): the receiver refused the content; retrying cannot help.
//     The batch goes to the dead-letter file and counts as delivered;
//   - RetryAfter(err, d): retryable, and the receiver asked to wait d first
//     (HTTP Retry-After);
//   - *PartialError: some events were accepted, some must be retried, some
//     were refused for good.

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a refusal that retrying cannot fix. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as retryable after at least d, as a receiver asked.
// RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, delay: d}
}

// RetryDelay returns the delay requested through RetryAfter, if any.
func RetryDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// Rejection is one event that a receiver refused for good, with its reason.
type Rejection struct {
	// Index is the event's index in the written Batch.Events.
	Index  int
	Reason string
}

// PartialError reports a batch that the receiver accepted only in part.
// Events whose index is in neither Retry nor Rejected were accepted.
type PartialError struct {
	// Retry lists the indexes (into Batch.Events, ascending) of events to
	// write again.
	Retry []int
	// Rejected lists events refused for good: they go to the dead-letter file.
	Rejected []Rejection
	// Err describes the failure, for logs. It may carry RetryAfter.
	Err error
}

func (e *PartialError) Error() string {
	if e.Err == nil {
		return "batch partially accepted"
	}
	return "batch partially accepted: " + e.Err.Error()
}

func (e *PartialError) Unwrap() error { return e.Err }
