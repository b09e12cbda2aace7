package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMemoryLimitCgroup reads cgroup v2 and v1 limit files as the kernel
// writes them and keeps the smaller of the need and 90% of the limit.
func TestMemoryLimitCgroup(t *testing.T) {
	const need = 100 << 20
	tests := []struct {
		name  string
		files map[string]string
		want  int64
		from  string
	}{
		{name: "no cgroup files", want: need, from: "the sinks' buffers"},
		{name: "v2 max", files: map[string]string{"memory.max": "max\n"}, want: need, from: "the sinks' buffers"},
		{name: "v2 below the need", files: map[string]string{"memory.max": "67108864\n"}, want: 67108864 * 9 / 10, from: "the cgroup memory limit"},
		{name: "v2 above the need", files: map[string]string{"memory.max": "1073741824\n"}, want: need, from: "the sinks' buffers"},
		{name: "v1 unlimited", files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, want: need, from: "the sinks' buffers"},
		{name: "v1 limited", files: map[string]string{"memory/memory.limit_in_bytes": "52428800\n"}, want: 52428800 * 9 / 10, from: "the cgroup memory limit"},
		{name: "garbage", files: map[string]string{"memory.max": "lots\n"}, want: need, from: "the sinks' buffers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, v := range tt.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, p), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, from := memoryLimit(need, root)
			if got != tt.want || from != tt.from {
				t.Fatalf("memoryLimit = %d (%s), want %d (%s)", got, from, tt.want, tt.from)
			}
		})
	}
}
