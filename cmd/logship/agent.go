package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logship/logship/cleverapi"
	"github.com/logship/logship/config"
	"github.com/logship/logship/enrich"
	"github.com/logship/logship/metrics"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
	"github.com/logship/logship/source"
)

// agentIO is where the agent writes and how it hears SIGHUP.
type agentIO struct {
	stdout, stderr io.Writer
	// reopen delivers a value for each SIGHUP (nil: never).
	reopen <-chan os.Signal
	// ready, when set, is called with the metrics address once listening.
	ready func(metricsAddr string)
	// memoryLimit sets Go's soft memory limit to memoryBound(cfg) unless
	// GOMEMLIMIT is set: for a process of its own (the limit is global).
	memoryLimit bool
	// signals, when set, cuts the drain short at a second SIGTERM/SIGINT.
	signals *stopSignals
	// reload, when set, loads and validates the configuration again at
	// SIGHUP (see reloadConfig); nil: SIGHUP only reopens files.
	reload func() (*config.Config, error)
	// logLevel is the level of the logger runAgent built, which a reload
	// changes (the zero value: none).
	logLevel zap.AtomicLevel
}

// Memory bound beyond the sinks' buffers, measured with a sink that hangs
// (TestShapingBlockedSinkRSS, docs/pipeline.md): the Go runtime, the HTTP
// and stream buffers, the ack tracker; and per source.
const (
	memoryOverhead          = 48 << 20
	memoryOverheadPerSource = 128 << 10
)

// memoryBound is the heap logship needs for cfg: every sink's buffer plus
// the overhead, per source for each application followed: a source of its
// own, or one of the discovered applications (discovered counts those of
// every discovering source; a discovering source that follows none yet
// counts as one). As Go's soft memory limit, it keeps the garbage
// collector from letting the heap grow to twice the buffered bytes
// (GOGC=100) while a sink is stuck.
func memoryBound(cfg *config.Config, discovered int) int64 {
	sources := 0
	for _, sc := range cfg.Sources {
		if sc.Discover == nil {
			sources++
		}
	}
	if sources < len(cfg.Sources) {
		sources += max(discovered, len(cfg.Sources)-sources)
	}
	n := int64(memoryOverhead) + int64(sources)*memoryOverheadPerSource
	for i := range cfg.Sinks {
		n += int64(cfg.SinkBuffer(i).MaxBytes)
	}
	return n
}

// reopenSignal returns a channel fed by SIGHUP.
func reopenSignal() <-chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c
}

// newLogger builds logship's own logger (stderr).
func newLogger(c config.Log, w io.Writer, level zap.AtomicLevel) (*zap.Logger, error) {
	if c.Level != "" {
		if err := level.UnmarshalText([]byte(c.Level)); err != nil {
			return nil, fmt.Errorf("log.level: %w", err)
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if c.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)), nil
}

// runAgent runs the configured pipeline until ctx is cancelled (SIGTERM,
// SIGINT) or every source is complete, then drains and saves checkpoints.
// It returns the process exit code.
func runAgent(ctx context.Context, cfg *config.Config, aio agentIO) int {
	aio.logLevel = zap.NewAtomicLevel()
	log, err := newLogger(cfg.Log, aio.stderr, aio.logLevel)
	if err != nil {
		fmt.Fprintln(aio.stderr, "logship:", err)
		return exitConfig
	}
	defer log.Sync() //nolint:errcheck // stderr
	err = agent(ctx, cfg, aio, log)
	if code := aio.signals.hardStopCode(); code != 0 {
		log.Warn("logship stopped at once by a second signal", zap.Int("exit_code", code), zap.Error(err))
		return code
	}
	if err != nil {
		log.Error("logship stopped", zap.Error(err))
		fmt.Fprintln(aio.stderr, "logship:", err)
		if refused := credentialsRefused(err); refused != nil {
			from := cfg.API.CredentialsFrom
			if from == "" {
				from = "none configured"
			}
			fmt.Fprintf(aio.stderr, "logship: the API refused the credentials for source %s (%d); check them (in use: %s). Exit %d: not retried.\n",
				refused.Source, refused.Status, from, exitNoPerm)
			return exitNoPerm
		}
		return exitFail
	}
	return exitOK
}

