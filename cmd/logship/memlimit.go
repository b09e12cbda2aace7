package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupShare is the part of the container's memory limit logship lets its
// heap grow to: the rest is for the runtime's own memory, stacks and the
// kernel's page cache of the files logship writes.
const cgroupShare = 0.9

// cgroupMemoryLimit returns the memory limit of the cgroup logship runs in,
// read under root (normally /sys/fs/cgroup): cgroup v2's memory.max, else
// cgroup v1's memory/memory.limit_in_bytes. It reports false when there is
// none ("max", v1's near-2^63 "unlimited", or no such file).
func cgroupMemoryLimit(root string) (int64, bool) {
	for _, p := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(data))
		if v == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 { // v1 writes 2^63 rounded down to a page for none
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// memoryLimit is Go's soft memory limit for a need of need bytes
// (memoryBound): need, lowered to cgroupShare of the container's limit when
// that is smaller, so that the garbage collector works harder before the
// kernel's OOM killer would. from says which bound won.
func memoryLimit(need int64, cgroupRoot string) (limit int64, from string) {
	limit, from = need, "the sinks' buffers"
	if c, ok := cgroupMemoryLimit(cgroupRoot); ok {
		if share := int64(float64(c) * cgroupShare); share < limit {
			limit, from = share, "the cgroup memory limit"
		}
	}
	return limit, from
}
