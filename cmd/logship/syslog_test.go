package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
)

// syslogCollector reads RFC 6587 octet-counted RFC 5424 messages and keeps,
// per application, the ids in arrival order.
type syslogCollector struct {
	t  *testing.T
	mu sync.Mutex
	// ids by applicationId, from the structured data.
	ids   map[string][]string
	conns int
}

// sdParam returns the value of name="…" in an SD element whose values
// hold no escape (the emulator's ids never do).
func sdParam(sd []byte, name string) string {
	i := bytes.Index(sd, []byte(" "+name+`="`))
	if i < 0 {
		return ""
	}
	v := sd[i+len(name)+3:]
	return string(v[:bytes.IndexByte(v, '"')])
}

func (c *syslogCollector) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns++
		c.mu.Unlock()
		go c.read(conn)
	}
}

func (c *syslogCollector) read(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		lenText, err := br.ReadString(' ')
		if err != nil {
			if err != io.EOF || lenText != "" {
				c.t.Errorf("receiver: %v after %q", err, lenText)
			}
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenText, " "))
		if err != nil || n <= 0 {
			c.t.Errorf("bad frame length %q", lenText)
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			c.t.Errorf("truncated frame: %v", err)
			return
		}
		// The strict parse of every field is the package's tests' job
		// (sinks/syslog); here: PRI, version 1, the ids.
		sd := bytes.Index(msg, []byte(" [logship@32473 "))
		if msg[0] != '<' || sd < 0 || !bytes.Contains(msg[:sd], []byte(">1 ")) {
			c.t.Errorf("not an RFC 5424 message with logship's structured data: %q", msg)
			return
		}
		sdEnd := sd + bytes.IndexByte(msg[sd:], ']')
		app, id := sdParam(msg[sd:sdEnd], "applicationId"), sdParam(msg[sd:sdEnd], "id")
		c.mu.Lock()
		c.ids[app] = append(c.ids[app], id)
		c.mu.Unlock()
	}
}

func (c *syslogCollector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ids := range c.ids {
		n += len(ids)
	}
	return n
}

// TestSyslogEndToEnd backfills two applications through the agent into a
// syslog receiver over TCP, with the API stream dropped every ~700 lines
// and the receiver down for the first second (connections refused, the
// sink retries): every id arrives once, in stream order. Drops of the
// receiver's own connection are the package's tests (sinks/syslog).
func TestSyslogEndToEnd(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000), Token: "test-token", Seed: 5,
		Faults: emulator.Faults{DropEvery: 700, DropJitter: 100}})
	apps := emu.Apps()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // down at start
	c := &syslogCollector{t: t, ids: map[string][]string{}}
	go func() {
		time.Sleep(time.Second)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listen again: %v", err)
			return
		}
		t.Cleanup(func() { ln.Close() })
		c.serve(ln)
	}()

	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: syslog\n    address: %s\n    facility: local3\n    batch: {max_events: 500}\n", addr))
	stderr := runBackfill(t, yaml, 0)
	// What the agent wrote may still be in the sockets' buffers.
	deadline := time.Now().Add(30 * time.Second)
	for c.count() < 2*3000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.count() < 2*3000 {
		t.Logf("logship's log: %s", stderr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	checkExactlyOnceInOrder(t, emu, apps, c.ids)
}

// TestREADMEDestinationsLoad keeps the README's minimal configurations of
// the newer destinations valid.
func TestREADMEDestinationsLoad(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const mark = "Minimal configurations of the newer destinations"
	i := bytes.Index(data, []byte(mark))
	if i < 0 {
		t.Fatal("README.md lost its minimal destinations")
	}
	block := data[i:]
	start := bytes.Index(block, []byte("```yaml\n")) + len("```yaml\n")
	block = block[start : start+bytes.Index(block[start:], []byte("```"))]
	yaml := "state_dir: /tmp/x\nsources: [{owner_id: orga_1, application_id: app_1}]\n" + string(block)
	env := func(k string) (string, bool) { return "secret-" + k, true }
	cfg, err := config.Parse([]byte(yaml), env, sinkTable.Config())
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("README destinations: %v", err)
	}
	if len(cfg.Sinks) != 5 {
		t.Fatalf("%d sinks", len(cfg.Sinks))
	}
}
