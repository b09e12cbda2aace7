package s3

import (
	"testing"
	"time"

	"github.com/logship/logship/config"
)

// TestArchiveBatchDefaults: an s3 entry gets archive-sized batches, not
// pipeline.batch's; its own batch keys still win.
func TestArchiveBatchDefaults(t *testing.T) {
	yaml := `state_dir: /tmp/x
sources: [{owner_id: orga_1, application_id: app_1}]
pipeline: {batch: {max_events: 10, max_wait: 1s}}
sinks:
  - {type: s3, bucket: archive, access_key_id: k, secret_access_key: s}
  - {type: s3, name: fast, bucket: archive, batch: {max_wait: 30s}}
`
	c, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false }, []config.SinkFactory{Factory().SinkFactory})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sinks[0].Batch; got != DefaultBatch {
		t.Errorf("batch %+v, want %+v", got, DefaultBatch)
	}
	if got := c.Sinks[1].Batch; got.MaxWait.D() != 30*time.Second || got.MaxBytes != DefaultBatch.MaxBytes {
		t.Errorf("overridden batch %+v", got)
	}
	if got := c.Sinks[0].Settings.(*Config); got.Bucket != "archive" || got.Compression != CompressionGzip {
		t.Errorf("settings %+v", got)
	}
}
