package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/logship/logship/cleverapi"
	"github.com/logship/logship/config"
	"github.com/logship/logship/discover"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/source"
)

// followers follows the applications discovery finds for one source
// (sources[].discover): each is a source of its own, named
// `{source name}/{application id}`, with its own pipeline stream and
// checkpoint. It implements discover.Followers.
type followers struct {
	ctx   context.Context // ends every follower
	sc    config.Source   // the discovering source
	api   string
	pipe  *pipeline.Pipeline
	store *pipeline.Store // nil: checkpoints in memory only
	sinks []string        // the sinks' names, for Checkpoint.Resume
	// output is where a discovered source hands its lines.
	output func(config.Source) source.Output
	// base holds the options every discovered source shares.
	base source.Options
	wg   *sync.WaitGroup
	log  *zap.Logger
	now  func() time.Time

	// listed is set once a listing succeeded (readiness waits for it).
	listed atomic.Bool

	mu sync.Mutex
	// index maps an application to its pipeline stream, kept after a stop:
	// an application that comes back resumes from its delivered position.
	index   map[string]int
	running map[string]*follower
}

type follower struct {
	src    *source.Source
	cancel context.CancelFunc
	done   chan struct{}
}

var _ discover.Followers = (*followers)(nil)

// Start follows app from its checkpoint, else (an application that
// appeared while running) from its creation date when discovery's rules
// allow, else from the source's since.
func (f *followers) Start(app cleverapi.Application, initial bool) {
	sc := f.sc.ForApplication(app.ID, app.Name) // discover.overrides applied
	sc.Discover, sc.ApplicationID, sc.Name = nil, app.ID, f.sc.Name+"/"+app.ID
	log := f.log.With(zap.String("source", sc.Name))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running[app.ID] != nil {
		return
	}
	var start event.Position
	i, known := f.index[app.ID]
	if known {
		start = f.pipe.Position(i)
	} else {
		var cp pipeline.Checkpoint
		if f.store != nil {
			c, err := f.store.Load(sc.Name, app.ID)
			if err != nil {
				log.Error("not following the application: its checkpoint cannot be used", zap.Error(err))
				return
			}
			cp = c
			start = cp.Resume(f.sinks, !sc.SinceTime.IsZero())
		}
		i = f.pipe.AddSource(pipeline.Source{Name: sc.Name, AppID: app.ID, Start: start, Sinks: cp.Sinks, Lookback: sc.Lookback.D()})
		f.index[app.ID] = i
	}
	if start.IsZero() {
		if t := discover.Since(*f.sc.Discover, app, initial, f.now()); !t.IsZero() {
			sc.SinceTime = t
			log.Info("new application: reading from its creation date", zap.Time("since", t))
		}
	} else {
		log.Info("resuming from checkpoint", zap.String("last_id", start.LastID), zap.Time("newest", time.Unix(0, start.Newest).UTC()))
	}
	opts := f.base
	opts.SourceIndex, opts.Start, opts.Output = i, start, f.output(sc)
	src := source.New(f.api, sc, opts)
	ctx, cancel := context.WithCancel(f.ctx)
	fl := &follower{src: src, cancel: cancel, done: make(chan struct{})}
	f.running[app.ID] = fl
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(fl.done)
		var fatal *source.FatalError
		if err := src.Run(ctx); errors.As(err, &fatal) {
			// One application refused (403) must not stop the others.
			log.Error("stopped following the application", zap.Error(err))
		}
	}()
}

// Stop stops following the application of id and waits for its source to
// return; what it submitted is delivered and checkpointed as usual.
func (f *followers) Stop(id string) {
	f.mu.Lock()
	fl := f.running[id]
	delete(f.running, id)
	f.mu.Unlock()
	if fl == nil {
		return
	}
	fl.cancel()
	<-fl.done
}

