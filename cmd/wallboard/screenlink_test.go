package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/wallboard/wallboard/board"
)

func TestScreenLink(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"screen-link", "-name", "lobby-tv", "-base", "https://board.example/"}, &out, &errOut); err != nil {
		t.Fatalf("screen-link: %v\n%s", err, errOut.String())
	}
	link := regexp.MustCompile(`https://board\.example/screen/([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(out.String())
	line := regexp.MustCompile(`(?m)^    (- \{name: lobby-tv, token_sha256: ([0-9a-f]{64})\})$`).FindStringSubmatch(out.String())
	if link == nil || line == nil {
		t.Fatalf("output lacks the link or the config line:\n%s", out.String())
	}
	sum := sha256.Sum256([]byte(link[1]))
	if hex.EncodeToString(sum[:]) != line[2] {
		t.Errorf("token_sha256 %s is not the SHA-256 of the token", line[2])
	}
	// The printed line is valid config as it is.
	cfg := "sources: [{id: demo, kind: demo}]\nboards:\n  - id: ops\n    tiles: [{id: t, kind: stat, source: demo, query: requests}]\naccess:\n  mode: screens\n  screens:\n    " + line[1] + "\n"
	if _, err := board.Parse("b.yaml", []byte(cfg), nil); err != nil {
		t.Errorf("printed line does not load: %v", err)
	}
	// Two links are never the same.
	var out2 bytes.Buffer
	run(context.Background(), []string{"screen-link", "-name", "lobby-tv"}, &out2, &errOut)
	if strings.Contains(out2.String(), link[1]) || !strings.Contains(out2.String(), "\n  /screen/") {
		t.Errorf("second link repeats the first or lacks the relative link:\n%s", out2.String())
	}
	errOut.Reset()
	if err := run(context.Background(), []string{"screen-link"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "-name is required") {
		t.Errorf("screen-link without -name: %v %q", err, errOut.String())
	}
}
