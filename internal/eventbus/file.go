package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// File publishes by appending each entry to a file as one JSON line, in
// the envelope an EventBridge rule's target receives (less the account,
// the region and EventBridge's own id): `make run` writes
// .local/events.jsonl with it.
type File struct {
	Path string
	mu   sync.Mutex
}

// envelope is one line of the file.
type envelope struct {
	Version    string          `json:"version"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Publish appends entries to the file, creating it (and its directory) as
// needed.
func (f *File) Publish(_ context.Context, entries []Entry) []error {
	errs := make([]error, len(entries))
	var buf []byte
	for _, e := range entries {
		line, err := json.Marshal(envelope{Version: "0", DetailType: e.DetailType, Source: Source,
			Time: e.Time.UTC().Format("2006-01-02T15:04:05Z"), Resources: []string{}, Detail: e.Detail})
		if err != nil {
			return fill(errs, err)
		}
		buf = append(append(buf, line...), '\n')
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return fill(errs, err)
	}
	out, err := os.OpenFile(f.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fill(errs, err)
	}
	_, err = out.Write(buf)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fill(errs, fmt.Errorf("append to %s: %w", f.Path, err))
	}
	return errs
}

func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}
