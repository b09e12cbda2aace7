package emulator

import (
	"fmt"
	"time"
)

// Default values applied by New to zero fields of Options and App.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultDisorder          = 2 * time.Second
	DefaultSameDate          = 4
	DefaultSpacing           = 5 * time.Millisecond
	DefaultInstances         = 3
	DefaultDeployments       = 2
	DefaultThrottleElements  = 100
	DefaultThrottlePer       = 300 * time.Millisecond
	DefaultFutureSkew        = time.Hour
)

// The public clever-tools OAuth consumer pair, used by OAuthCreds when its consumer fields are empty.
const (
	CleverToolsConsumerKey    = "T5nFjKeHH4AIlEveuGhB5S3xg8T19e"
	CleverToolsConsumerSecret = "MgVMqTr6fWlf2M0tkC2MXOnhfqBWDT"
)

// Options configures an Emulator. The zero value serves nothing (no apps) and checks no credentials.
type Options struct {
	// Apps are the applications served. Zero fields get defaults (see App).
	Apps []App
	// Token, when set, is accepted as "Authorization: Bearer <Token>".
	Token string
	// OAuth, when its Token is set, is accepted as OAuth1 (PLAINTEXT or HMAC signatures).
	OAuth OAuthCreds
	// IgnoreLastEventID makes the server ignore the Last-Event-ID header and replay from
	// since (or from now). By default a stream resumes strictly after that id.
	IgnoreLastEventID bool
	// HeartbeatInterval is the period of HEARTBEAT frames; default 2 s.
	HeartbeatInterval time.Duration
	// Faults are the initial fault injections; see SetFaults to change them later.
	Faults Faults
	// Style is the initial frame style; see SetStyle to change it later.
	Style Style
	// Seed makes the generated logs deterministic: same Seed and App fields, same lines
	// (dates are relative to App.Start).
	Seed int64
}

// String summarises the options without the secrets.
func (o Options) String() string {
	return fmt.Sprintf("emulator.Options{%d apps, token set %v, oauth %v, heartbeat %v, seed %d}",
		len(o.Apps), o.Token != "", o.OAuth, o.HeartbeatInterval, o.Seed)
}

// OAuthCreds are OAuth1 credentials as `clever login` stores them. When ConsumerKey and
// ConsumerSecret are both empty, the public clever-tools pair is used. No credentials are
// accepted for OAuth when Token is empty.
type OAuthCreds struct {
	ConsumerKey    string
	ConsumerSecret string
	Token          string
	Secret         string
}

// String hides the secrets.
func (c OAuthCreds) String() string {
	return fmt.Sprintf("OAuthCreds{ConsumerKey:%q, Token:%q, secrets redacted}", c.ConsumerKey, c.Token)
}

