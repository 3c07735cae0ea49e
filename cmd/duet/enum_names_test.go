package main

import (
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/duet-rtc/duet"
)

// JSON lines of `duet call` name the seed's enums beside their numbers.
func TestCallEventNamesEnums(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	rep := &callReporter{f: callFlags{jsonOut: true}}
	reason := duet.EndReasonNoResponse
	rep.emit("callDidEnd", nil, &reason, nil)
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	var ev map[string]any
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if ev["reason"] != 1.0 || ev["reasonName"] != "NoResponse" || ev["statusName"] != "Disconnected" || ev["connectTypeName"] != "None" {
		t.Fatalf("event %s", out)
	}
	for r, name := range endReasonNames {
		if name == "" || !r.Valid() {
			t.Errorf("end reason %d named %q", r, name)
		}
	}
}
