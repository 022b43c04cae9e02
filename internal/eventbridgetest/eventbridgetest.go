// Package eventbridgetest serves EventBridge's PutEvents as its API
// reference documents it, for tests of the requests the SDK's client
// builds: AWS JSON 1.1 (POST /, Content-Type application/x-amz-json-1.1,
// X-Amz-Target AWSEvents.PutEvents, a SigV4 Authorization header), at most
// 10 entries and 256 KB a call, each entry with its source, detail-type,
// bus and a detail that is a JSON object. A request that breaks the
// contract is answered 400 ValidationException and recorded in Problems.
package eventbridgetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Entry is a PutEvents request entry as the wire carries it.
type Entry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
	Time         float64
	Resources    []string
}

// Server is a local PutEvents endpoint.
type Server struct {
	*httptest.Server
	// Refuse, when set, says which accepted entries to answer with an
	// error code instead of an event id (a partial failure).
	Refuse func(Entry) bool

	mu       sync.Mutex
	calls    int
	entries  []Entry
	problems []string
	seq      int
}

// Start serves a Server until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Entries returns the entries accepted so far.
func (s *Server) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

// Calls returns the number of PutEvents calls so far.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Problems returns what the requests so far did against the contract.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// MaxEntries and MaxBytes are PutEvents' limits of a call.
const (
	MaxEntries = 10
	MaxBytes   = 256 * 1024
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	refuse := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.problems = append(s.problems, msg)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "ValidationException", "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		refuse("%s %s; want POST /", r.Method, r.URL.Path)
		return
	}
	if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
		refuse("X-Amz-Target %q; want AWSEvents.PutEvents", got)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		refuse("Content-Type %q; want application/x-amz-json-1.1", got)
		return
	}
	if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(got, "/events/aws4_request") {
		refuse("Authorization %q is not a SigV4 signature for events", got)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		refuse("read body: %v", err)
		return
	}
	var in struct{ Entries []Entry }
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		refuse("body is not a PutEvents request: %v", err)
		return
	}
	if n := len(in.Entries); n < 1 || n > MaxEntries {
		refuse("%d entries; want 1 to %d", n, MaxEntries)
		return
	}
	size := 0
	for i, e := range in.Entries {
		var detail map[string]any
		if e.Source == "" || e.DetailType == "" || e.EventBusName == "" || json.Unmarshal([]byte(e.Detail), &detail) != nil {
			refuse("entry %d lacks its source, detail-type or bus, or its detail is not a JSON object: %+v", i, e)
			return
		}
		// "Calculating PutEvents event entry size": the time counts 14
		// bytes when given; source, detail-type, detail and resources
		// their UTF-8 bytes.
		if e.Time != 0 {
			size += 14
		}
		size += len(e.Source) + len(e.DetailType) + len(e.Detail)
		for _, r := range e.Resources {
			size += len(r)
		}
	}
	if size > MaxBytes {
		refuse("entries of %d bytes; at most %d a call", size, MaxBytes)
		return
	}
	type result struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		Entries          []result
		FailedEntryCount int
	}{}
	for _, e := range in.Entries {
		if s.Refuse != nil && s.Refuse(e) {
			out.Entries = append(out.Entries, result{ErrorCode: "InternalFailure", ErrorMessage: "refused by the test"})
			out.FailedEntryCount++
			continue
		}
		s.seq++
		s.entries = append(s.entries, e)
		out.Entries = append(out.Entries, result{EventId: fmt.Sprintf("00000000-0000-0000-0000-%012d", s.seq)})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}
