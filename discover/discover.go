// Package discover follows the set of applications of one Clever Cloud
// owner: it lists them, keeps those a source's include and exclude
// patterns select, polls for changes, and tells its caller which
// applications to start following and which to stop. A listing that fails
// (an error status, a timeout) keeps the current set.
//
// What discovery found passes through one function, Options.Select, before
// anything is started or stopped: the place where splitting an
// organisation across replicas (a stable hash of application ids over a
// StatefulSet's ordinals) will plug in.
package discover

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/logship/logship/cleverapi"
	"github.com/logship/logship/config"
)

// Lister lists an owner's applications (cleverapi.Client does).
type Lister interface {
	Applications(ctx context.Context, owner string) ([]cleverapi.Application, error)
}

// Followers starts and stops following applications. Discovery calls them
// from one goroutine, in order.
type Followers interface {
	// Start follows app. initial is true for the applications found by the
	// first successful listing, false for those that appeared later.
	Start(app cleverapi.Application, initial bool)
	// Stop stops following the application of id (drained: what was read
	// is delivered, and its checkpoint kept), and returns when it stopped.
	Stop(id string)
}

// Options configure a Discoverer.
type Options struct {
	// Owner is the organisation (orga_…) or user (user_…) whose
	// applications are listed.
	Owner    string
	Discover config.Discover
	Lister   Lister
	// Select filters what the listing found after the include and exclude
	// patterns: the one place a later `shard` option implements. Nil keeps
	// every application. It must not modify its argument.
	Select    func([]cleverapi.Application) []cleverapi.Application
	Followers Followers
	Logger    *zap.Logger
	// Listed, when set, is called after each listing with its outcome and
	// the number of applications followed (for metrics and readiness).
	Listed func(err error, followed int)
}

// Discoverer runs discovery for one source. Create it with New; Run it once.
type Discoverer struct {
	opts    Options
	log     *zap.Logger
	current map[string]bool // ids followed now
	listed  bool            // a listing succeeded once
}

// New returns a Discoverer; it does no I/O.
func New(opts Options) *Discoverer {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Discoverer{opts: opts, log: opts.Logger, current: map[string]bool{}}
}

// RefusedError is the API refusing the first listing (401 or 403): the
// credentials cannot list the owner's applications, and retrying cannot
// fix it.
type RefusedError struct {
	Owner string
	Err   *cleverapi.StatusError
}

func (e *RefusedError) Error() string {
	return "listing the applications of " + e.Owner + ": " + e.Err.Error()
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Run lists at once, then every Interval, until ctx ends or the first
// listing is refused (a *RefusedError); then it stops following every
// application and returns.
func (d *Discoverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.opts.Discover.Interval.D())
	defer t.Stop()
	for {
		err := d.Poll(ctx)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			for _, id := range slices.Sorted(func(yield func(string) bool) {
				for id := range d.current {
					if !yield(id) {
						return
					}
				}
			}) {
				d.opts.Followers.Stop(id)
			}
			clear(d.current)
			return nil
		case <-t.C:
		}
	}
}

// Poll lists the applications once and starts and stops followers to match.
// It returns an error only when the first listing is refused (401, 403):
// any other failure keeps the current set. Run calls it.
func (d *Discoverer) Poll(ctx context.Context) error {
	apps, err := d.opts.Lister.Applications(ctx, d.opts.Owner)
	if ctx.Err() != nil {
		return nil
	}
	var se *cleverapi.StatusError
	if err != nil && !d.listed && errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden) {
		return &RefusedError{Owner: d.opts.Owner, Err: se}
	}
	if err != nil {
		d.log.Warn("listing the applications failed; following the same ones", zap.String("owner", d.opts.Owner),
			zap.Int("followed", len(d.current)), zap.Error(err))
		if d.opts.Listed != nil {
			d.opts.Listed(err, len(d.current))
		}
		return nil
	}
	want := d.selected(apps)
	initial := !d.listed
	d.listed = true
	keep := make(map[string]bool, len(want))
	for _, a := range want {
		keep[a.ID] = true
		if !d.current[a.ID] {
			d.current[a.ID] = true
			d.log.Info("following application", zap.String("owner", d.opts.Owner), zap.String("application_id", a.ID),
				zap.String("name", a.Name), zap.Bool("at_start", initial))
			d.opts.Followers.Start(a, initial)
		}
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range d.current {
			if !keep[id] && !yield(id) {
				return
			}
		}
	}) {
		d.log.Info("application gone or no longer selected: stopping", zap.String("owner", d.opts.Owner), zap.String("application_id", id))
		d.opts.Followers.Stop(id)
		delete(d.current, id)
	}
	if d.opts.Listed != nil {
		d.opts.Listed(nil, len(d.current))
	}
	return nil
}

// selected returns the applications the patterns and Select keep, archived
// ones left out, in listing order.
func (d *Discoverer) selected(apps []cleverapi.Application) []cleverapi.Application {
	var out []cleverapi.Application
	seen := map[string]bool{}
	for _, a := range apps {
		if a.ID == "" || a.Archived || seen[a.ID] || !d.opts.Discover.Selects(a.ID, a.Name) {
			continue
		}
		seen[a.ID] = true
		out = append(out, a)
	}
	if d.opts.Select != nil {
		out = d.opts.Select(out)
	}
	return out
}

// Since returns where a newly followed application without checkpoint
// starts: its creation date when it appeared after start-up (not initial),
// FromCreation is on and the date is within Retention of now; else zero
// (the source's own since).
func Since(d config.Discover, app cleverapi.Application, initial bool, now time.Time) time.Time {
	created := app.Created()
	if initial || !d.ReadsFromCreation() || created.IsZero() || now.Sub(created) > d.Retention.D() {
		return time.Time{}
	}
	return created
}
