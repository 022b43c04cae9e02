package workloadtoken

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// ErrNotPublic means a fetch was refused before it was made: its address is
// not a public one, or its URL is not https, and it is not a local issuer's.
var ErrNotPublic = errors.New("workloadtoken: not a public https address")

// Timeout bounds each fetch of a discovery document or a key set.
const Timeout = 3 * time.Second

// NewClient returns the client a Verifier fetches with: https only, to
// public addresses only (as PublicAddr judges each address a name resolves
// to, and the connection is made to that very address, so a name that
// resolves again to another cannot slip by), through no proxy, following
// at most 3 redirects, each held to the same rules. The hosts (host:port)
// of local, the issuers `make run` serves, are reached as they are, over
// http too.
func NewClient(local []string) *http.Client {
	var localHosts []string
	for _, iss := range local {
		if u, err := url.Parse(iss); err == nil {
			localHosts = append(localHosts, u.Host)
		}
	}
	dialer := &net.Dialer{Timeout: Timeout}
	resolver := net.DefaultResolver
	t := &http.Transport{
		Proxy:               nil,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: Timeout,
		MaxIdleConns:        16,
		IdleConnTimeout:     90 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if slices.Contains(localHosts, addr) {
				return dialer.DialContext(ctx, network, addr)
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			addrs, err := resolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			for _, a := range addrs {
				if !PublicAddr(a) {
					return nil, fmt.Errorf("%w: %s is %s", ErrNotPublic, host, a)
				}
			}
			if len(addrs) == 0 {
				return nil, fmt.Errorf("%w: %s has no address", ErrNotPublic, host)
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(addrs[0].Unmap().String(), port))
		},
	}
	return &http.Client{
		Timeout:   Timeout,
		Transport: schemeGuard{next: t, localHosts: localHosts},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("workloadtoken: too many redirects")
			}
			return nil
		},
	}
}

// schemeGuard refuses a request that is not https, unless it is to a local
// issuer's host.
type schemeGuard struct {
	next       http.RoundTripper
	localHosts []string
}

func (g schemeGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" && !slices.Contains(g.localHosts, r.URL.Host) {
		return nil, fmt.Errorf("%w: %s", ErrNotPublic, r.URL.Redacted())
	}
	return g.next.RoundTrip(r)
}
