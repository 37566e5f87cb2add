package webhook_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/webhook"
)

const secret = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef"

func TestVerify_AcceptsWhatSignSignsAndNothingElse(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid","data":{}}`)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	header := webhook.Sign(secret, at, body)
	if !strings.HasPrefix(header, "t="+strconv.FormatInt(at.Unix(), 10)+",v1=") {
		t.Fatalf("header = %q", header)
	}
	_, sig, _ := strings.Cut(header, ",v1=")
	tests := []struct {
		name      string
		secret    string
		header    string
		body      string
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"as sent", secret, header, string(body), 5 * time.Minute, at.Add(time.Minute), nil},
		{"clock a little behind", secret, header, string(body), 5 * time.Minute, at.Add(-time.Minute), nil},
		{"spaces after commas", secret, strings.ReplaceAll(header, ",", ", "), string(body), 5 * time.Minute, at, nil},
		{"a rotated secret's signature first", secret, "t=" + strconv.FormatInt(at.Unix(), 10) + ",v1=deadbeef,v1=" + sig, string(body), time.Minute, at, nil},
		{"no time check", secret, header, string(body), 0, at.Add(24 * time.Hour), nil},
		{"body changed", secret, header, strings.Replace(string(body), "paid", "void", 1), time.Minute, at, webhook.ErrSignatureInvalid},
		{"body re-encoded", secret, header, string(body) + "\n", time.Minute, at, webhook.ErrSignatureInvalid},
		{"another secret", secret + "0", header, string(body), time.Minute, at, webhook.ErrSignatureInvalid},
		{"timestamp changed", secret, strings.Replace(header, "t=", "t=1", 1), string(body), 0, at, webhook.ErrSignatureInvalid},
		{"too old: a replay", secret, header, string(body), 5 * time.Minute, at.Add(6 * time.Minute), webhook.ErrSignatureExpired},
		{"from the future", secret, header, string(body), 5 * time.Minute, at.Add(-6 * time.Minute), webhook.ErrSignatureExpired},
		{"empty header", secret, "", string(body), time.Minute, at, webhook.ErrNoSignature},
		{"no v1", secret, "t=" + strconv.FormatInt(at.Unix(), 10), string(body), time.Minute, at, webhook.ErrNoSignature},
		{"no t", secret, "v1=" + sig, string(body), time.Minute, at, webhook.ErrNoSignature},
		{"t not a number", secret, "t=soon,v1=" + sig, string(body), time.Minute, at, webhook.ErrNoSignature},
		{"v0 only", secret, "t=" + strconv.FormatInt(at.Unix(), 10) + ",v0=" + sig, string(body), time.Minute, at, webhook.ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, []byte(tt.body), tt.tolerance, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// The shell check in docs/webhooks.md is what receivers copy: run it.
func TestDocs_OpenSSLCheckVerifiesADelivery(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		storetest.SkipOrFail(t, "openssl not installed")
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- verify.sh -->\n```sh\n")
	if !ok {
		t.Fatal("docs/webhooks.md has no <!-- verify.sh --> block")
	}
	script, _, _ := strings.Cut(rest, "```")

	body := []byte(`{"id":"evt_1","type":"invoice.paid","created_at":"2026-03-01T12:00:00Z","data":{"total":1000}}`)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(header string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KOREBILL_WEBHOOK_SECRET="+secret, "SIGNATURE="+header)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run(webhook.Sign(secret, time.Now(), body)); err != nil || out != "valid" {
		t.Errorf("a good signature: %q, %v", out, err)
	}
	if out, err := run(webhook.Sign(secret+"0", time.Now(), body)); err == nil {
		t.Errorf("a bad signature passed: %q", out)
	}
	if out, err := run(webhook.Sign(secret, time.Now().Add(-time.Hour), body)); err == nil {
		t.Errorf("an hour-old signature passed: %q", out)
	}
}
