package emulator

import (
	"time"
)

// addApp resolves a and serves it from now on; added tells an app added after New (its
// creation date defaults to its Start rather than a day before).
func (e *Emulator) addApp(a App, now time.Time, added bool) App {
	e.appsMu.Lock()
	defer e.appsMu.Unlock()
	i := e.nextIx
	e.nextIx++
	cfg := a.resolve(i, e.opts.Seed, e.defaultOwner, now)
	if cfg.Created.IsZero() {
		cfg.Created = cfg.Start.Add(-24 * time.Hour)
		if added {
			cfg.Created = cfg.Start
		}
	}
	if old := e.byID[cfg.ID]; old != nil && old.removedAt.Load() == 0 {
		return old.cfg // already served
	}
	st := newAppState(cfg, i, e.opts.Seed, now)
	e.apps = append(e.apps, st)
	e.byID[cfg.ID] = st
	return cfg
}

// AddApp serves one more application from now on, as a new application of its owner: it is
// listed by /v2/…/applications, known to the look-ups, and its logs endpoint streams. Its
// Backlog counts as published now and its Rate starts now; Start defaults to now (not an hour
// ago) and Created to Start. It returns the app with its defaults resolved. Adding an id that
// is served already changes nothing and returns the served app; adding a removed id serves
// a new log under it. Safe for concurrent use.
func (e *Emulator) AddApp(a App) App {
	now := time.Now()
	if a.Start.IsZero() {
		a.Start = now
	}
	return e.addApp(a, now, true)
}

// RemoveApp stops serving application id, as if it was deleted: it is no longer listed, the
// look-ups answer 404 for it, new logs requests answer 404, and it publishes no more lines
// (open streams stay open with heartbeats only). Its lines so far stay available to Lines.
// It reports whether the app was served.
func (e *Emulator) RemoveApp(id string) bool {
	e.appsMu.Lock()
	defer e.appsMu.Unlock()
	for i, a := range e.apps {
		if a.cfg.ID == id {
			a.removedAt.Store(time.Now().UnixNano())
			e.apps = append(e.apps[:i:i], e.apps[i+1:]...)
			return true
		}
	}
	return false
}

// app returns the served app of id, or nil (unknown or removed).
func (e *Emulator) app(id string) *appState {
	e.appsMu.RLock()
	a := e.byID[id]
	e.appsMu.RUnlock()
	if a == nil || a.removedAt.Load() != 0 {
		return nil
	}
	return a
}

// served returns the apps served now, in order of addition.
func (e *Emulator) served() []*appState {
	e.appsMu.RLock()
	defer e.appsMu.RUnlock()
	return append([]*appState(nil), e.apps...)
}
