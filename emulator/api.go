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
	m.HandleFunc("GET /v4/orchestration/organisations/{ownerId}/applications/{appId}/instances/{instanceId}", e.api(e.instances))
	m.HandleFunc("GET /v4/orchestration/organisations/{ownerId}/applications/{appId}/deployments", e.api(e.deployments))
	m.HandleFunc("GET /v4/orchestration/organisations/{ownerId}/applications/{appId}/deployments/{deploymentId}", e.api(e.deployments))
	m.HandleFunc("GET /v4/products/zones", e.api(e.zones))
	m.HandleFunc("GET /v4/products/zones/{name}", e.api(e.zones))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		scheme, _ := e.checkAuth(r)
		writeJSON(w, http.StatusNotFound, notFoundBody("Not Found: "+r.URL.Path))
		e.record(r, w, time.Now(), scheme, http.StatusNotFound)
	})
	return m
}

// api wraps a JSON look-up: the API faults (Faults.API), auth, then status and body from fn.
func (e *Emulator) api(fn func(r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		scheme, ok := e.checkAuth(r)
		status, body := http.StatusUnauthorized, any(unauthorizedBody)
		f, faulty := e.apiFaults.Load().match(r.URL.Path)
		if faulty && f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
			case <-e.closed:
			}
			t.Stop()
		}
		switch {
		case faulty && f.Status != 0:
			status, body = f.Status, statusBody(f.Status)
		case ok:
			status, body = fn(r)
		}
		writeJSON(w, status, body)
		e.record(r, w, at, scheme, status)
	}
}

