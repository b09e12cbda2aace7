// Package emulator is an in-process Clever Cloud API that serves the APIv4 application-logs
// stream (see shared/protocol.md) with generated, deterministic logs and injectable faults.
// Tests, benchmarks and `logship demo` use it; it does no I/O of its own:
//
//	emu := emulator.New(emulator.Options{Apps: []emulator.App{{Backlog: 50000}}, Token: "t"})
//	srv := httptest.NewServer(emu)
//	defer srv.Close()
//	defer emu.Close() // ends open streams first, or srv.Close waits for them
//	app := emu.Apps()[0] // defaults resolved: OwnerID, ID, Start, …
//	want := emu.Lines(app.ID) // what a client must receive, in arrival order
//
// # Endpoints
//
// GET /v4/logs/organisations/{ownerId}/applications/{appId}/logs answers 200
// text/event-stream and streams frames
//
//	id: <id>\nevent: APPLICATION_LOG\ndata: <one-line JSON>\n\n
//	event: HEARTBEAT\ndata:\n\n                               every HeartbeatInterval (2 s)
//	event: END_OF_STREAM\ndata: {"endedBy":"UNTIL_REACHED"}\n\n  (or LIMIT_REACHED)
//
// flushed per batch of frames and whenever the stream waits. Every response carries a
// Sozu-Id header; every error body is JSON (application/json): 400 with OVDErrorFieldContext
// for a malformed since, until, limit (< 1), throttleElements (< 1) or
// throttlePerInMilliseconds (< 0); 401 clever.auth.unauthorized; 403 for App.Forbidden;
// 404 "Partitioned Topic not found: …" for an unknown app, another owner's app, or an
// App.NotFoundUntilLogged app that has published nothing yet; 405 for another method.
//
// For clever-tools (and enrichment) it also answers, minimally: GET /v2/summary, /v2/self,
// /v2/self/applications[/{appId}], /v2/organisations/{ownerId}[/applications[/{appId}]],
// /v4/orchestration/organisations/{ownerId}/applications/{appId}/instances[/{instanceId}] and
// …/deployments[/{deploymentId}], /v4/products/zones[/{name}], with the members
// @clevercloud/client 12 reads (values partly made up; api.go says which). Apps of a user_
// owner belong to /v2/self; the others to organisations. Anything else is a JSON 404.
//
// AddApp and RemoveApp change the applications while running (discovery tests; `logship
// emulator --add-every`): an added app is listed, looked up and streamed from then on; a
// removed one is no longer listed, answers 404 everywhere and publishes nothing more.
//
// # Generated logs
//
// Each app has a log of lines in arrival order. A line's JSON has, in this order, id
// (16 hex digits, unique, not sortable, mapping back to its position), date (RFC 3339 UTC
// with milliseconds), applicationId, commitId, deploymentId, instanceId (plain UUIDs; Instances
// instances over Deployments deployments), zone, region (only with App.Region), pid, version,
// facility (a string, or a number with App.NumericFacility), severity, priority, service
// (bas.service or bas-deploy.service) and message (varied text with ANSI escapes, non-ASCII
// text, quotes, backslashes, tabs, U+2028; every message holds the line's position, so
// messages are unique).
//
// Dates: lines come in bursts of up to App.SameDate lines sharing one date (one instance,
// one millisecond); each instance lags a "true" clock by a fixed amount up to App.Disorder,
// so arrival order differs from date order, but a line never arrives more than Disorder after
// a line with a later date. Backlog dates start at App.Start and advance App.Spacing per line
// on average; live lines (App.Rate per second, forever) are dated from the wall clock. The
// same Seed, App fields and Start give the same lines. Lines are kept as 16-byte records and
// their JSON is assembled from precomputed fragments while streaming (no allocation per
// line); a live app's records grow by 16 bytes per line for the emulator's lifetime.
//
// Publication: the backlog is published when New returns; live line k is published k/Rate
// seconds later. Emulator.Lines returns the lines published so far.
//
// # Query
//
// A line matches when since <= date < until (dates are ISO 8601; both optional), its
// deploymentId equals deploymentId, its instanceId is one of instanceId (repeated), its
// message holds filter case-insensitively, and its service is selected by service (repeated;
// "bas", "bas.service" and "all" are accepted spellings; absent means all, which is the
// documented default bas + bas-deploy). field (repeated) keeps only the named members.
// limit ends the stream with LIMIT_REACHED after that many lines. throttleElements and
// throttlePerInMilliseconds (defaults 100 and 300, as the real API) pace the stream: at most
// E lines per P ms.
//
// Start: with since, the stream scans from the first line; without since it starts "now",
// with the first line published after the request. A Last-Event-ID header of a known id
// resumes strictly after that line's position (the since filter still applies), unless
// Options.IgnoreLastEventID (or SetIgnoreLastEventID) makes the server replay from since.
// An unknown id is ignored.
//
// End: with until, the stream sends END_OF_STREAM UNTIL_REACHED once no line can match any
// more: when it reaches a line dated at or after until + Disorder, or, for an app without
// Rate, after its last line. Without until it stays open, sending lines as they are
// published and heartbeats in between.
//
// # Auth
//
// When neither Options.Token nor Options.OAuth.Token is set, any request is accepted.
// Otherwise a request needs "Authorization: Bearer <Token>" or OAuth1 for the OAuth creds:
// PLAINTEXT as clever-tools sends it (oauth_signature="<cs>%26<secret>", values possibly
// percent-encoded) or RFC 5849 HMAC-SHA512 (also -SHA256, -SHA1) signatures, verified
// against the request's method, http://Host/path and query, and requiring oauth_nonce and
// oauth_timestamp. The consumer pair defaults to clever-tools' public one.
//
// # Faults
//
// Faults (Options.Faults, or SetFaults and QueueStatus while running; goroutine-safe):
// API slow down (Delay) or fail (Status) the look-ups, per path substring, for a count of
// requests or for good;
// DropEvery/DropJitter/DropClean drop a stream after about N lines on it; SilenceAfter/SilenceFor
// make one connection silent (no heartbeat either) once; Statuses answer the next logs
// requests with error statuses (e.g. 429 with Retry-After); Malformed writes extra frames
// once at given positions: BadJSON, UnknownEvent, InvalidUTF8, Oversized, NoID, Comment. Their
// JSON ids start with "fault-" and they carry no id line, so Lines never lists them. Style
// (Options.Style or SetStyle) selects CRLF line ends, data split over several data lines,
// no space after colons, a retry field, heartbeats with an empty id line, and a charset in
// the Content-Type.
//
// # Introspection
//
// Lines and Window give the expected lines (id, date, raw JSON, in arrival order); Requests
// the received requests (path, query, Last-Event-ID, auth scheme, never a secret, time,
// status, Sozu-Id); Stats the counters (requests, connections, open streams, lines sent,
// drops, silences, injected frames, queued statuses served).
//
// # Speed
//
// One stream serves about 3 million lines per second over loopback to a reader that counts
// frames (BenchmarkStream), writing through a 64 KiB buffer flushed per batch.
package emulator
