package cleverapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// TestLookups reads each look-up from the emulator, and the personal space through
// /v2/self.
func TestLookups(t *testing.T) {
	const user = "user_11111111-2222-4333-8444-555555555555"
	emu := emulator.New(emulator.Options{Apps: []emulator.App{{Name: "shop", Zone: "rbx"}, {Name: "mine", OwnerID: user}}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()
	apps := emu.Apps()
	c := &Client{Base: srv.URL + "/"}
	list, err := c.Applications(t.Context(), apps[0].OwnerID)
	if err != nil || len(list) != 1 || list[0].Name != "shop" || list[0].Zone != "rbx" || !list[0].Created().Equal(apps[0].Created.Truncate(time.Millisecond)) {
		t.Fatalf("applications: %v %+v", err, list)
	}
	if mine, err := c.Applications(t.Context(), user); err != nil || len(mine) != 1 || mine[0].Name != "mine" {
		t.Fatalf("personal space: %v %+v", err, mine)
	}
	a, err := c.Application(t.Context(), user, apps[1].ID)
	if err != nil || a.Name != "mine" {
		t.Fatalf("application: %v %+v", err, a)
	}
	z, err := c.Zone(t.Context(), "rbx")
	if err != nil || z.City != "Roubaix" || z.CountryCode != "FR" {
		t.Fatalf("zone: %v %+v", err, z)
	}
	_, err = c.Instance(t.Context(), apps[0].OwnerID, apps[0].ID, "nope")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "clever.core.not-found") {
		t.Errorf("unknown instance: %v", err)
	}
}

// TestErrorsQuoteNothing: an answer that is not the expected JSON, or an error body, is
// never quoted in the error (an application's body holds its environment).
func TestErrorsQuoteNothing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/applications") {
			_, _ = w.Write([]byte(`[{"id":"app_1","env":[{"name":"DB","value":"SECRET-VALUE"}],"name":`))
			return
		}
		w.Header().Set("Sozu-Id", "s-1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"clever.core.unavailable","error":"SECRET-VALUE"}`))
	}))
	defer srv.Close()
	c := &Client{Base: srv.URL}
	_, err := c.Applications(t.Context(), "orga_1")
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("truncated body: %v", err)
	}
	_, err = c.Zone(t.Context(), "par")
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "503") ||
		!strings.Contains(err.Error(), "clever.core.unavailable") || !strings.Contains(err.Error(), "Sozu-Id s-1") {
		t.Errorf("error status: %v", err)
	}
}
