package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func getJSON(t *testing.T, u, auth string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Sozu-Id") == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: headers %v", u, resp.Header)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", u, err, b)
	}
	return resp.StatusCode
}

// TestNeighbourEndpoints checks the look-ups clever-tools and enrichment use.
func TestNeighbourEndpoints(t *testing.T) {
	const auth = "Bearer t"
	e, srv := start(t, Options{Token: "t", Apps: []App{
		{Backlog: 1, Name: "front"},
		{Backlog: 1, OwnerID: "user_11111111-2222-4333-8444-555555555555", Name: "perso"},
	}})
	apps := e.Apps()
	orga, user := apps[0], apps[1]

	var summary struct {
		User struct {
			ID           string
			Applications []struct{ ID, Name string }
		}
		Organisations []struct {
			ID                   string
			Applications, Addons []map[string]any
			Consumers            []any
		}
	}
	if st := getJSON(t, srv.URL+"/v2/summary", auth, &summary); st != 200 {
		t.Fatalf("summary %d", st)
	}
	if summary.User.ID != user.OwnerID || len(summary.User.Applications) != 1 || summary.User.Applications[0].Name != "perso" {
		t.Errorf("summary user %+v", summary.User)
	}
	if len(summary.Organisations) != 1 || summary.Organisations[0].ID != orga.OwnerID ||
		summary.Organisations[0].Applications[0]["id"] != orga.ID || summary.Organisations[0].Addons == nil {
		t.Errorf("summary organisations %+v", summary.Organisations)
	}

	var self map[string]any
	if getJSON(t, srv.URL+"/v2/self", auth, &self); self["id"] != user.OwnerID {
		t.Errorf("self %v", self)
	}
	var list []map[string]any
	if getJSON(t, srv.URL+"/v2/organisations/"+orga.OwnerID+"/applications", auth, &list); len(list) != 1 || list[0]["id"] != orga.ID {
		t.Errorf("orga apps %v", list)
	}
	if getJSON(t, srv.URL+"/v2/self/applications", auth, &list); len(list) != 1 || list[0]["id"] != user.ID {
		t.Errorf("self apps %v", list)
	}
	var one map[string]any
	if st := getJSON(t, srv.URL+"/v2/organisations/"+orga.OwnerID+"/applications/"+orga.ID, auth, &one); st != 200 || one["name"] != "front" {
		t.Errorf("app %d %v", st, one)
	}
	if st := getJSON(t, srv.URL+"/v2/organisations/"+orga.OwnerID+"/applications/"+user.ID, auth, &one); st != 404 {
		t.Errorf("app of another owner: %d", st)
	}

	var instances []struct {
		ID, DeploymentID, ApplicationID string
		Network                         struct{ IP string }
	}
	base := srv.URL + "/v4/orchestration/organisations/" + orga.OwnerID + "/applications/" + orga.ID
	getJSON(t, base+"/instances", auth, &instances)
	logInstances := map[string]bool{}
	for _, l := range e.Lines(orga.ID) {
		logInstances[decode(t, l.Raw).InstanceID] = true
	}
	if len(instances) != orga.Instances || instances[0].ApplicationID != orga.ID {
		t.Fatalf("instances %+v", instances)
	}
	for id := range logInstances {
		found := false
		for _, in := range instances {
			found = found || in.ID == id
		}
		if !found {
			t.Errorf("log instance %s not listed", id)
		}
	}
	var deps []struct {
		ID      string
		Version struct{ CommitID string }
	}
	getJSON(t, base+"/deployments", auth, &deps)
	if len(deps) != orga.Deployments || deps[0].Version.CommitID == "" {
		t.Fatalf("deployments %+v", deps)
	}
	var dep map[string]any
	if st := getJSON(t, base+"/deployments/"+deps[1].ID, auth, &dep); st != 200 || dep["id"] != deps[1].ID {
		t.Errorf("deployment %d %v", st, dep)
	}
	var zones []map[string]any
	if getJSON(t, srv.URL+"/v4/products/zones", auth, &zones); len(zones) == 0 || zones[0]["name"] != "par" {
		t.Errorf("zones %v", zones)
	}

	var errBody apiError
	if st := getJSON(t, srv.URL+"/v2/summary", "", &errBody); st != 401 || errBody.Code != "clever.auth.unauthorized" {
		t.Errorf("unauthenticated summary: %d %+v", st, errBody)
	}
	if st := getJSON(t, srv.URL+"/nope", auth, &errBody); st != 404 || errBody.Code != "clever.core.not-found" {
		t.Errorf("unknown path: %d %+v", st, errBody)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, logsURL(srv, orga, nil), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST logs: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestRequestLog checks what the request log and counters record.
func TestRequestLog(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 20}}, Token: "secret-token", HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)
	q := fast(since, until)
	q.Add("instanceId", "a")
	q.Add("instanceId", "b")
	t0 := time.Now()
	res := readAll(t, logsURL(srv, app, q), map[string]string{"Authorization": "Bearer secret-token", "Last-Event-ID": lines[4].ID})
	if evs, _ := logs(res.events); len(evs) != 0 {
		t.Fatalf("%d lines for unknown instances", len(evs))
	}
	readAll(t, logsURL(srv, app, fast(since, until)), nil)
	reqs := e.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "GET" || !strings.HasSuffix(r.Path, app.ID+"/logs") || strings.Join(r.Query["instanceId"], ",") != "a,b" ||
		r.LastEventID != lines[4].ID || r.Auth != AuthBearer || r.Status != 200 || r.Time.Before(t0.Add(-time.Second)) || r.SozuID == "" {
		t.Errorf("request %+v", r)
	}
	if reqs[1].Status != 401 || reqs[1].Auth != AuthNone {
		t.Errorf("request %+v", reqs[1])
	}
	st := e.Stats()
	if st.Requests != 2 || st.Connections != 1 || st.LinesSent != 0 || st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
	readAll(t, logsURL(srv, app, fast(since, until)), map[string]string{"Authorization": "Bearer secret-token"})
	if st := e.Stats(); st.LinesSent != 20 {
		t.Errorf("lines sent %d", st.LinesSent)
	}
}
