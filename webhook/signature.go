package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of every delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>", as
	// Stripe's Stripe-Signature does.
	SignatureHeader = "Korebill-Signature"
	// EventIDHeader carries the event id, for deduplication before parsing.
	EventIDHeader = "Korebill-Event-Id"
	// EventTypeHeader carries the event type.
	EventTypeHeader = "Korebill-Event-Type"
)

// DefaultTolerance is how far from now a signature's timestamp may be
// before Verify refuses it as a replay.
const DefaultTolerance = 5 * time.Minute

// Sign returns the SignatureHeader value for body sent at t: the HMAC-SHA256,
// keyed with the endpoint's secret (the whole string, "whsec_" included), of
// the timestamp in Unix seconds, a full stop, and the body as sent.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + signature(secret, ts, body)
}

func signature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Errors Verify returns.
var (
	ErrNoSignature      = errors.New("webhook: no signature header, or one without t= and v1=")
	ErrSignatureExpired = errors.New("webhook: the signature's timestamp is outside the tolerance")
	ErrSignatureInvalid = errors.New("webhook: no v1 signature matches the body")
)

// Verify is the receiver's check of a delivery: header is the
// Korebill-Signature value, body the raw request body (before any JSON
// decoding), now the receiver's clock. It returns nil when one v1 signature
// (there may be several) is the HMAC of "<t>.<body>" under secret and t is
// within tolerance of now; a tolerance of 0 or less skips the time check,
// which then no longer guards against replays.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrNoSignature
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrNoSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return ErrSignatureExpired
		}
	}
	want := []byte(signature(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrSignatureInvalid
}
