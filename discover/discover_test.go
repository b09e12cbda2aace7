package discover

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/logship/logship/cleverapi"
	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
)

// record notes what discovery starts and stops.
type record struct {
	following []string
	log       []string
}

func (r *record) Start(a cleverapi.Application, initial bool) {
	r.following = append(r.following, a.Name)
	tag := "+"
	if initial {
		tag = "+init "
	}
	r.log = append(r.log, tag+a.Name)
}

func (r *record) Stop(id string) { r.log = append(r.log, "-"+id) }

// TestPollFollowsTheListing: starts and stops follow the listing through the patterns and
// Select; a failing or timed-out listing changes nothing.
func TestPollFollowsTheListing(t *testing.T) {
	const owner = "orga_11111111-2222-4333-8444-555555555555"
	emu := emulator.New(emulator.Options{Apps: []emulator.App{
		{OwnerID: owner, Name: "front-web"}, {OwnerID: owner, Name: "front-staging"}, {OwnerID: owner, Name: "api"},
		{OwnerID: owner, Name: "dropped-by-select"}, {Name: "another-owner"},
	}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()
	apps := emu.Apps()
	rec := &record{}
	d := New(Options{
		Owner:     owner,
		Discover:  withDefaults(config.Discover{Include: []string{"front-*", apps[2].ID, "dropped-*"}, Exclude: []string{"*-staging"}}),
		Lister:    &cleverapi.Client{Base: srv.URL, Timeout: 300 * time.Millisecond},
		Followers: rec,
		Select: func(in []cleverapi.Application) []cleverapi.Application {
			return slices.DeleteFunc(slices.Clone(in), func(a cleverapi.Application) bool { return a.Name == "dropped-by-select" })
		},
	})
	if err := d.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"+init front-web", "+init api"}; !slices.Equal(rec.log, want) {
		t.Fatalf("first listing: %v, want %v", rec.log, want)
	}
	rec.log = nil
	emu.AddApp(emulator.App{OwnerID: owner, Name: "front-new"})
	emu.RemoveApp(apps[0].ID)
	for _, f := range []emulator.APIFault{{Status: 503}, {Status: 500}, {Delay: 2 * time.Second}} {
		emu.SetFaults(emulator.Faults{API: []emulator.APIFault{f}})
		if err := d.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(rec.log) != 0 {
			t.Fatalf("a failed listing (%+v) changed the set: %v", f, rec.log)
		}
	}
	emu.SetFaults(emulator.Faults{})
	if err := d.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"+front-new", "-" + apps[0].ID}; !slices.Equal(rec.log, want) {
		t.Fatalf("after changes: %v, want %v", rec.log, want)
	}
}

// TestSince: where a newly followed application starts.
func TestSince(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	app := func(created time.Time) cleverapi.Application {
		return cleverapi.Application{ID: "app_1", CreationDate: created.UnixMilli()}
	}
	off := false
	tests := []struct {
		name    string
		d       config.Discover
		app     cleverapi.Application
		initial bool
		want    time.Time
	}{
		{"appeared, recent", withDefaults(config.Discover{}), app(now.Add(-time.Hour)), false, now.Add(-time.Hour)},
		{"found at start", withDefaults(config.Discover{}), app(now.Add(-time.Hour)), true, time.Time{}},
		{"older than the retention", withDefaults(config.Discover{}), app(now.Add(-8 * 24 * time.Hour)), false, time.Time{}},
		{"shorter retention", withDefaults(config.Discover{Retention: config.Duration(30 * time.Minute)}), app(now.Add(-time.Hour)), false, time.Time{}},
		{"from_creation off", withDefaults(config.Discover{FromCreation: &off}), app(now.Add(-time.Hour)), false, time.Time{}},
		{"no creation date", withDefaults(config.Discover{}), cleverapi.Application{ID: "app_1"}, false, time.Time{}},
	}
	for _, tt := range tests {
		if got := Since(tt.d, tt.app, tt.initial, now); !got.Equal(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFirstListingRefused: a 401 or 403 on the first listing ends Run with a RefusedError
// (the credentials cannot list the owner); later, the same answer keeps the set.
func TestFirstListingRefused(t *testing.T) {
	const owner = "orga_11111111-2222-4333-8444-555555555555"
	emu := emulator.New(emulator.Options{Token: "right", Apps: []emulator.App{{OwnerID: owner}}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()
	rec := &record{}
	d := New(Options{Owner: owner, Discover: config.NewDiscover(), Lister: &cleverapi.Client{Base: srv.URL}, Followers: rec})
	err := d.Run(t.Context())
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Err.Status != 401 || len(rec.log) != 0 {
		t.Fatalf("Run: %v, followed %v", err, rec.log)
	}
	emu.SetFaults(emulator.Faults{})
	d = New(Options{Owner: owner, Discover: config.NewDiscover(), Lister: &cleverapi.Client{Base: srv.URL, Auth: bearer("right")}, Followers: rec})
	if err := d.Poll(t.Context()); err != nil || len(rec.log) != 1 {
		t.Fatalf("first listing: %v %v", err, rec.log)
	}
	emu.SetFaults(emulator.Faults{API: []emulator.APIFault{{Status: 403}}})
	if err := d.Poll(t.Context()); err != nil || len(rec.log) != 1 {
		t.Fatalf("a later refusal: %v %v", err, rec.log)
	}
}

type bearer string

func (b bearer) Authorize(r *http.Request) { r.Header.Set("Authorization", "Bearer "+string(b)) }

// withDefaults returns d with the settings it leaves zero set as config
// sets them (config.NewDiscover): package discover has no defaults of its
// own.
func withDefaults(d config.Discover) config.Discover {
	def := config.NewDiscover()
	if d.Interval == 0 {
		d.Interval = def.Interval
	}
	if d.Retention == 0 {
		d.Retention = def.Retention
	}
	return d
}
