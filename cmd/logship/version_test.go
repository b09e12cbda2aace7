package main

import (
	"runtime/debug"
	"testing"
)

func TestDevVersion(t *testing.T) {
	tests := []struct {
		name     string
		settings []debug.BuildSetting
		want     string
	}{
		{"no vcs stamp", nil, "dev"},
		{"clean tree", []debug.BuildSetting{{Key: "vcs.revision", Value: "aa83f23c0ffee1234567890"}, {Key: "vcs.modified", Value: "false"}}, "dev+aa83f23c0ffe"},
		{"dirty tree", []debug.BuildSetting{{Key: "vcs.revision", Value: "aa83f23c0ffee1234567890"}, {Key: "vcs.modified", Value: "true"}}, "dev+aa83f23c0ffe-dirty"},
		{"short revision", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "dev+abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := devVersion(tt.settings); got != tt.want {
				t.Errorf("devVersion = %q, want %q", got, tt.want)
			}
		})
	}
}
