package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// Endpoints receive signed events about every account, so by default they
// may only be public addresses: an operator (or a stolen operator key)
// must not be able to point them at the service's own network — loopback,
// private (RFC 1918, fc00::/7), carrier-grade NAT, link-local (the cloud
// metadata service at 169.254.169.254) and other special addresses. The
// check is made twice: when an endpoint is registered (its host, resolved),
// and on every delivery on the very address dialed (the dialer's Control),
// so that a name that resolves to a public address when registered and to
// a private one later (DNS rebinding) is still refused. Options.AllowPrivate
// (korebill serve --allow-private-webhooks) turns both off, for a receiver
// on the same network or for tests.

// cgnat is the shared address space of RFC 6598.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddress reports whether ip is an address endpoints may be
// delivered to by default.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsLoopback(), ip.IsPrivate(),
		ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast(),
		cgnat.Contains(ip), ip.Is4() && ip.As4()[0] == 0, ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	}
	return true
}

// errPrivate is the message for an endpoint on a private address.
func errPrivate(what string) string {
	return fmt.Sprintf("The URL points to %s, a loopback, private or link-local address; "+
		"such endpoints are refused unless the server runs with --allow-private-webhooks.", what)
}

// checkDestination refuses, naming the url field, a URL whose host is (or
// resolves to) an address that is not public. A name that does not resolve
// now is accepted: every delivery checks the address it dials.
func checkDestination(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return nil // Validate reports it
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	var v billing.Validation
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		v.Add("url", "%s", errPrivate(host))
		return v.Err()
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !PublicAddress(ip) {
			v.Add("url", "%s", errPrivate(ip.String()))
		}
		return v.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range addrs {
		if !PublicAddress(ip) {
			v.Add("url", "%s", errPrivate(host+" ("+ip.Unmap().String()+")"))
			return v.Err()
		}
	}
	return nil
}

// refusePrivateDial is a net.Dialer Control that refuses to connect to an
// address that is not public: it sees the address actually dialed, after
// any name resolution.
func refusePrivateDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dial %s: %w", address, err)
	}
	if !PublicAddress(ap.Addr()) {
		return fmt.Errorf("webhook: refused to deliver to %s: not a public address (see --allow-private-webhooks)", ap.Addr())
	}
	return nil
}