// credentialsRefused returns the source's refusal when err holds a 401 or
// 403 from the API at start: restarting cannot fix it (exit 77).
func credentialsRefused(err error) *source.FatalError {
	var fe *source.FatalError
	if errors.As(err, &fe) && (fe.Status == http.StatusUnauthorized || fe.Status == http.StatusForbidden) {
		return fe
	}
	return nil
}

// agent runs cfg, and each valid configuration a SIGHUP brings after it,
// until logship is to stop. The metrics listener and the memory limit
// outlive the reloads.
func agent(ctx context.Context, cfg *config.Config, aio agentIO, log *zap.Logger) error {
	m, reg, err := newMetrics()
	if err != nil {
		return err
	}
	setMemoryLimit, restore := memoryLimiter(aio, log)
	defer restore()
	setMemoryLimit(cfg, 0)

	ready := &readiness{why: "starting"}
	stopServing, err := serveMetrics(cfg, aio, reg, ready, log)
	if err != nil {
		return err
	}
	defer stopServing()

	for {
		running := cfg
		next, err := runPipeline(ctx, cfg, aio, log, m, ready, func(discovered int) { setMemoryLimit(running, discovered) })
		if err != nil || next == nil {
			return err
		}
		if ctx.Err() != nil { // SIGTERM during the reload's drain
			log.Info("logship stopped cleanly (before applying the new configuration)")
			return nil
		}
		applyReload(cfg, next, aio, log, m)
		cfg = next
		setMemoryLimit(cfg, 0)
	}
}

// newMetrics returns logship's collectors, registered with Go's and the
// process's in a registry of their own.
func newMetrics() (*metrics.Metrics, *prometheus.Registry, error) {
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		return nil, nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m, reg, nil
}

// memoryLimiter returns what sets Go's soft memory limit for a
// configuration and the number of applications discovery follows (nothing
// unless aio.memoryLimit and no GOMEMLIMIT), and what puts back the limit
// found at start. set is called at start, at each reload, and from
// discovery's goroutines when that number changes.
func memoryLimiter(aio agentIO, log *zap.Logger) (set func(cfg *config.Config, discovered int), restore func()) {
	if !aio.memoryLimit || os.Getenv("GOMEMLIMIT") != "" {
		return func(*config.Config, int) {}, func() {}
	}
	prev := debug.SetMemoryLimit(-1)
	var mu sync.Mutex
	return func(cfg *config.Config, discovered int) {
		mu.Lock()
		defer mu.Unlock()
		limit, from := memoryLimit(memoryBound(cfg, discovered), "/sys/fs/cgroup")
		debug.SetMemoryLimit(limit)
		log.Info("soft memory limit set from "+from+" (GOMEMLIMIT overrides it)", zap.Int64("bytes", limit), zap.Int("discovered_applications", discovered))
	}, func() { debug.SetMemoryLimit(prev) }
}

// serveMetrics serves /metrics, /healthz and /readyz on metrics.listen
// (nothing when it is empty) and returns what stops serving.
func serveMetrics(cfg *config.Config, aio agentIO, reg *prometheus.Registry, ready *readiness, log *zap.Logger) (stop func(), err error) {
	if cfg.Metrics.Listen == "" {
		return func() {}, nil
	}
	srv, addr, err := serveOps(cfg.Metrics.Listen, reg, ready)
	if err != nil {
		return nil, err
	}
	log.Info("serving metrics", zap.String("addr", addr))
	if aio.ready != nil {
		aio.ready(addr)
	}
	return func() { _ = srv.Close() }, nil
}

