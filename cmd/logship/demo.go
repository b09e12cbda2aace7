package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
	stdoutsink "github.com/logship/logship/sinks/stdout"
)

// demoToken is the emulator's bearer token in the demo: not a secret.
const demoToken = "demo-token"

// serveEmulator starts an emulator on addr and returns its base URL and a
// stop function.
func serveEmulator(addr string, opts emulator.Options) (*emulator.Emulator, string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, err
	}
	emu := emulator.New(opts)
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		emu.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return emu, "http://" + ln.Addr().String(), stop, nil
}

// cmdDemo runs logship against the bundled emulator: two applications that
// log a few lines per second, streamed to stdout, until Ctrl-C.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "stdout format: text or json")
	rate := fs.Float64("rate", 5, "lines per second per application")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	now := time.Now()
	apps := []emulator.App{
		{Name: "demo-api", Backlog: 20, Start: now.Add(-10 * time.Second), Spacing: 500 * time.Millisecond, Rate: *rate},
		{Name: "demo-worker", Backlog: 20, Start: now.Add(-10 * time.Second), Spacing: 500 * time.Millisecond, Rate: *rate},
	}
	emu, api, stop, err := serveEmulator("127.0.0.1:0", emulator.Options{Apps: apps, Token: demoToken})
	if err != nil {
		fmt.Fprintln(stderr, "logship demo:", err)
		return exitFail
	}
	defer stop()
	state, err := os.MkdirTemp("", "logship-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "logship demo:", err)
		return exitFail
	}
	defer os.RemoveAll(state)

	// The configuration, built in Go as a file would give it.
	cfg := config.Default()
	cfg.API.URL, cfg.API.Token, cfg.StateDir = api, config.Secret(demoToken), state
	for _, a := range emu.Apps() {
		src := config.NewSource(a.OwnerID, a.ID)
		src.Name, src.Since = a.Name, a.Start.Add(-time.Second).UTC().Format(time.RFC3339Nano)
		cfg.Sources = append(cfg.Sources, src)
	}
	cfg.Pipeline.Batch.MaxWait = config.Duration(100 * time.Millisecond)
	out := stdoutsink.NewDefaultConfig()
	out.Format = *format
	cfg.Sinks = []config.Sink{config.NewSink("stdout", out)}
	cfg.Log.Format = "console"
	err = cfg.Complete(func(string) (string, bool) { return "", false }, sinkTable.Config())
	if err != nil {
		fmt.Fprintln(stderr, "logship demo: bad built-in config:", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "logship demo: API emulator on %s, streaming %d applications to stdout (Ctrl-C to stop)\n", api, len(apps))

	ctx, sigs, cancel := watchStopSignals(context.Background())
	defer cancel()
	if *duration > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, *duration)
		defer c2()
	}
	return runAgent(ctx, cfg, agentIO{stdout: stdout, stderr: stderr, reopen: reopenSignal(), memoryLimit: true, signals: sigs})
}

// cmdEmulator serves the bundled emulator until Ctrl-C, for trying logship
// or the official CLI (`API_HOST=http://ADDR clever logs …`) without an
// account.
func cmdEmulator(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (loopback)")
	napps := fs.Int("apps", 1, "number of applications")
	backlog := fs.Int("backlog", 1000, "lines already published per application")
	rate := fs.Float64("rate", 0, "new lines per second per application")
	token := fs.String("token", "", "bearer token to require (empty: the OAuth credentials below, or none)")
	oauthToken := fs.String("oauth-token", "", "OAuth1 token to accept (with --oauth-secret)")
	oauthSecret := fs.String("oauth-secret", "", "OAuth1 token secret to accept")
	ignoreLEID := fs.Bool("ignore-last-event-id", false, "replay from since instead of resuming after Last-Event-ID")
	addEvery := fs.Duration("add-every", 0, "add a new application of the organisation this often (0: never), for discovery")
	maxApps := fs.Int("max-apps", 0, "with --add-every, remove the oldest application once there are more than this (0: never)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	apps := make([]emulator.App, *napps)
	for i := range apps {
		apps[i] = emulator.App{Backlog: *backlog, Rate: *rate}
	}
	emu, api, stop, err := serveEmulator(*listen, emulator.Options{
		Apps: apps, Token: *token, IgnoreLastEventID: *ignoreLEID,
		OAuth: emulator.OAuthCreds{Token: *oauthToken, Secret: *oauthSecret},
	})
	if err != nil {
		fmt.Fprintln(stderr, "logship emulator:", err)
		return exitFail
	}
	defer stop()
	fmt.Fprintf(stdout, "emulator listening on %s\n", api)
	for _, a := range emu.Apps() {
		fmt.Fprintf(stdout, "  owner_id: %s  application_id: %s  lines from %s\n", a.OwnerID, a.ID, a.Start.UTC().Format(time.RFC3339))
	}
	ctx, cancel := signalContext(context.Background())
	defer cancel()
	if *addEvery > 0 {
		churnApps(ctx, emu, *addEvery, *maxApps, *rate, stdout)
	}
	<-ctx.Done()
	return exitOK
}

// churnApps adds an application every period until ctx ends and, past max
// applications (max > 0), removes the oldest: an organisation that changes,
// for discovery.
func churnApps(ctx context.Context, emu *emulator.Emulator, period time.Duration, max int, rate float64, stdout io.Writer) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a := emu.AddApp(emulator.App{Rate: rate})
		fmt.Fprintf(stdout, "  added   application_id: %s  name: %s\n", a.ID, a.Name)
		if apps := emu.Apps(); max > 0 && len(apps) > max {
			emu.RemoveApp(apps[0].ID)
			fmt.Fprintf(stdout, "  removed application_id: %s  name: %s\n", apps[0].ID, apps[0].Name)
		}
	}
}
