package pipeline

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// contentFilter drops events by severity and message content (see
// config.Filter). It reads the event's members in place: no decode, and no
// allocation unless a message holds escapes (then a pooled buffer).
type contentFilter struct {
	minLevel    int // -1: no severity condition
	contains    []foldNeedle
	notContains []foldNeedle
	matches     []*regexp.Regexp
	notMatches  []*regexp.Regexp
	needMessage bool
}

func newContentFilter(c config.Filter) (*contentFilter, error) {
	f := &contentFilter{minLevel: -1}
	if c.MinSeverity != "" {
		l, ok := config.SeverityLevel(c.MinSeverity)
		if !ok {
			return nil, fmt.Errorf("pipeline.filter.min_severity: unknown severity")
		}
		f.minLevel = l
	}
	for _, s := range c.MessageContains {
		f.contains = append(f.contains, newFoldNeedle(s))
	}
	for _, s := range c.MessageNotContains {
		f.notContains = append(f.notContains, newFoldNeedle(s))
	}
	for i, s := range c.MessageMatches {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("pipeline.filter.message_matches[%d]: invalid regular expression", i)
		}
		f.matches = append(f.matches, re)
	}
	for i, s := range c.MessageNotMatches {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("pipeline.filter.message_not_matches[%d]: invalid regular expression", i)
		}
		f.notMatches = append(f.notMatches, re)
	}
	f.needMessage = len(f.contains)+len(f.notContains)+len(f.matches)+len(f.notMatches) > 0
	if f.minLevel < 0 && !f.needMessage {
		return nil, nil
	}
	return f, nil
}

// keep reports whether the event raw passes every condition.
func (f *contentFilter) keep(raw []byte) bool {
	var msg, sev, prio []byte
	haveMsg := false
	for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
		switch {
		case f.needMessage && keyIs(m, "message"):
			msg, haveMsg = m.Value, true
		case f.minLevel >= 0 && keyIs(m, "severity"):
			sev = m.Value
		case f.minLevel >= 0 && keyIs(m, "priority"):
			prio = m.Value
		}
	}
	if f.minLevel >= 0 {
		if l, ok := severityOf(sev, prio); ok && l > f.minLevel {
			return false
		}
	}
	if !f.needMessage {
		return true
	}
	// An event without a message has an empty one.
	var text []byte
	if haveMsg {
		sp := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(sp)
		text = stringText(msg, sp)
	}
	if len(f.contains) > 0 || len(f.matches) > 0 {
		ok := false
		for i := range f.contains {
			if f.contains[i].in(text) {
				ok = true
				break
			}
		}
		for _, re := range f.matches {
			if ok {
				break
			}
			ok = re.Match(text)
		}
		if !ok {
			return false
		}
	}
	for i := range f.notContains {
		if f.notContains[i].in(text) {
			return false
		}
	}
	for _, re := range f.notMatches {
		if re.Match(text) {
			return false
		}
	}
	return true
}

// severityOf reads an event's level from its severity (a name) or, failing
// that, its priority (a number: facility × 8 + level).
func severityOf(sev, prio []byte) (int, bool) {
	if len(sev) >= 2 && sev[0] == '"' {
		if l, ok := config.SeverityLevel(string(sev[1 : len(sev)-1])); ok {
			return l, true
		}
	}
	if len(prio) > 0 && prio[0] != '"' {
		if n, err := strconv.Atoi(string(prio)); err == nil && n >= 0 {
			return n % 8, true
		}
	}
	return 0, false
}

// foldNeedle is a substring to find case-insensitively. An ASCII needle
// (the usual case) is matched by folding ASCII letters in place; another
// is matched on the lower-cased message.
type foldNeedle struct {
	low   []byte
	ascii bool
}

func newFoldNeedle(s string) foldNeedle {
	low := bytes.ToLower([]byte(s))
	ascii := true
	for _, c := range low {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	return foldNeedle{low: low, ascii: ascii}
}

// in reports whether the needle occurs in hay, ignoring case.
func (n *foldNeedle) in(hay []byte) bool {
	if !n.ascii {
		return bytes.Contains(bytes.ToLower(hay), n.low)
	}
	return indexFoldASCII(hay, n.low) >= 0
}

// indexFoldASCII returns the index of the lower-case ASCII needle in hay,
// ignoring the case of ASCII letters, or -1.
func indexFoldASCII(hay, needle []byte) int {
	if len(needle) == 0 {
		return 0
	}
	c0, u0 := needle[0], needle[0]
	if 'a' <= c0 && c0 <= 'z' {
		u0 = c0 - ('a' - 'A')
	}
	last := len(hay) - len(needle)
	// nl and nu are the next positions of the needle's first byte in lower
	// and upper case (-1: none left; below i: to look up again).
	nl, nu := -2, -2
	if u0 == c0 {
		nu = -1
	}
	for i := 0; i <= last; {
		if nl != -1 && nl < i {
			if nl = bytes.IndexByte(hay[i:last+1], c0); nl >= 0 {
				nl += i
			}
		}
		if nu != -1 && nu < i {
			if nu = bytes.IndexByte(hay[i:last+1], u0); nu >= 0 {
				nu += i
			}
		}
		switch {
		case nl < 0 && nu < 0:
			return -1
		case nu < 0 || nl >= 0 && nl < nu:
			i = nl
		default:
			i = nu
		}
		if equalFoldASCII(hay[i+1:i+len(needle)], needle[1:]) {
			return i
		}
		i++
	}
	return -1
}

// equalFoldASCII compares a with the lower-case b, folding a's ASCII
// letters.
func equalFoldASCII(a, lowB []byte) bool {
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lowB[i] {
			return false
		}
	}
	return true
}
