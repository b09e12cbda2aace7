package httpsink

import (
	"fmt"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// TestLokiLabels: events are grouped into streams by their label set, made
// of event fields and static values; empty labels are left off.
func TestLokiLabels(t *testing.T) {
	rc := newReceiver(t, "loki", nil)
	s := newSink(t, Config{URL: rc.url(), Encoding: "loki", Loki: LokiConfig{
		Labels: map[string]string{
			"app":      "{applicationId}",
			"level":    "{severity:-unknown}",
			"env":      "prod",
			"instance": "{instanceId}",
		},
		TenantID: "team-a",
	}}, Options{})
	b := makeBatch(0, 12)
	// One event without severity nor instanceId, one with an escaped value.
	b.Events[3].Raw = []byte(`{"id":"id-000003","applicationId":"app_1","message":"x"}`)
	b.Events[4].Raw = []byte(`{"id":"id-000004","applicationId":"app_1","instanceId":"i\"q","severity":"info"}`)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	reqs, _ := rc.snapshot()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if got := r.Header.Get("X-Scope-OrgID"); got != "team-a" {
		t.Errorf("X-Scope-OrgID %q", got)
	}
	for i, e := range b.Events {
		want := fmt.Sprintf("app=app_1,env=prod,instance=inst-%d,level=%s", i%2, []string{"info", "warn", "error"}[i%3])
		switch i {
		case 3:
			want = "app=app_1,env=prod,level=unknown"
		case 4:
			want = `app=app_1,env=prod,instance=i"q,level=info`
		}
		if got := r.Labels[e.ID]; got != want {
			t.Errorf("%s: labels %s, want %s", e.ID, got, want)
		}
	}
}

// TestLokiFallbackLabel: an event whose labels all come out empty still
// gets a label, as Loki requires one.
func TestLokiFallbackLabel(t *testing.T) {
	enc, err := newLokiEncoder(LokiConfig{Labels: map[string]string{"level": "{severity}"}})
	if err != nil {
		t.Fatal(err)
	}
	sc := &scratch{scan: event.NewFieldReader(enc.fields())}
	evs := []event.Event{
		{Raw: []byte(`{"message":"a"}`), Date: 5},
		{Raw: []byte(`{"severity":"info"}`), Date: 6},
		{Raw: []byte(`{"message":"b"}`), Date: int64(time.Second)},
	}
	got := string(enc.encode(nil, evs, sc))
	want := `{"streams":[{"stream":{"job":"logship"},"values":[["5","{\"message\":\"a\"}"],["1000000000","{\"message\":\"b\"}"]]},` +
		`{"stream":{"level":"info"},"values":[["6","{\"severity\":\"info\"}"]]}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
