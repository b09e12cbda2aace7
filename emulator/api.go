package emulator

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// routes registers the logs endpoint and the neighbouring look-ups: those clever-tools calls
// to find an app (/v2/summary, /v2/self, /v2/…/applications) and the v4 orchestration
// instances and deployments of an app. Anything else is a JSON 404.
func (e *Emulator) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/v4/logs/organisations/{ownerId}/applications/{appId}/logs", e.handleLogs)
	m.HandleFunc("GET /v2/summary", e.api(e.summary))
	m.HandleFunc("GET /v2/self", e.api(e.self))
	m.HandleFunc("GET /v2/self/applications", e.api(e.ownerApps))
	m.HandleFunc("GET /v2/self/applications/{appId}", e.api(e.ownerApp))
	m.HandleFunc("GET /v2/organisations/{ownerId}", e.api(e.organisation))
	m.HandleFunc("GET /v2/organisations/{ownerId}/applications", e.api(e.ownerApps))
	m.HandleFunc("GET /v2/organisations/{ownerId}/applications/{appId}", e.api(e.ownerApp))
	m.HandleFunc("GET /v4/orchestration/organisations/{ownerId}/applications/{appId}/instances", e.api(e.instances))
	m.HandleFunc("GET /v4/orchestration/organisations/{ownerId}/applications/{appId}/deployments", e.api(e.deployments))
	m.HandleFunc("GET /v4/orchestration/organisations/{ownerId}/applications/{appId}/deployments/{deploymentId}", e.api(e.deployments))
	m.HandleFunc("GET /v4/products/zones", e.api(e.zones))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		scheme, _ := e.checkAuth(r)
		writeJSON(w, http.StatusNotFound, notFoundBody("Not Found: "+r.URL.Path))
		e.record(r, w, time.Now(), scheme, http.StatusNotFound)
	})
	return m
}

// api wraps a JSON look-up: auth, then status and body from fn.
func (e *Emulator) api(fn func(r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		scheme, ok := e.checkAuth(r)
		status, body := http.StatusUnauthorized, any(unauthorizedBody)
		if ok {
			status, body = fn(r)
		}
		writeJSON(w, status, body)
		e.record(r, w, at, scheme, status)
	}
}

// selfID is the owner id of /v2/self: the first user_ owner of the apps, else a generated one.
func (e *Emulator) selfID() string {
	for _, a := range e.apps {
		if strings.HasPrefix(a.cfg.OwnerID, "user_") {
			return a.cfg.OwnerID
		}
	}
	return e.userID
}

// ownerOf resolves the {ownerId} of a path; /v2/self paths have none.
func (e *Emulator) ownerOf(r *http.Request) string {
	if o := r.PathValue("ownerId"); o != "" {
		return o
	}
	return e.selfID()
}

func (e *Emulator) appsOf(owner string) []map[string]any {
	out := []map[string]any{}
	for _, a := range e.apps {
		if a.cfg.OwnerID == owner {
			out = append(out, e.appJSON(a))
		}
	}
	return out
}

func (e *Emulator) appJSON(a *appState) map[string]any {
	commit := a.commits[len(a.commits)-1]
	return map[string]any{
		"id":          a.cfg.ID,
		"name":        a.cfg.Name,
		"description": a.cfg.Name,
		"zone":        "par",
		"ownerId":     a.cfg.OwnerID,
		"state":       "SHOULD_BE_UP",
		"archived":    false,
		"commitId":    commit,
		"branch":      "master",
		"instance": map[string]any{
			"type": "docker", "version": "20250101", "minInstances": 1, "maxInstances": a.cfg.Instances,
			"variant": map[string]any{"slug": "docker", "name": "Docker"},
		},
		"deployment": map[string]any{
			"type": "GIT", "shutdownable": false,
			"url":     "git+ssh://git@push-n3-par-clevercloud-customers.services.clever-cloud.com/" + a.cfg.ID + ".git",
			"httpUrl": "https://push-n3-par-clevercloud-customers.services.clever-cloud.com/" + a.cfg.ID + ".git",
		},
		"vhosts":       []any{},
		"creationDate": a.cfg.Start.Add(-24 * time.Hour).UnixMilli(),
		"env":          []any{},
	}
}

func (e *Emulator) ownerJSON(id, name string) map[string]any {
	return map[string]any{
		"id": id, "name": name, "applications": e.appsOf(id), "addons": []any{}, "consumers": []any{},
		"canPay": true, "cleverEnterprise": false, "emails": []any{}, "canSEPA": false,
	}
}

