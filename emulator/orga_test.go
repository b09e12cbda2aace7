package emulator

import (
	"net/http"
	"testing"
	"time"
)

// TestAddRemoveApps checks that applications added and removed while running are listed,
// looked up and streamed accordingly.
func TestAddRemoveApps(t *testing.T) {
	const auth = "Bearer t"
	e, srv := start(t, Options{Token: "t", Apps: []App{{Backlog: 3, Name: "first"}}})
	first := e.Apps()[0]
	list := func() []string {
		var apps []struct{ ID, Name string }
		if st := getJSON(t, srv.URL+"/v2/organisations/"+first.OwnerID+"/applications", auth, &apps); st != 200 {
			t.Fatalf("list: %d", st)
		}
		var ids []string
		for _, a := range apps {
			ids = append(ids, a.Name)
		}
		return ids
	}
	if got := list(); len(got) != 1 || got[0] != "first" {
		t.Fatalf("list %v", got)
	}
	before := time.Now()
	added := e.AddApp(App{Name: "second", Backlog: 5, Zone: "mtl"})
	if added.OwnerID != first.OwnerID || added.ID == first.ID || added.Start.Before(before) || !added.Created.Equal(added.Start) {
		t.Fatalf("added %+v", added)
	}
	if again := e.AddApp(App{ID: added.ID, Name: "other"}); again.Name != "second" {
		t.Errorf("adding a served id again: %+v", again)
	}
	if got := list(); len(got) != 2 || got[1] != "second" {
		t.Fatalf("list after add %v", got)
	}
	var one struct {
		Name, Zone   string
		CreationDate int64
	}
	if st := getJSON(t, srv.URL+"/v2/organisations/"+first.OwnerID+"/applications/"+added.ID, auth, &one); st != 200 ||
		one.Name != "second" || one.Zone != "mtl" || one.CreationDate != added.Created.UnixMilli() {
		t.Errorf("added app %d %+v", st, one)
	}
	since, until := allOf(e.Lines(added.ID))
	res := readAll(t, logsURL(srv, added, fast(since, until)), map[string]string{"Authorization": auth})
	if evs, _ := logs(res.events); len(evs) != 5 {
		t.Fatalf("added app streamed %d lines", len(evs))
	}
	if decode(t, e.Lines(added.ID)[0].Raw).Zone != "mtl" {
		t.Errorf("zone of the lines")
	}

	if !e.RemoveApp(first.ID) || e.RemoveApp(first.ID) {
		t.Fatal("RemoveApp")
	}
	if got := list(); len(got) != 1 || got[0] != "second" {
		t.Fatalf("list after remove %v", got)
	}
	if st := getJSON(t, srv.URL+"/v2/organisations/"+first.OwnerID+"/applications/"+first.ID, auth, &one); st != 404 {
		t.Errorf("removed app look-up %d", st)
	}
	res = readAll(t, logsURL(srv, first, nil), map[string]string{"Authorization": auth})
	if res.resp.StatusCode != 404 {
		t.Errorf("removed app stream %d", res.resp.StatusCode)
	}
	if len(e.Lines(first.ID)) != 3 || len(e.Apps()) != 1 {
		t.Errorf("lines of a removed app %d, apps %d", len(e.Lines(first.ID)), len(e.Apps()))
	}
}

// TestRemovedAppPublishesNothing checks that a removed live app stops publishing.
func TestRemovedAppPublishesNothing(t *testing.T) {
	e := New(Options{})
	a := e.AddApp(App{Rate: 1000})
	time.Sleep(20 * time.Millisecond)
	e.RemoveApp(a.ID)
	n := len(e.Lines(a.ID))
	time.Sleep(20 * time.Millisecond)
	if m := len(e.Lines(a.ID)); m != n || n == 0 {
		t.Errorf("lines %d then %d", n, m)
	}
}

// TestAPIFaults checks the slow and failing look-ups, and that the logs stream is spared.
func TestAPIFaults(t *testing.T) {
	const auth = "Bearer t"
	e, srv := start(t, Options{Token: "t", Apps: []App{{Backlog: 2}}, Faults: Faults{API: []APIFault{
		{Match: "/instances", Status: 503, Count: 1},
		{Match: "/v4/products/zones", Delay: 150 * time.Millisecond},
	}}})
	app := e.Apps()[0]
	base := srv.URL + "/v4/orchestration/organisations/" + app.OwnerID + "/applications/" + app.ID
	var body apiError
	if st := getJSON(t, base+"/instances", auth, &body); st != 503 || body.Code != "clever.core.internal-error" {
		t.Errorf("first instances %d %+v", st, body)
	}
	var insts []struct{ ID, Name, Flavor, State string }
	if st := getJSON(t, base+"/instances", auth, &insts); st != 200 || len(insts) != app.Instances || insts[0].Name == "" {
		t.Errorf("second instances %d %+v", st, insts)
	}
	var inst struct{ ID string }
	if st := getJSON(t, base+"/instances/"+insts[1].ID, auth, &inst); st != 200 || inst.ID != insts[1].ID {
		t.Errorf("one instance %d %+v", st, inst)
	}
	t0 := time.Now()
	var zone struct{ City, Country, DisplayName string }
	if st := getJSON(t, srv.URL+"/v4/products/zones/par", auth, &zone); st != 200 || zone.City != "Paris" || zone.Country != "France" {
		t.Errorf("zone %d %+v", st, zone)
	}
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Errorf("zone answered after %v, before its delay", d)
	}
	res := readAll(t, logsURL(srv, app, fast(allOf(e.Lines(app.ID)))), map[string]string{"Authorization": auth})
	if res.resp.StatusCode != http.StatusOK {
		t.Errorf("logs %d", res.resp.StatusCode)
	}
	e.SetFaults(Faults{})
	if st := getJSON(t, srv.URL+"/v4/products/zones", auth, &[]any{}); st != 200 {
		t.Errorf("zones after the faults %d", st)
	}
}