// applyReload does what a new configuration changes outside the pipeline:
// the log lines saying what changed, the metrics of what went, the log
// level.
func applyReload(cfg, next *config.Config, aio agentIO, log *zap.Logger, m *metrics.Metrics) {
	logReloadChanges(log, cfg, next)
	forgetRemoved(m, cfg, next)
	if next.Log.Level != cfg.Log.Level && next.Log.Level != "" && aio.logLevel != (zap.AtomicLevel{}) {
		if err := aio.logLevel.UnmarshalText([]byte(next.Log.Level)); err == nil {
			log.Info("log level changed", zap.String("log_level", next.Log.Level))
		}
	}
}

// runPipeline runs one configuration: it opens the checkpoints, builds and
// starts the sinks, the pipeline and the sources, and runs them until ctx
// is cancelled, every source is complete, a source fails for good, or a
// SIGHUP brings a valid new configuration. Then it stops the sources,
// drains the pipeline and saves the checkpoints. It returns the new
// configuration to run next, or nil when logship is to stop. discovered
// is told how many applications discovery follows, when that changes.
func runPipeline(ctx context.Context, cfg *config.Config, aio agentIO, log *zap.Logger, m *metrics.Metrics, ready *readiness,
	discovered func(n int)) (*config.Config, error) {
	ready.notReady("starting")
	// Checkpoints first: a corrupt one stops start-up before anything moves.
	store, starts, err := loadCheckpoints(cfg, log)
	if err != nil {
		return nil, err
	}
	specs, err := buildSinks(cfg, aio, log, m)
	if err != nil {
		return nil, err
	}
	pipe, err := buildPipeline(ctx, cfg, store, starts, specs, log, m)
	if err != nil {
		return nil, err
	}
	r := startSources(ctx, cfg, pipe, store, starts, log, m, discovered)
	defer r.stop()
	if r.enricher != nil {
		defer r.enricher.Close()
	}
	readyDone := r.watchReadiness(cfg, pipe, ready, log)
	log.Info("logship started", zap.String("version", versionString()),
		zap.Int("sources", len(cfg.Sources)), zap.Int("sinks", len(specs)), zap.String("api", source.SafeURL(cfg.API.URL)))

	next := waitForSignals(cfg, aio, pipe, r, log, m)
	<-readyDone // the sources' context is done once every source returned
	return shutDown(ctx, cfg, aio, pipe, r, next, ready, log)
}

// sinkNames returns the names of cfg's sinks, in order.
func sinkNames(cfg *config.Config) []string {
	names := make([]string, len(cfg.Sinks))
	for i, sc := range cfg.Sinks {
		names[i] = sc.Name
	}
	return names
}

// loadCheckpoints opens the checkpoint store (none without state_dir) and
// returns each configured source as the pipeline sees it, with the
// positions it resumes from.
func loadCheckpoints(cfg *config.Config, log *zap.Logger) (*pipeline.Store, []pipeline.Source, error) {
	var store *pipeline.Store
	if cfg.StateDir != "" {
		s, err := pipeline.OpenStore(cfg.StateDir)
		if err != nil {
			return nil, nil, err
		}
		store = s
	}
	names := sinkNames(cfg)
	starts := make([]pipeline.Source, len(cfg.Sources))
	for i, src := range cfg.Sources {
		starts[i] = pipeline.Source{Name: src.Name, AppID: src.ApplicationID, Lookback: src.Lookback.D()}
		if store == nil {
			continue
		}
		cp, err := store.Load(src.Name, src.ApplicationID)
		if err != nil {
			return nil, nil, err
		}
		pos := cp.Resume(names, !src.SinceTime.IsZero())
		starts[i].Start, starts[i].Sinks = pos, cp.Sinks
		if !pos.IsZero() {
			log.Info("resuming from checkpoint", zap.String("source", src.Name),
				zap.String("last_id", pos.LastID), zap.Time("newest", time.Unix(0, pos.Newest).UTC()))
		}
	}
	return store, starts, nil
}