func (e *Emulator) summary(*http.Request) (int, any) {
	self := e.selfID()
	var orgs []map[string]any
	seen := map[string]bool{self: true}
	for _, a := range e.apps {
		if o := a.cfg.OwnerID; !seen[o] {
			seen[o] = true
			orgs = append(orgs, e.ownerJSON(o, "Organisation "+o[len(o)-4:]))
		}
	}
	if orgs == nil {
		orgs = []map[string]any{}
	}
	return http.StatusOK, map[string]any{"user": e.ownerJSON(self, "Emulator User"), "organisations": orgs}
}

func (e *Emulator) self(*http.Request) (int, any) {
	return http.StatusOK, map[string]any{
		"id": e.selfID(), "email": "emulator@example.invalid", "name": "Emulator User",
		"emailValidated": true, "lang": "EN", "admin": false,
	}
}

func (e *Emulator) organisation(r *http.Request) (int, any) {
	o := r.PathValue("ownerId")
	for _, a := range e.apps {
		if a.cfg.OwnerID == o {
			return http.StatusOK, map[string]any{"id": o, "name": "Organisation " + o[len(o)-4:]}
		}
	}
	return http.StatusNotFound, notFoundBody("Organisation not found")
}

func (e *Emulator) ownerApps(r *http.Request) (int, any) {
	return http.StatusOK, e.appsOf(e.ownerOf(r))
}

func (e *Emulator) findApp(r *http.Request) *appState {
	a := e.byID[r.PathValue("appId")]
	if a == nil || a.cfg.OwnerID != e.ownerOf(r) {
		return nil
	}
	return a
}

func (e *Emulator) ownerApp(r *http.Request) (int, any) {
	a := e.findApp(r)
	if a == nil {
		return http.StatusNotFound, notFoundBody("Application not found")
	}
	return http.StatusOK, e.appJSON(a)
}

func (e *Emulator) instances(r *http.Request) (int, any) {
	a := e.findApp(r)
	if a == nil {
		return http.StatusNotFound, notFoundBody("Application not found")
	}
	dep := r.URL.Query().Get("deploymentId")
	out := []map[string]any{}
	for i, in := range a.instances {
		if dep != "" && in.deploymentID != dep {
			continue
		}
		out = append(out, map[string]any{
			"id": in.id, "ownerId": a.cfg.OwnerID, "applicationId": a.cfg.ID, "deploymentId": in.deploymentID,
			"name": "instance-" + strconv.Itoa(i), "flavor": "XS", "index": i, "state": "UP",
			"creationDate": a.cfg.Start.Add(-time.Hour).UTC().Format(time.RFC3339Nano), "deletionDate": nil,
			"network": map[string]any{"ip": "10.0.0." + strconv.Itoa(10+i), "port": 8080}, "isBuildVm": false,
		})
	}
	return http.StatusOK, out
}

func (e *Emulator) deployments(r *http.Request) (int, any) {
	a := e.findApp(r)
	if a == nil {
		return http.StatusNotFound, notFoundBody("Application not found")
	}
	want := r.PathValue("deploymentId")
	var out []map[string]any
	for i, d := range a.deploys {
		start := a.cfg.Start.Add(-time.Duration(len(a.deploys)-i) * time.Hour).UTC()
		dep := map[string]any{
			"id": d, "ownerId": a.cfg.OwnerID, "applicationId": a.cfg.ID,
			"startDate": start.Format(time.RFC3339Nano), "state": "OK",
			"steps": []map[string]any{
				{"state": "QUEUED", "date": start.Format(time.RFC3339Nano)},
				{"state": "OK", "date": start.Add(90 * time.Second).Format(time.RFC3339Nano)},
			},
			"version": map[string]any{"commitId": a.commits[i]},
			"origin": map[string]any{"action": "DEPLOY", "cause": "GIT_PUSH", "source": "CLI",
				"authorId": e.selfID(), "priority": "NORMAL", "constraints": map[string]any{}},
			"hasDedicatedBuild": false,
		}
		if want == d {
			return http.StatusOK, dep
		}
		out = append(out, dep)
	}
	if want != "" {
		return http.StatusNotFound, notFoundBody("Deployment not found")
	}
	return http.StatusOK, out
}

func (e *Emulator) zones(*http.Request) (int, any) {
	return http.StatusOK, []map[string]any{
		{"id": "9d6d9a32-3e8f-4b0a-9b1a-2f3c4d5e6f70", "name": "par", "country": "France", "countryCode": "FR",
			"city": "Paris", "displayName": "Paris", "lat": 48.8566, "lon": 2.3522, "outboundIPs": []string{},
			"tags": []string{"region:eu", "infra:clever-cloud"}},
		{"id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "name": "rbx", "country": "France", "countryCode": "FR",
			"city": "Roubaix", "displayName": "Roubaix", "lat": 50.6942, "lon": 3.1746, "outboundIPs": []string{},
			"tags": []string{"region:eu", "infra:ovh"}},
	}
}
