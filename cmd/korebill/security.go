package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// SecurityConfig is how korebill serve is exposed: TLS, the metrics
// endpoint, and where webhooks may go. See docs/security.md.
type SecurityConfig struct {
	// TLSCert and TLSKey (PEM files) serve https; the console then sends
	// Strict-Transport-Security.
	TLSCert, TLSKey string
	// MetricsAddr serves /metrics on a listener of its own (and not on
	// --addr); MetricsKey makes /metrics require "Authorization: Bearer
	// <key>".
	MetricsAddr, MetricsKey string
	// AllowPrivateWebhooks allows webhook endpoints on loopback, private
	// and link-local addresses.
	AllowPrivateWebhooks bool
	// InsecureCookies keeps the session cookie without Secure even when
	// the console is not on loopback (plain http on a trusted network).
	InsecureCookies bool
}

func (m *Main) securityFlags(fs *flag.FlagSet) {
	c := &m.Config.Security
	str := func(p *string, name, env, help string) {
		if v, ok := os.LookupEnv(env); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, help+" ($"+env+")")
	}
	boolean := func(p *bool, name, env, help string) {
		if v, ok := os.LookupEnv(env); ok {
			*p = v == "1" || strings.EqualFold(v, "true")
		}
		fs.BoolVar(p, name, *p, help+" ($"+env+")")
	}
	str(&c.TLSCert, "tls-cert", "KOREBILL_TLS_CERT", "serve https with this certificate (PEM; with --tls-key)")
	str(&c.TLSKey, "tls-key", "KOREBILL_TLS_KEY", "the private key of --tls-cert (PEM)")
	str(&c.MetricsAddr, "metrics-addr", "KOREBILL_METRICS_ADDR", "serve /metrics on this address only, not on --addr")
	str(&c.MetricsKey, "metrics-key", "KOREBILL_METRICS_KEY", "require 'Authorization: Bearer <key>' on /metrics")
	boolean(&c.AllowPrivateWebhooks, "allow-private-webhooks", "KOREBILL_ALLOW_PRIVATE_WEBHOOKS",
		"allow webhook endpoints on loopback, private and link-local addresses")
	boolean(&c.InsecureCookies, "insecure-cookies", "KOREBILL_INSECURE_COOKIES",
		"never mark the session cookie Secure, even when --addr is not loopback (plain http on a trusted network)")
}

// validate names what is wrong with the security settings.
func (c *SecurityConfig) validate() []string {
	var problems []string
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "--tls-cert and --tls-key go together")
	} else if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			problems = append(problems, fmt.Sprintf("--tls-cert/--tls-key: %v", err))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			problems = append(problems, fmt.Sprintf("--metrics-addr %q is not host:port", c.MetricsAddr))
		}
	}
	return problems
}

// secureCookies reports whether the session cookie is Secure: when asked
// (--secure-cookies), when serving TLS, and whenever the console listens
// anywhere but loopback (it is then reached over a network, which must be
// https, directly or through a proxy) unless --insecure-cookies.
func (m *Main) secureCookies() bool {
	c := m.Config
	switch {
	case c.Console.SecureCookies, c.Security.TLSCert != "":
		return true
	case c.Security.InsecureCookies:
		return false
	}
	return !loopback(c.Addr)
}

// loopback reports whether addr (host:port) listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hsts adds Strict-Transport-Security to every response served over TLS.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