// buildPipeline builds the pipeline over the sources and sinks, and
// starts it (its sinks first).
func buildPipeline(ctx context.Context, cfg *config.Config, store *pipeline.Store, sources []pipeline.Source, specs []pipeline.SinkSpec,
	log *zap.Logger, m *metrics.Metrics) (*pipeline.Pipeline, error) {
	pipe, err := pipeline.New(pipeline.Options{
		Sources:            sources,
		Sinks:              specs,
		Filter:             cfg.Pipeline.Filter,
		Throttle:           cfg.Pipeline.Throttle,
		Fields:             cfg.Pipeline.Fields,
		DeadLetterPath:     cfg.DeadLetter.Path,
		Store:              store,
		CheckpointInterval: cfg.Checkpoint.Interval.D(),
		Logger:             log,
		Metrics:            m,
	})
	if err != nil {
		return nil, err
	}
	if err := pipe.Start(ctx); err != nil {
		_ = pipe.Close(context.Background())
		return nil, err
	}
	return pipe, nil
}

// runningSources is one configuration's sources at work: those of the
// configured applications and those discovery follows.
type runningSources struct {
	ctx context.Context
	// stop stops every source (at a stop, a reload, a fatal error, or
	// once every source is complete).
	stop       context.CancelFunc
	wg         sync.WaitGroup
	sources    []*source.Source
	discovered []*followers
	enricher   *enrich.Enricher // nil when no source enriches
	// pending counts the configured sources still running.
	pending atomic.Int32

	mu       sync.Mutex
	fatalErr error // the first source's failure for good
}

// fail records err, the first failure for good, and stops every source.
func (r *runningSources) fail(err error) {
	r.mu.Lock()
	if r.fatalErr == nil {
		r.fatalErr = err
	}
	r.mu.Unlock()
	r.stop()
}

// fatal returns the first failure for good, or nil. Call it once the
// sources returned.
func (r *runningSources) fatal() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatalErr
}

// startSources starts a source per configured application, and discovery
// for the sources that follow an owner's applications (discovered is told
// how many they follow, when that changes).
func startSources(ctx context.Context, cfg *config.Config, pipe *pipeline.Pipeline, store *pipeline.Store, starts []pipeline.Source,
	log *zap.Logger, m *metrics.Metrics, discovered func(n int)) *runningSources {
	r := &runningSources{}
	r.ctx, r.stop = context.WithCancel(ctx)
	r.pending.Store(int32(len(cfg.Sources)))
	auth := authorizer(cfg.API)
	r.enricher = newEnricher(cfg, auth, log, m)
	for i, sc := range cfg.Sources {
		if sc.Discover != nil {
			continue // its applications' sources are started by discovery, below
		}
		if len(sc.PushFields) > 0 || sc.PushFilter != "" {
			log.Info("asking the API to select for the pipeline (push-down)", zap.String("source", sc.Name),
				zap.Strings("fields", sc.PushFields), zap.Bool("filter", sc.PushFilter != ""))
		}
		r.sources = append(r.sources, source.New(cfg.API.URL, sc, source.Options{
			SourceIndex: i,
			Start:       starts[i].Start,
			Auth:        auth,
			Output:      sourceOutput(pipe, r.enricher, sc),
			Logger:      log,
			Metrics:     m,
			UserAgent:   "logship/" + versionString(),
		}))
	}
	r.discovered = startDiscovery(r.ctx, cfg, pipe, store, sinkNames(cfg),
		func(sc config.Source) source.Output { return sourceOutput(pipe, r.enricher, sc) },
		source.Options{Auth: auth, Logger: log, Metrics: m, UserAgent: "logship/" + versionString()}, &r.wg, log, m, r.fail, discovered)
	for _, s := range r.sources {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := s.Run(r.ctx); err != nil {
				r.fail(err)
			}
			if r.pending.Add(-1) == 0 {
				r.stop() // every source complete: backfill done
			}
		}()
	}
	return r
}

