package pipeline

import (
	"context"

	"github.com/logship/logship/event"
)

// Sink is a destination of events.
//
// Write delivers one batch and returns nil only once the receiver has
// accepted every event of it (durably, as far as the sink can tell). A
// non-nil error follows the classification documented in package event:
// retryable (plain), event.Permanent, event.RetryAfter or *event.PartialError.
// The pipeline retries; a sink does not loop on its own. Write is called by
// one goroutine at a time unless the sink is configured with in_flight > 1,
// in which case calls may overlap. The batch belongs to the caller: a sink
// must not keep it after Write returns.
//
// Close releases the sink's resources after the last Write.
type Sink interface {
	Write(ctx context.Context, b *event.Batch) error
	Close() error
}

// Starter is implemented by sinks that do I/O before their first Write
// (open a file, reconcile its tail, connect). Start is called once, before
// any Write; an error stops logship's start-up.
type Starter interface {
	Start(ctx context.Context) error
}

// Reopener is implemented by sinks that hold files, to reopen them after a
// log rotation (SIGHUP).
type Reopener interface {
	Reopen() error
}
