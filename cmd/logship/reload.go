package main

import (
	"errors"
	"reflect"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/metrics"
)

// reloadConfig loads the configuration again at SIGHUP. It returns the new
// configuration when it is valid and differs from cur; nil when there is
// nothing to apply: no loader, the file is invalid (the running
// configuration stays; every problem is logged with its key path, never a
// value) or unchanged. Each outcome is counted in
// logship_config_reloads_total{result}.
func reloadConfig(load func() (*config.Config, error), cur *config.Config, log *zap.Logger, m *metrics.Metrics) *config.Config {
	if load == nil {
		return nil
	}
	next, err := load()
	if err != nil {
		m.ConfigReloads.WithLabelValues("invalid").Inc()
		var ps config.Problems
		if errors.As(err, &ps) {
			problems := make([]string, len(ps))
			for i, p := range ps {
				problems[i] = p.String()
			}
			log.Error("configuration reload refused: the running configuration stays", zap.Strings("problems", problems))
		} else {
			log.Error("configuration reload refused: the running configuration stays", zap.Error(err))
		}
		return nil
	}
	if sameConfig(next, cur) {
		m.ConfigReloads.WithLabelValues("unchanged").Inc()
		log.Info("configuration unchanged (SIGHUP)")
		return nil
	}
	m.ConfigReloads.WithLabelValues("applied").Inc()
	return next
}

// logReloadChanges logs what a reload changes, by name (no value: values
// may be secrets), and warns about the keys that apply only at the next
// start.
func logReloadChanges(log *zap.Logger, old, next *config.Config) {
	diff := func(a, b []string) (only []string) {
		in := make(map[string]bool, len(b))
		for _, n := range b {
			in[n] = true
		}
		for _, n := range a {
			if !in[n] {
				only = append(only, n)
			}
		}
		return only
	}
	var oldSrc, newSrc, oldSink, newSink []string
	for _, s := range old.Sources {
		oldSrc = append(oldSrc, s.Name)
	}
	for _, s := range next.Sources {
		newSrc = append(newSrc, s.Name)
	}
	for _, s := range old.Sinks {
		oldSink = append(oldSink, s.Name)
	}
	for _, s := range next.Sinks {
		newSink = append(newSink, s.Name)
	}
	log.Info("applying the new configuration (SIGHUP); sources resume from their checkpoints",
		zap.Strings("sources_added", diff(newSrc, oldSrc)), zap.Strings("sources_removed", diff(oldSrc, newSrc)),
		zap.Strings("sinks_added", diff(newSink, oldSink)), zap.Strings("sinks_removed", diff(oldSink, newSink)),
		zap.Int("sources", len(next.Sources)), zap.Int("sinks", len(next.Sinks)))
	if next.Metrics.Listen != old.Metrics.Listen {
		log.Warn("metrics.listen changed: it applies at the next start (the endpoint stays where it is)")
	}
	if next.Log.Format != old.Log.Format {
		log.Warn("log.format changed: it applies at the next start (log.level applies now)")
	}
}

// forgetRemoved deletes the gauges of the sources and sinks a reload
// removed: their last value would otherwise stay exported for good (a
// frozen lag would keep an alert firing). Counters stay: they are totals.
func forgetRemoved(m *metrics.Metrics, old, next *config.Config) {
	keep := make(map[string]bool)
	for _, s := range next.Sources {
		keep[s.Name] = true
	}
	for _, s := range old.Sources {
		if !keep[s.Name] {
			m.Connected.DeleteLabelValues(s.Name)
			m.SourceLag.DeleteLabelValues(s.Name)
		}
	}
	clear(keep)
	for _, s := range next.Sinks {
		keep[s.Name] = true
	}
	for _, s := range old.Sinks {
		if !keep[s.Name] {
			m.BufferedBytes.DeleteLabelValues(s.Name)
			m.SinkOldestPending.DeleteLabelValues(s.Name)
			m.FileOpen.DeleteLabelValues(s.Name)
		}
	}
}

// sameConfig reports whether a and b hold the same settings: their
// exported fields are deeply equal (the unexported ones are the loader's
// own, such as the sink factories, whose funcs never compare equal).
func sameConfig(a, b *config.Config) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		if !va.Type().Field(i).IsExported() {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}
