// Package sestest serves Amazon SES API v2's SendEmail as its API
// reference documents it, for tests of the requests the SDK's client
// builds: REST-JSON, POST /v2/email/outbound-emails with Content-Type
// application/json and a SigV4 Authorization header for ses, a body with
// FromEmailAddress, Destination.ToAddresses and Content.Simple (Subject and
// Body.Text, each Data with its Charset). A request that breaks the
// contract is answered 400 BadRequestException and recorded in Problems.
package sestest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Email is one message SES accepted.
type Email struct {
	From, To, Subject, Text string
}

// Server is a local SendEmail endpoint.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	emails   []Email
	problems []string
}

// Start serves a Server until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Emails returns the messages accepted so far.
func (s *Server) Emails() []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Email(nil), s.emails...)
}

// Problems returns what the requests so far did against the contract.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

type content struct {
	Data    *string
	Charset *string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.problems = append(s.problems, msg)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "BadRequestException")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		refuse("%s %s; want POST /v2/email/outbound-emails", r.Method, r.URL.Path)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		refuse("Content-Type %q; want application/json", got)
		return
	}
	if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(got, "/ses/aws4_request") {
		refuse("Authorization %q is not a SigV4 signature for ses", got)
		return
	}
	var in struct {
		FromEmailAddress *string
		Destination      *struct{ ToAddresses []string }
		Content          *struct {
			Simple *struct {
				Subject *content
				Body    *struct{ Text *content }
			}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		refuse("body is not a SendEmail request: %v", err)
		return
	}
	ok := func(c *content) bool {
		return c != nil && c.Data != nil && *c.Data != "" && c.Charset != nil && *c.Charset == "UTF-8"
	}
	switch {
	case in.FromEmailAddress == nil || !strings.Contains(*in.FromEmailAddress, "@"):
		refuse("FromEmailAddress missing or not an address")
		return
	case in.Destination == nil || len(in.Destination.ToAddresses) != 1:
		refuse("Destination.ToAddresses must name one address")
		return
	case in.Content == nil || in.Content.Simple == nil || !ok(in.Content.Simple.Subject) || in.Content.Simple.Body == nil || !ok(in.Content.Simple.Body.Text):
		refuse("Content.Simple must have a UTF-8 Subject and Body.Text")
		return
	}
	s.emails = append(s.emails, Email{From: *in.FromEmailAddress, To: in.Destination.ToAddresses[0],
		Subject: *in.Content.Simple.Subject.Data, Text: *in.Content.Simple.Body.Text.Data})
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"MessageId":"0100018c-test-%06d"}`, len(s.emails))
}
