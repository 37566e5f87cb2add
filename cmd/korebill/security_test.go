package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a client that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, client *http.Client) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "korebill test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// sessionCookie returns the Set-Cookie of the console's session from the
// sign-in page.
func sessionCookie(t *testing.T, client *http.Client, base string) (string, http.Header) {
	t.Helper()
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "korebill_session=") {
			return c, resp.Header
		}
	}
	t.Fatalf("no session cookie: %v", resp.Header)
	return "", nil
}

// korebill serve --tls-cert/--tls-key serves https, with HSTS and a Secure
// session cookie; on loopback over http the cookie is not Secure (a
// browser would not send it back), and anywhere else it is (issue 9,
// defect 7).
func TestServe_TLSHSTSAndSecureCookies(t *testing.T) {
	certFile, keyFile, client := selfSigned(t)
	m, _ := startServe(t, "--database-url", filepath.Join(t.TempDir(), "tls.db"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(m.URL(), "https://") {
		t.Fatalf("url = %s", m.URL())
	}
	cookie, hdr := sessionCookie(t, client, m.URL())
	if !strings.Contains(cookie, "; Secure") || hdr.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatalf("over TLS: cookie %q, HSTS %q", cookie, hdr.Get("Strict-Transport-Security"))
	}

	m, _ = startServe(t, "--database-url", filepath.Join(t.TempDir(), "loop.db"))
	if cookie, hdr := sessionCookie(t, http.DefaultClient, m.URL()); strings.Contains(cookie, "Secure") || hdr.Get("Strict-Transport-Security") != "" {
		t.Fatalf("on loopback: cookie %q, HSTS %q", cookie, hdr.Get("Strict-Transport-Security"))
	}

	m, _ = startServe(t, "--database-url", filepath.Join(t.TempDir(), "all.db"), "--addr", "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL(), "http://"))
	if cookie, _ := sessionCookie(t, http.DefaultClient, "http://127.0.0.1:"+port); !strings.Contains(cookie, "; Secure") {
		t.Fatalf("on every interface: cookie %q, want Secure", cookie)
	}
}

// /metrics on an address of its own (and not on --addr), behind a key
// (issue 9, defect 7: /metrics answered anyone).
func TestServe_MetricsOnTheirOwnAddressBehindAKey(t *testing.T) {
	m, _ := startServe(t, "--database-url", filepath.Join(t.TempDir(), "m.db"), "--metrics-addr", "127.0.0.1:0", "--metrics-key", "s3cret-metrics")
	get := func(url, key string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get(m.URL()+"/metrics", "s3cret-metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics on --addr = %d, want 404", status)
	}
	for _, key := range []string{"", "wrong"} {
		if status, _ := get(m.MetricsURL(), key); status != http.StatusUnauthorized {
			t.Fatalf("metrics with key %q = %d, want 401", key, status)
		}
	}
	if status, body := get(m.MetricsURL(), "s3cret-metrics"); status != 200 || !strings.Contains(body, "korebill_http_request") {
		t.Fatalf("metrics with the key = %d %.200s", status, body)
	}
}

// Webhook endpoints on private addresses are refused unless serve runs
// with --allow-private-webhooks (issue 9, defect 7).
func TestServe_PrivateWebhooksOnlyWhenAllowed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{{nil, 422}, {[]string{"--allow-private-webhooks"}, 201}} {
		m, out := startServe(t, append([]string{"--database-url", filepath.Join(t.TempDir(), "w.db")}, tc.args...)...)
		key := keyRE.FindStringSubmatch(out.String())[1]
		if status, body := call(t, "POST", m.URL()+"/v1/webhook-endpoints", key, `{"url": "http://127.0.0.1:9/hook"}`); status != tc.want {
			t.Fatalf("%v: register a loopback endpoint = %d %v, want %d", tc.args, status, body, tc.want)
		}
	}
}