// App describes one generated application log. Zero fields get defaults in New; Emulator.Apps
// returns the resolved values.
type App struct {
	// OwnerID is "orga_<uuid>" or "user_<uuid>"; default: one generated organisation.
	OwnerID string
	// ID is "app_<uuid>"; default: generated from Seed and the app's index.
	ID string
	// Name is the application's name (for the /v2 look-ups); default "app-<index>".
	Name string
	// Zone is the application's zone, in its lines' "zone" and its /v2 "zone"; default
	// "par". The zones /v4/products/zones lists are par, rbx, scw, mtl, sgp and wsw (an
	// unknown zone is served there too, with made-up details).
	Zone string
	// Created is the application's creation date (/v2 "creationDate"); default one day
	// before Start for the apps given to New, and Start for those added by AddApp.
	Created time.Time
	// Backlog is the number of lines already published when New returns.
	Backlog int
	// Start is when the backlog begins: no line is dated before it, the first ones are within
	// Disorder after it; default one hour before New.
	Start time.Time
	// Spacing is the mean date gap between consecutive backlog lines; default 5 ms
	// (50,000 lines span about 4 minutes).
	Spacing time.Duration
	// Rate, when > 0, publishes that many new lines per second after New, forever. Their dates
	// follow the wall clock (minus the instance's lag).
	Rate float64
	// Disorder bounds how far a line's date may lag behind a line that arrived earlier;
	// default 2 s; a negative value means none (dates never decrease in arrival order).
	// It is rounded down to whole milliseconds.
	Disorder time.Duration
	// SameDate is the maximum number of consecutive lines sharing one date (a burst from one
	// instance within one millisecond); default 4; 1 means no bursts.
	SameDate int
	// MessageBytes, when > 0, pads every message to at least that many bytes.
	MessageBytes int
	// Instances and Deployments are the numbers of instances and deployments the lines come
	// from (instance k belongs to deployment k mod Deployments); defaults 3 and 2; at most 64.
	Instances   int
	Deployments int
	// Region, when set, adds a "region" field to every line (a field logship does not know).
	Region string
	// NumericFacility writes "facility" as a number (the client types) instead of a string
	// (the API spec).
	NumericFacility bool
	// Forbidden makes the logs endpoint answer 403 for this app.
	Forbidden bool
	// NotFoundUntilLogged makes the logs endpoint answer 404 ("Partitioned Topic not found")
	// while the app has not published any line yet, as the real API does for a new app.
	NotFoundUntilLogged bool
	// SubMillisecond writes dates with microseconds ("…T12:00:00.123456Z"). Lines of one
	// millisecond share their microseconds (a burst keeps one exact date), so lines of
	// different instances can fall within one millisecond at different microseconds. The
	// stream's since and until then compare at the microsecond.
	SubMillisecond bool
	// FutureEvery, when > 0, dates about one line in FutureEvery (chosen from the seed, never
	// the first) FutureSkew after its place, as an instance with a skewed clock would: such a
	// line breaks the Disorder bound, and it neither ends an until stream nor is it kept from
	// one unless dated at or after until.
	FutureEvery int
	// FutureSkew is how far ahead a future-dated line is; default 1 h.
	FutureSkew time.Duration
}

// Style selects how frames are written. The zero value writes `field: value` lines ending
// with "\n", one data line per event, no retry field, heartbeats without an id line.
type Style struct {
	// CRLF ends every line with "\r\n".
	CRLF bool
	// SplitData writes each top-level JSON member of an APPLICATION_LOG on its own data line;
	// a reader joins them with "\n" (legal JSON whitespace), so the JSON it gets differs from
	// Line.Raw by those newlines only.
	SplitData bool
	// NoSpace omits the space after the colon ("data:{...}").
	NoSpace bool
	// Retry, when > 0, writes a "retry: <ms>" field at the start of the stream.
	Retry time.Duration
	// HeartbeatEmptyID adds an empty "id:" line to every HEARTBEAT frame.
	HeartbeatEmptyID bool
	// Charset answers "text/event-stream; charset=utf-8" instead of "text/event-stream".
	Charset bool
}

const maxInstances = 64

// resolve fills the defaults of app number i.
func (a App) resolve(i int, seed int64, defaultOwner string, now time.Time) App {
	if a.OwnerID == "" {
		a.OwnerID = defaultOwner
	}
	if a.ID == "" {
		a.ID = "app_" + uuidFrom(mix64(uint64(seed)^0xa99^uint64(i+1)*0x9e3779b97f4a7c15), mix64(uint64(i+7)^uint64(seed)))
	}
	if a.Name == "" {
		a.Name = fmt.Sprintf("app-%d", i)
	}
	if a.Start.IsZero() {
		a.Start = now.Add(-time.Hour)
	}
	if a.Zone == "" {
		a.Zone = "par"
	}
	if a.Spacing <= 0 {
		a.Spacing = DefaultSpacing
	}
	switch {
	case a.Disorder == 0:
		a.Disorder = DefaultDisorder
	case a.Disorder < 0:
		a.Disorder = 0
	}
	a.Disorder = a.Disorder.Truncate(time.Millisecond)
	if a.SameDate <= 0 {
		a.SameDate = DefaultSameDate
	}
	if a.Instances <= 0 {
		a.Instances = DefaultInstances
	}
	a.Instances = min(a.Instances, maxInstances)
	if a.Deployments <= 0 {
		a.Deployments = DefaultDeployments
	}
	a.Deployments = min(a.Deployments, a.Instances)
	if a.Backlog < 0 {
		a.Backlog = 0
	}
	if a.FutureSkew <= 0 {
		a.FutureSkew = DefaultFutureSkew
	}
	return a
}
