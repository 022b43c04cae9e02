// Package workloadtoken verifies the OIDC tokens of trusted workloads (API.md
// section 15): a CI job's or a workload's token from its platform's issuer,
// exchanged for a short-lived site token. Only issuers a site trusts are
// ever asked for keys, and only at public addresses (or the local issuers
// of `make run`), so that no token can make the service fetch a URL of its
// choosing or reach into the network it runs in.
package workloadtoken

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// MaxIssuerLen bounds an issuer URL.
const MaxIssuerLen = 1000

// CheckIssuer says what is wrong with issuer as the issuer of a trusted
// workload, or "" when nothing is: an https URL with a host and nothing
// but a path after it, whose host is not an address or a name of the
// service's own network; or exactly one of local, the issuers `make run`
// serves on this machine.
func CheckIssuer(issuer string, local []string) string {
	if slices.Contains(local, issuer) {
		return ""
	}
	const msg = "must be an https URL of a public OpenID issuer, such as https://token.actions.githubusercontent.com"
	if len(issuer) > MaxIssuerLen {
		return "must be at most 1000 characters"
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		u.Opaque != "" || strings.ContainsAny(issuer, " \t\r\n") || u.String() != issuer {
		return msg
	}
	host := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(host); err == nil {
		if !PublicAddr(a) {
			return msg
		}
		return ""
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") ||
		strings.HasSuffix(host, ".local") || !strings.Contains(host, ".") {
		return msg
	}
	return ""
}

// nonPublic are ranges that IsGlobalUnicast leaves in but no public
// issuer is at: shared address space (RFC 6598), IETF protocol
// assignments, benchmarking, documentation, 6to4 relays, reserved ranges,
// NAT64 (which would reach any IPv4 address, private ones too), and the
// IPv4-compatible and IPv4-translated forms.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("::ffff:0:0:0/96"),
}

// PublicAddr reports whether a is an address the service may fetch from:
// global unicast, not private, and in none of the ranges above. An
// IPv4-mapped IPv6 address is judged as its IPv4 address.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
