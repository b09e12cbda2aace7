package event

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in    string
		dates bool
		want  string // parts as L(lit) F(field|default) D(c)
		err   bool
	}{
		{"logs", true, "L(logs)", false},
		{"logs-{applicationId}-%Y.%m.%d", true, "L(logs-) F(applicationId|) L(-) D(Y) L(.) D(m) L(.) D(d)", false},
		{"{severity:-unknown}", false, "F(severity|unknown)", false},
		{"100%", false, "L(100%)", false},
		{"100%%-%H", true, "L(100%-) D(H)", false},
		{"", true, "", false},
		{"{", true, "", true},
		{"}", true, "", true},
		{"{}", true, "", true},
		{"{:-x}", true, "", true},
		{"{se%cret}", true, "", true},
		{"%", true, "", true},
		{"%q", true, "", true},
	}
	for _, tt := range tests {
		parts, err := ParseTemplate(tt.in, tt.dates)
		if (err != nil) != tt.err {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if err != nil && strings.Contains(err.Error(), "cret") {
			t.Errorf("%q: error %q quotes the template", tt.in, err)
		}
		var got []string
		for _, p := range parts {
			switch {
			case p.Literal != "":
				got = append(got, "L("+p.Literal+")")
			case p.Field != "":
				got = append(got, "F("+p.Field+"|"+p.Default+")")
			default:
				got = append(got, fmt.Sprintf("D(%c)", p.Date))
			}
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%q: %s, want %s", tt.in, s, tt.want)
		}
	}
}
