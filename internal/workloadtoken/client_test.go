package workloadtoken

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"140.82.112.3", true},
		{"2606:4700::6810:85e5", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"255.255.255.255", false},
		{"::1", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:140.82.112.3", true},
		{"64:ff9b::a00:1", false},
		{"2002:a00:1::", false},
	} {
		if got := PublicAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("PublicAddr(%s) = %v; want %v", tc.addr, got, tc.want)
		}
	}
}

// TestClientRefusesWhatIsNotPublic: the client connects to no loopback
// address and speaks no plain http, but to the local issuers' hosts.
func TestClientRefusesWhatIsNotPublic(t *testing.T) {
	var conns int
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	for _, url := range []string{srv.URL, "https://" + srv.Listener.Addr().String(), "https://localhost:1/x"} {
		_, err := NewClient(nil).Get(url)
		if !errors.Is(err, ErrNotPublic) {
			t.Errorf("Get(%s) = %v; want ErrNotPublic", url, err)
		}
	}
	if conns != 0 {
		t.Errorf("%d connections; want none", conns)
	}
	resp, err := NewClient([]string{srv.URL + "/issuer"}).Get(srv.URL + "/issuer/.well-known/openid-configuration")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a local issuer's host = %v, %v; want its answer", resp, err)
	}
	resp.Body.Close()
}