// watchReadiness keeps /readyz true to the sources and sinks until the
// sources stop; the channel is closed then.
func (r *runningSources) watchReadiness(cfg *config.Config, pipe *pipeline.Pipeline, ready *readiness, log *zap.Logger) <-chan struct{} {
	done := make(chan struct{})
	names := sinkNames(cfg)
	go func() {
		defer close(done)
		watchReadiness(ready, 100*time.Millisecond, r.ctx.Done(), log, func() (bool, string) {
			all := r.sources
			for _, f := range r.discovered {
				if !f.listed.Load() {
					return false, "starting: source " + f.sc.Name + " has not listed its applications yet"
				}
				all = append(all[:len(all):len(all)], f.sources()...)
			}
			return assess(time.Now(), cfg.Metrics.Ready, all, pipe, names)
		})
	}()
	return done
}

// waitForSignals waits for every source to return, reopening the output
// files at each SIGHUP; a SIGHUP that brings a valid new configuration
// stops the sources and returns it (nil otherwise).
func waitForSignals(cfg *config.Config, aio agentIO, pipe *pipeline.Pipeline, r *runningSources, log *zap.Logger, m *metrics.Metrics) *config.Config {
	sourcesDone := make(chan struct{})
	go func() { r.wg.Wait(); close(sourcesDone) }()
	var next *config.Config
	for {
		select {
		case <-sourcesDone:
			return next
		case <-aio.reopen:
			if err := pipe.Reopen(); err != nil {
				log.Error("reopen after SIGHUP failed", zap.Error(err))
			} else {
				log.Info("reopened output files (SIGHUP)")
			}
			if next = reloadConfig(aio.reload, cfg, log, m); next != nil {
				r.stop()
			}
		}
	}
}

// shutDown drains the pipeline (within shutdown_timeout, cut short by a
// second signal) and saves the checkpoints, once the sources returned. It
// returns next when the sources stopped for a reload (and ctx is not
// done), nil when logship is to stop.
func shutDown(ctx context.Context, cfg *config.Config, aio agentIO, pipe *pipeline.Pipeline, r *runningSources, next *config.Config,
	ready *readiness, log *zap.Logger) (*config.Config, error) {
	fatalErr := r.fatal()
	switch {
	case ctx.Err() == nil && next != nil:
		ready.notReady("reloading the configuration")
		log.Info("reloading: sources stopped, draining in-flight batches before applying the new configuration",
			zap.Duration("timeout", cfg.ShutdownTimeout.D()))
	case ctx.Err() != nil:
		next = nil
		ready.notReady("draining")
		log.Info("stopping: draining in-flight batches (a second SIGTERM or SIGINT stops at once)", zap.Duration("timeout", cfg.ShutdownTimeout.D()))
	default:
		next = nil
		ready.notReady("draining")
		if fatalErr == nil {
			log.Info("every source is complete: draining")
		}
	}
	hard := context.Background()
	if aio.signals != nil {
		hard = aio.signals.hard
	}
	drainCtx, cancel := context.WithTimeout(hard, cfg.ShutdownTimeout.D())
	defer cancel()
	closeErr := pipe.Close(drainCtx)
	for i, s := range cfg.Sources {
		if s.Discover != nil {
			continue
		}
		pos := pipe.Position(i)
		log.Info("checkpoint", zap.String("source", s.Name), zap.String("last_id", pos.LastID))
	}
	if fatalErr != nil {
		return nil, errors.Join(fatalErr, closeErr)
	}
	if next != nil {
		if closeErr != nil {
			log.Error("drain before the reload ended with an error; applying the new configuration anyway", zap.Error(closeErr))
		}
		return next, nil
	}
	if closeErr != nil {
		return nil, closeErr
	}
	log.Info("logship stopped cleanly")
	return nil, nil
}

