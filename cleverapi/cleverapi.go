// Package cleverapi reads the few Clever Cloud API look-ups logship needs
// besides the logs stream: an owner's applications (discovery), and an
// application, instance, deployment and zone (enrichment). Each call is one
// GET answered with JSON; only the members logship uses are decoded, and a
// body is never logged or quoted in an error (an application's holds its
// environment variables).
package cleverapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Authorizer sets the Authorization header of a request.
type Authorizer interface {
	Authorize(r *http.Request)
}

// Client makes the look-ups. Its zero value is not usable: set Base.
// It is safe for concurrent use.
type Client struct {
	// Base is the API base URL (https://api.clever-cloud.com).
	Base string
	// HTTP makes the requests; nil means a client with sane timeouts.
	HTTP *http.Client
	// Auth authorizes requests; nil sends none.
	Auth      Authorizer
	UserAgent string
	// Timeout bounds each call (default 10s).
	Timeout time.Duration
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Status int
	// Code is the API's error code (clever.core.not-found, …), when given.
	Code string
	// SozuID is the response's Sozu-Id header (support asks for it).
	SozuID string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.SozuID != "" {
		msg += " Sozu-Id " + e.SozuID
	}
	return msg
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// maxBody bounds a response body (a large organisation's application list
// holds every application's environment).
const maxBody = 64 << 20

var defaultHTTP = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.MaxIdleConnsPerHost = 8
	return &http.Client{Transport: tr}
}()

// get fetches path (already escaped) and decodes the JSON answer into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.Auth != nil {
		c.Auth.Authorize(req)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds ids only, but keep errors short
		}
		return fmt.Errorf("GET %s: %w", redactPath(path), err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxBody)
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Status: resp.StatusCode, SozuID: resp.Header.Get("Sozu-Id")}
		var e struct {
			Code string `json:"code"`
		}
		if json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&e) == nil && len(e.Code) < 100 {
			se.Code = e.Code
		}
		return fmt.Errorf("GET %s: %w", redactPath(path), se)
	}
	if err := json.NewDecoder(body).Decode(v); err != nil {
		// The decoder's message may quote the body: do not wrap it.
		return fmt.Errorf("GET %s: the answer is not the expected JSON", redactPath(path))
	}
	return nil
}

// redactPath drops the query of path, for errors.
func redactPath(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

// ownerPath is the /v2 prefix of owner's applications: /v2/self for a
// user's personal space, else /v2/organisations/{owner}.
func ownerPath(owner string) string {
	if strings.HasPrefix(owner, "user_") {
		return "/v2/self"
	}
	return "/v2/organisations/" + url.PathEscape(owner)
}

// Application is what logship reads of a v2 application.
type Application struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Zone string `json:"zone"`
	// CreationDate is in Unix milliseconds, as the v2 API writes it.
	CreationDate int64  `json:"creationDate"`
	State        string `json:"state"`
	Archived     bool   `json:"archived"`
	Instance     struct {
		Type string `json:"type"`
	} `json:"instance"`
}

// Created returns CreationDate as a time (zero when absent).
func (a Application) Created() time.Time {
	if a.CreationDate <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(a.CreationDate).UTC()
}

// Applications lists the applications of owner (`orga_…`, or a `user_…`
// for the personal space of the authenticated user).
func (c *Client) Applications(ctx context.Context, owner string) ([]Application, error) {
	var apps []Application
	if err := c.get(ctx, ownerPath(owner)+"/applications", &apps); err != nil {
		return nil, err
	}
	return apps, nil
}

// Application looks up one application of owner.
func (c *Client) Application(ctx context.Context, owner, app string) (Application, error) {
	var a Application
	err := c.get(ctx, ownerPath(owner)+"/applications/"+url.PathEscape(app), &a)
	return a, err
}

// Instance is what logship reads of a v4 instance.
type Instance struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Index        int    `json:"index"`
	Flavor       string `json:"flavor"`
	State        string `json:"state"`
	DeploymentID string `json:"deploymentId"`
}

// Instance looks up one instance of an application.
func (c *Client) Instance(ctx context.Context, owner, app, id string) (Instance, error) {
	var in Instance
	err := c.get(ctx, "/v4/orchestration/organisations/"+url.PathEscape(owner)+"/applications/"+
		url.PathEscape(app)+"/instances/"+url.PathEscape(id), &in)
	return in, err
}

// Deployment is what logship reads of a v4 deployment.
type Deployment struct {
	ID        string `json:"id"`
	StartDate string `json:"startDate"`
	State     string `json:"state"`
	Version   struct {
		CommitID string `json:"commitId"`
	} `json:"version"`
	Origin struct {
		Action string `json:"action"`
		Cause  string `json:"cause"`
	} `json:"origin"`
}

// Deployment looks up one deployment of an application.
func (c *Client) Deployment(ctx context.Context, owner, app, id string) (Deployment, error) {
	var d Deployment
	err := c.get(ctx, "/v4/orchestration/organisations/"+url.PathEscape(owner)+"/applications/"+
		url.PathEscape(app)+"/deployments/"+url.PathEscape(id), &d)
	return d, err
}

// Zone is what logship reads of a v4 zone.
type Zone struct {
	Name        string `json:"name"`
	City        string `json:"city"`
	Country     string `json:"country"`
	CountryCode string `json:"countryCode"`
	DisplayName string `json:"displayName"`
}

// Zone looks up one zone by name (par, rbx, …).
func (c *Client) Zone(ctx context.Context, name string) (Zone, error) {
	var z Zone
	err := c.get(ctx, "/v4/products/zones/"+url.PathEscape(name), &z)
	return z, err
}
