package httpsink

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logship/logship/event"
)

func TestIdempotencyKey(t *testing.T) {
	b := makeBatch(0, 10).Events
	key := IdempotencyKey("es", b)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(key) {
		t.Fatalf("key %q is not 32 hex digits", key)
	}
	same := append([]event.Event(nil), b...)
	same[4].Raw = []byte(`{"changed":true}`) // only the ends and the count matter
	if IdempotencyKey("es", same) != key {
		t.Error("key changed for a batch with the same ends and count")
	}
	lastMoved := append([]event.Event(nil), b...)
	lastMoved[9].ID = "other"
	otherApp := append([]event.Event(nil), b...)
	otherApp[0].AppID = "app_2"
	for name, k := range map[string]string{
		"other sink":  IdempotencyKey("loki", b),
		"fewer":       IdempotencyKey("es", b[:9]),
		"other first": IdempotencyKey("es", b[1:]),
		"other last":  IdempotencyKey("es", lastMoved),
		"other app":   IdempotencyKey("es", otherApp),
	} {
		if k == key {
			t.Errorf("%s: same key", name)
		}
	}
	// Field boundaries are unambiguous.
	x := []event.Event{{Source: "ab", ID: "c"}}
	y := []event.Event{{Source: "a", ID: "bc"}}
	if IdempotencyKey("s", x) == IdempotencyKey("s", y) {
		t.Error("fields run together")
	}
	if IdempotencyKey("s", nil) != "" {
		t.Error("empty batch has a key")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", maxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sunday, 01-Jun-25 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Sun Jun  1 12:00:05 2025", 5 * time.Second, true},        // ANSI C
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "Wed, 21 Oct 2015 07:28:00 GMT", "", "-3", "9999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _ := parseRetryAfter(s, time.Now())
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("delay %v out of range", d)
		}
	})
}

func TestSnippet(t *testing.T) {
	got := snippet([]byte("line one\n\tline\x00two \xff" + string(bytes.Repeat([]byte("é"), 400))))
	if !utf8.ValidString(got) || len(got) > maxReason+len("…") || bytes.ContainsAny([]byte(got), "\n\t\x00") {
		t.Errorf("snippet %q", got)
	}
}

func FuzzBulkResult(f *testing.F) {
	f.Add([]byte(`{"took":1,"errors":true,"items":[{"create":{"status":429}},{"create":{"status":400,"error":{"type":"t","reason":"r"}}}]}`), 2)
	f.Add([]byte(`{"errors":false,"items":[]}`), 1)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		err := bulkResult(body, n)
		if pe, ok := err.(*event.PartialError); ok {
			for _, i := range pe.Retry {
				if i < 0 || i >= n {
					t.Fatalf("retry index %d out of %d", i, n)
				}
			}
			for _, r := range pe.Rejected {
				if r.Index < 0 || r.Index >= n || r.Reason == "" {
					t.Fatalf("rejection %+v", r)
				}
			}
		}
	})
}