// newEnricher returns the enrichment shared by the sources that have
// enrich on, or nil when none has.
func newEnricher(cfg *config.Config, auth source.Authorizer, log *zap.Logger, m *metrics.Metrics) *enrich.Enricher {
	if !slices.ContainsFunc(cfg.Sources, func(s config.Source) bool {
		return s.Enrich || s.Discover != nil && slices.ContainsFunc(s.Discover.Overrides, func(o config.Override) bool {
			return o.Enrich != nil && *o.Enrich
		})
	}) {
		return nil
	}
	e := cfg.Enrichment
	return enrich.New(enrich.Options{
		API:     &cleverapi.Client{Base: cfg.API.URL, Auth: auth, UserAgent: "logship/" + versionString()},
		Key:     e.Key,
		TTL:     e.TTL.D(),
		MaxWait: e.MaxWait.D(),
		Logger:  log,
		Metrics: m,
	})
}

// sourceOutput is where source sc hands its lines: the pipeline, through
// the enrichment when sc has it on.
func sourceOutput(pipe *pipeline.Pipeline, en *enrich.Enricher, sc config.Source) source.Output {
	if en == nil || !sc.Enrich {
		return pipe
	}
	return &enrich.Output{Next: pipe, Enricher: en, Owner: sc.OwnerID}
}

// authorizer picks the credentials: a bearer token wins over OAuth1.
func authorizer(api config.API) source.Authorizer {
	switch {
	case api.Token != "":
		return source.Bearer(api.Token.Reveal())
	case api.OAuth.Token != "":
		return source.OAuth1{
			ConsumerKey:    api.OAuth.ConsumerKey,
			ConsumerSecret: api.OAuth.ConsumerSecret.Reveal(),
			Token:          api.OAuth.Token.Reveal(),
			Secret:         api.OAuth.Secret.Reveal(),
			HMAC:           api.OAuth.Signature == "hmac-sha512",
		}
	}
	return nil
}

// buildSinks constructs every configured sink with its delivery settings.
func buildSinks(cfg *config.Config, aio agentIO, log *zap.Logger, m *metrics.Metrics) ([]pipeline.SinkSpec, error) {
	specs := make([]pipeline.SinkSpec, 0, len(cfg.Sinks))
	for i, sc := range cfg.Sinks {
		spec := pipeline.SinkSpec{
			Name:     sc.Name,
			Batch:    cfg.SinkBatch(i),
			Buffer:   cfg.SinkBuffer(i),
			InFlight: sc.InFlight,
			// The common retry policy, applied by the pipeline to every sink.
			MinRetry:        sc.Retry.InitialBackoff.D(),
			MaxRetry:        sc.Retry.MaxBackoff.D(),
			RetryMaxElapsed: sc.Retry.MaxElapsed.D(),
		}
		f, ok := sinkTable.Lookup(sc.Type)
		if !ok {
			return nil, fmt.Errorf("sinks[%d] (%s): sink type %q is not available in this build", i, sc.Name, sc.Type)
		}
		if f.OneAtATime {
			spec.InFlight = 1
		}
		var err error
		spec.Sink, err = f.New(sc.Settings, sinks.Settings{
			Name:      sc.Name,
			Logger:    log.With(zap.String("sink", sc.Name)),
			Metrics:   m,
			Stdout:    aio.stdout,
			UserAgent: "logship/" + versionString(),
			InFlight:  spec.InFlight,
			Batch:     spec.Batch,
		})
		if err != nil {
			return nil, fmt.Errorf("sinks[%d] (%s): %w", i, sc.Name, err)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// envPprof, set to 1, adds Go's profiles (/debug/pprof/) to the metrics
// listener: for measuring (scripts/bench.sh), not for production (a profile
// shows the heap's contents to whoever reaches the port).
const envPprof = "LOGSHIP_DEBUG_PPROF"

// serveOps serves /metrics, /healthz and /readyz on addr (and /debug/pprof/
// when envPprof is 1).
func serveOps(addr string, reg *prometheus.Registry, ready *readiness) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := ready.get(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "not ready: "+why+"\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	if os.Getenv(envPprof) == "1" {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}

var _ source.Output = (*pipeline.Pipeline)(nil)