// selfID is the owner id of /v2/self: the first user_ owner of the apps, else a generated one.
func (e *Emulator) selfID() string {
	for _, a := range e.served() {
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
	for _, a := range e.served() {
		if a.cfg.OwnerID == owner {
			out = append(out, e.appJSON(a))
		}
	}
	return out
}

// appJSON is an application as GET /v2/…/applications answers it. The members are those
// @clevercloud/client 12 reads (transformApplication); their values here are plausible, not
// captured: in particular the flavor objects' details and the variant are assumed. The real
// body also holds the environment ("env"): logship must never log it.
func (e *Emulator) appJSON(a *appState) map[string]any {
	commit := a.commits[len(a.commits)-1]
	flavor := flavorJSON("XS", 1, 1024, 0.3436)
	return map[string]any{
		"id":          a.cfg.ID,
		"name":        a.cfg.Name,
		"description": a.cfg.Name,
		"zone":        a.cfg.Zone,
		"zoneId":      zoneID(a.cfg.Zone),
		"ownerId":     a.cfg.OwnerID,
		"state":       "SHOULD_BE_UP",
		"archived":    false,
		"commitId":    commit,
		"branch":      "master",
		"instance": map[string]any{
			"type": "docker", "version": "20250101", "minInstances": 1, "maxInstances": a.cfg.Instances,
			"maxAllowedInstances": 40, "lifetime": "REGULAR", "defaultEnv": map[string]any{},
			"variant": map[string]any{"id": "8b1b5a10-6d5e-4c5a-9f5d-0d4f3e2b1a01", "slug": "docker",
				"name": "Docker", "deployType": "docker", "logo": "https://assets.clever-cloud.com/logos/docker.svg"},
			"minFlavor": flavor, "maxFlavor": flavor,
			"flavors": []any{flavorJSON("nano", 1, 512, 0.1718), flavor, flavorJSON("S", 2, 2048, 0.6873)},
		},
		"deployment": map[string]any{
			"type": "GIT", "shutdownable": false, "repoState": "CREATED",
			"url":     "git+ssh://git@push-n3-par-clevercloud-customers.services.clever-cloud.com/" + a.cfg.ID + ".git",
			"httpUrl": "https://push-n3-par-clevercloud-customers.services.clever-cloud.com/" + a.cfg.ID + ".git",
		},
		"vhosts":         []any{map[string]any{"fqdn": strings.ReplaceAll(a.cfg.ID, "_", "-") + ".cleverapps.io/"}},
		"creationDate":   a.cfg.Created.UnixMilli(),
		"last_deploy":    len(a.deploys),
		"stickySessions": false,
		"homogeneous":    false,
		"favourite":      false,
		"cancelOnPush":   false,
		"separateBuild":  false,
		"buildFlavor":    flavor,
		"appliance":      nil,
		"forceHttps":     "DISABLED",
		"webhookUrl":     nil,
		"webhookSecret":  nil,
		"env":            []any{},
	}
}

// flavorJSON is a runtime flavor as the v2 API writes it (shape from @clevercloud/client's
// transformProductRuntimeFlavor; values assumed).
func flavorJSON(name string, cpus, mem int, price float64) map[string]any {
	return map[string]any{
		"name": name, "mem": mem, "cpus": cpus, "gpus": 0, "disk": nil, "price": price,
		"available": true, "microservice": false, "machine_learning": false, "nice": 0,
		"price_id": "apps." + name, "cpuFactor": 1, "memFactor": 1,
		"memory": map[string]any{"unit": "B", "value": mem << 20, "formatted": strconv.Itoa(mem) + " MiB"},
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
	for _, a := range e.served() {
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
	for _, a := range e.served() {
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
	a := e.app(r.PathValue("appId"))
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

// instanceNames are the words of generated instance names (real ones look like "Sturdy
// Lion"; assumed).
var instanceNames = [2][]string{
	{"Sturdy", "Gentle", "Brave", "Calm", "Eager", "Jolly", "Lucky", "Quiet"},
	{"Lion", "Otter", "Falcon", "Badger", "Heron", "Lynx", "Panda", "Wombat"},
}

// instances answers …/instances (the list, filtered by deploymentId) and
// …/instances/{instanceId}. The shape is @clevercloud/client 12's Instance; the values are
// made up (every instance UP, flavor XS).
func (e *Emulator) instances(r *http.Request) (int, any) {
	a := e.findApp(r)
	if a == nil {
		return http.StatusNotFound, notFoundBody("Application not found")
	}
	dep := r.URL.Query().Get("deploymentId")
	want := r.PathValue("instanceId")
	out := []map[string]any{}
	for i, in := range a.instances {
		if dep != "" && in.deploymentID != dep || want != "" && in.id != want {
			continue
		}
		out = append(out, map[string]any{
			"id": in.id, "ownerId": a.cfg.OwnerID, "applicationId": a.cfg.ID, "deploymentId": in.deploymentID,
			"name":   instanceNames[0][(a.key>>(3*i))%8] + " " + instanceNames[1][(a.key>>(3*i+24))%8],
			"flavor": "XS", "index": i, "state": "UP",
			"hypervisorId": uuidFrom(mix64(a.key^uint64(i)^0x4b9e), mix64(uint64(i))),
			"creationDate": a.cfg.Start.Add(-time.Hour).UTC().Format(time.RFC3339Nano), "deletionDate": nil,
			"network": map[string]any{"ip": "10.0.0." + strconv.Itoa(10+i), "port": 8080}, "isBuildVm": false,
		})
	}
	if want != "" {
		if len(out) == 0 {
			return http.StatusNotFound, notFoundBody("Instance not found")
		}
		return http.StatusOK, out[0]
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
			"startDate": start.Format(time.RFC3339Nano), "state": "SUCCEEDED",
			"steps": []map[string]any{
				{"state": "QUEUED", "date": start.Format(time.RFC3339Nano)},
				{"state": "WORK_IN_PROGRESS", "date": start.Add(2 * time.Second).Format(time.RFC3339Nano)},
				{"state": "SUCCEEDED", "date": start.Add(90 * time.Second).Format(time.RFC3339Nano)},
			},
			"version": map[string]any{"commitId": a.commits[i]},
			// action, state and priority take values of the client's enums; cause and
			// source are free strings there, so theirs are assumed.
			"origin": map[string]any{"action": "DEPLOY", "cause": "git push", "source": "API",
				"authorId": e.selfID(), "priority": "DEFAULT", "constraints": []string{}},
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

// zoneList is what /v4/products/zones answers: the shape is @clevercloud/client 12's Zone;
// the ids and outbound IPs are made up, the rest is believed true of the public zones.
var zoneList = []map[string]any{
	zoneJSON("par", "France", "FR", "Paris", "Paris", 48.8566, 2.3522, "infra:clever-cloud"),
	zoneJSON("rbx", "France", "FR", "Roubaix", "Roubaix", 50.6942, 3.1746, "infra:ovh"),
	zoneJSON("scw", "France", "FR", "Paris", "Paris (Scaleway)", 48.8566, 2.3522, "infra:scaleway"),
	zoneJSON("mtl", "Canada", "CA", "Montreal", "Montreal", 45.5017, -73.5673, "infra:ovh"),
	zoneJSON("sgp", "Singapore", "SG", "Singapore", "Singapore", 1.3521, 103.8198, "infra:ovh"),
	zoneJSON("wsw", "Poland", "PL", "Warsaw", "Warsaw", 52.2297, 21.0122, "infra:ovh"),
}

func zoneJSON(name, country, code, city, display string, lat, lon float64, infra string) map[string]any {
	return map[string]any{"id": zoneID(name), "name": name, "country": country, "countryCode": code,
		"city": city, "displayName": display, "lat": lat, "lon": lon, "outboundIPs": []string{},
		"tags": []string{infra, "region:" + map[bool]string{true: "eu", false: "world"}[code == "FR" || code == "PL"]}}
}

// zoneID is a made-up, stable zone id.
func zoneID(name string) string {
	k := hashKey(0, name)
	return uuidFrom(mix64(k), mix64(k^0x20e))
}

// zones answers /v4/products/zones (the list, plus the zones of the served apps that are
// not in it, with made-up details) and /v4/products/zones/{name}.
func (e *Emulator) zones(r *http.Request) (int, any) {
	out := append([]map[string]any(nil), zoneList...)
	known := map[string]bool{}
	for _, z := range zoneList {
		known[z["name"].(string)] = true
	}
	for _, a := range e.served() {
		if z := a.cfg.Zone; !known[z] {
			known[z] = true
			out = append(out, zoneJSON(z, "Emulated", "ZZ", "City of "+z, "Zone "+z, 0, 0, "infra:emulator"))
		}
	}
	if want := r.PathValue("name"); want != "" {
		for _, z := range out {
			if z["name"] == want {
				return http.StatusOK, z
			}
		}
		return http.StatusNotFound, notFoundBody("Zone not found")
	}
	return http.StatusOK, out
}