// forgetGone drops the checkpoints of the applications gone for good: not
// followed now (removed, no longer selected, or not listed since a
// restart) and with no line newer than discovery's retention (the API's:
// nothing is left to resume). Until then a removed application's
// checkpoint is kept, and one that comes back resumes where it stopped.
// The file loses them at the next checkpoint save.
func (f *followers) forgetGone() {
	if f.store == nil {
		return
	}
	cutoff := f.now().Add(-f.sc.Discover.Retention.D()).UnixNano()
	f.mu.Lock()
	defer f.mu.Unlock()
	gone := f.store.Forget(f.sc.Name+"/", func(_, appID string, cp pipeline.Checkpoint) bool {
		return f.running[appID] == nil && cp.Newest() < cutoff
	})
	for _, name := range gone {
		app := strings.TrimPrefix(name, f.sc.Name+"/")
		delete(f.index, app)
		f.log.Info("forgetting the checkpoint of an application gone for longer than the retention",
			zap.String("source", name), zap.String("application_id", app))
	}
}

// sources returns the sources followed now, for readiness.
func (f *followers) sources() []*source.Source {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*source.Source, 0, len(f.running))
	for _, fl := range f.running {
		out = append(out, fl.src)
	}
	return out
}

// startDiscovery runs discovery for every source that has it, until ctx
// ends; the discoverers and their followers are counted in wg. A first
// listing refused (401, 403) is handed to fatal. discovered (nil: none) is
// told the number of applications listed by every discovering source
// together whenever a listing changes it.
func startDiscovery(ctx context.Context, cfg *config.Config, pipe *pipeline.Pipeline, store *pipeline.Store, sinks []string,
	output func(config.Source) source.Output, base source.Options, wg *sync.WaitGroup, log *zap.Logger, m *metrics.Metrics,
	fatal func(error), discovered func(n int)) []*followers {
	var all []*followers
	var total atomic.Int64 // applications listed, over every discovering source
	api := &cleverapi.Client{Base: cfg.API.URL, Auth: base.Auth, UserAgent: base.UserAgent}
	for i := range cfg.Sources {
		sc := cfg.Sources[i]
		if sc.Discover == nil {
			continue
		}
		f := &followers{ctx: ctx, sc: sc, api: cfg.API.URL, pipe: pipe, store: store, sinks: sinks, output: output, base: base,
			wg: wg, log: log, now: time.Now, index: map[string]int{}, running: map[string]*follower{}}
		all = append(all, f)
		gauge := m.Discovered.WithLabelValues(sc.Name)
		var listedApps atomic.Int64 // this source's, in total
		listings := m.DiscoverListings
		d := discover.New(discover.Options{
			Owner:     sc.OwnerID,
			Discover:  *sc.Discover,
			Lister:    api,
			Select:    shard, // the one place a later `shard` option filters
			Followers: f,
			Logger:    log.With(zap.String("source", sc.Name)),
			Listed: func(err error, n int) {
				result := "ok"
				if err != nil {
					result = "error"
				} else {
					f.listed.Store(true)
					f.forgetGone()
					if old := listedApps.Swap(int64(n)); old != int64(n) && discovered != nil {
						discovered(int(total.Add(int64(n) - old)))
					}
				}
				listings.WithLabelValues(sc.Name, result).Inc()
				gauge.Set(float64(n))
			},
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			var refused *discover.RefusedError
			if err := d.Run(ctx); errors.As(err, &refused) {
				// As a source refused at start: the run ends (exit 77).
				fatal(&source.FatalError{Source: sc.Name, Status: refused.Err.Status,
					APIError: "listing the applications refused", SozuID: refused.Err.SozuID})
			}
		}()
	}
	return all
}

// shard keeps the applications this replica follows: all of them until a
// `shard` option (a stable hash of application ids over a StatefulSet's
// ordinals) exists.
func shard(apps []cleverapi.Application) []cleverapi.Application { return slices.Clip(apps) }
