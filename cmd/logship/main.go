// Command logship forwards Clever Cloud application logs to stdout, files,
// HTTP endpoints and Kafka, resuming where it stopped, never losing a line
// and never writing one twice where that can be avoided.
//
//	logship run --config FILE        run the pipeline
//	logship validate --config FILE   check a config without starting anything
//	logship version                  print the version
//	logship demo                     run against the bundled API emulator
//	logship emulator                 serve the bundled API emulator
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/source"
)

// Exit codes.
const (
	exitOK     = 0
	exitFail   = 1
	exitUsage  = 2
	exitNoPerm = 77 // EX_NOPERM: the API refused the credentials (401, 403)
	exitConfig = 78 // EX_CONFIG
)

// hardStopGrace is how long a hard stop (second signal) may take to
// abandon what is unwritten and save the checkpoints before the process
// exits regardless.
const hardStopGrace = 5 * time.Second

// exit ends the process; only main and the hard-stop backstop call it.
var exit = os.Exit

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  logship run --config FILE        run the pipeline
  logship validate --config FILE   check a config without starting anything
  logship version                  print the version
  logship demo [flags]             run against the bundled API emulator (no account needed)
  logship emulator [flags]         serve the bundled Clever Cloud API emulator

run and validate also take --log-level (debug, info, warn, error) and
--log-format (json, console), over the file's log.level and log.format.
Without --config, they take the configuration from the environment:
LOGSHIP_CONFIG (a whole YAML configuration), or LOGSHIP_OWNER_ID and
LOGSHIP_APPLICATION_IDS with the other LOGSHIP_* variables (see README).
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "logship", versionString())
		return exitOK
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "emulator":
		return cmdEmulator(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "logship: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return devVersion(bi.Settings)
}

// devVersion names a build from a work tree: "dev", plus the commit it was
// built from when the go command stamped it (-buildvcs), and "-dirty" when
// the tree had uncommitted changes.
func devVersion(settings []debug.BuildSetting) string {
	var rev, modified string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	v := "dev+" + rev[:min(12, len(rev))]
	if modified == "true" {
		v += "-dirty"
	}
	return v
}

// configSource is where run and validate take the configuration from: the
// file of --config, with --log-level and --log-format over its log keys.
type configSource struct {
	path, logLevel, logFormat string
}

// load loads and validates the configuration (again, at SIGHUP): the
// file, or without one the environment (envConfigYAML).
func (c configSource) load() (*config.Config, error) {
	var cfg *config.Config
	var err error
	if c.path != "" {
		cfg, err = config.Load(c.path, os.LookupEnv, sinkTable.Config())
	} else {
		var data []byte
		if data, err = envConfigYAML(os.LookupEnv); err == nil {
			cfg, err = config.Parse(data, os.LookupEnv, sinkTable.Config())
		}
	}
	if err != nil {
		return nil, err
	}
	if c.logLevel != "" {
		cfg.Log.Level = c.logLevel
	}
	if c.logFormat != "" {
		cfg.Log.Format = c.logFormat
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadConfig parses flags of run/validate and loads the config; on failure
// it prints every problem and returns the exit code.
func loadConfig(name string, args []string, stderr io.Writer) (*config.Config, configSource, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var src configSource
	fs.StringVar(&src.path, "config", "", "configuration file (YAML)")
	fs.StringVar(&src.logLevel, "log-level", "", "logship's log level, over log.level: debug, info, warn or error")
	fs.StringVar(&src.logFormat, "log-format", "", "logship's log format, over log.format: json or console")
	if err := fs.Parse(args); err != nil {
		return nil, src, exitUsage
	}
	if src.path == "" && !envConfigured(os.LookupEnv) {
		fmt.Fprintf(stderr, "logship %s: --config FILE is required (or the configuration in the environment: %s, or %s and %s)\n",
			name, envWholeConfig, envOwner, envApps)
		return nil, src, exitUsage
	}
	switch src.logLevel {
	case "", "debug", "info", "warn", "error":
	default:
		fmt.Fprintf(stderr, "logship %s: --log-level must be debug, info, warn or error\n", name)
		return nil, src, exitUsage
	}
	switch src.logFormat {
	case "", "json", "console":
	default:
		fmt.Fprintf(stderr, "logship %s: --log-format must be json or console\n", name)
		return nil, src, exitUsage
	}
	where := src.path
	if where == "" {
		where = "configuration from the environment"
	}
	path := &where
	cfg, err := src.load()
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "%s: invalid configuration:\n", *path)
			for _, p := range ps {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", *path, err)
		}
		return nil, src, exitConfig
	}
	return cfg, src, exitOK
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	cfg, _, code := loadConfig("validate", args, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintf(stdout, "configuration OK: %d source(s), %d sink(s)\n", len(cfg.Sources), len(cfg.Sinks))
	for i, sc := range cfg.Sources {
		if note := source.FieldsNote(sc); note != "" {
			fmt.Fprintf(stdout, "note: sources[%d].fields: %s\n", i, note)
		}
	}
	return exitOK
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	// Signals first: one that comes while the configuration loads must not
	// kill the process with the default action.
	ctx, sigs, stop := watchStopSignals(context.Background())
	defer stop()
	hup := reopenSignal()
	cfg, src, code := loadConfig("run", args, stderr)
	if cfg == nil {
		return code
	}
	go func() { // backstop: a hard stop ends the process even if a sink hangs
		<-sigs.hard.Done()
		if code := sigs.hardStopCode(); code != 0 {
			time.Sleep(hardStopGrace)
			fmt.Fprintf(stderr, "logship: hard stop not finished within %v; exiting\n", hardStopGrace)
			exit(code)
		}
	}()
	return runAgent(ctx, cfg, agentIO{stdout: stdout, stderr: stderr, reopen: hup, memoryLimit: true, signals: sigs,
		reload: src.load})
}

// loadConfigFile loads and validates a configuration file, with the
// process environment for `${VAR}`.
func loadConfigFile(path string) (*config.Config, error) {
	return configSource{path: path}.load()
}
