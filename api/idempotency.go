package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
)

// IdempotencyStore keeps the first response to each Idempotency-Key.
type IdempotencyStore interface {
	ReserveIdempotencyKey(ctx context.Context, lease billing.IdempotencyLease, requestHash string, ttl, leaseFor time.Duration) (*billing.IdempotentResponse, bool, error)
	RenewIdempotencyLease(ctx context.Context, lease billing.IdempotencyLease, leaseFor time.Duration) (bool, error)
	CompleteIdempotencyKey(ctx context.Context, lease billing.IdempotencyLease, resp billing.IdempotentResponse) error
	ReleaseIdempotencyKey(ctx context.Context, lease billing.IdempotencyLease) error
}

const (
	idempotencyTTL     = 24 * time.Hour
	maxIdempotencyKey  = 255
	maxIdempotentBody  = 1 << 20
	idempotencyReplayH = "Idempotent-Replayed"
	// DefaultIdempotencyLease is how long a request holds its key without
	// renewing it; it renews every third of that while it runs.
	DefaultIdempotencyLease = 10 * time.Second
)

// idempotent makes every state-changing /v1 request sent with an
// Idempotency-Key run at most once per caller and key: a retry with the same
// key and body gets the first response again (status and body, for 24
// hours); the same key with another body is refused; a retry that arrives
// while the first still runs waits for it. A first request that fails with a
// server error is forgotten, so that its retry runs again (the change rolled
// back with the error).
//
// The key is checked before the Idempotency-Key is looked at: a request with
// a bad or revoked key writes nothing and is never answered from a stored
// response.
//
// A running request holds its key by a lease that it renews; a request
// whose process died stops renewing, and once the lease has expired a retry
// takes the key over and runs — unless the dead request had committed a
// change (its transactions are fenced by the lease, see
// billing.IdempotencyLease), which a second run could repeat: the key then
// answers 409 idempotency_key_interrupted for good.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, sent := r.Header["Idempotency-Key"]
		if !sent || r.Method == http.MethodGet || r.Method == http.MethodHead || !strings.HasPrefix(r.URL.Path, "/v1/") || s.Idempotency == nil {
			next.ServeHTTP(w, r)
			return
		}
		// Authentication first: a request without a valid key goes on to
		// be refused by the API with 401, writing nothing.
		apiKey, ok := s.bearerKey(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), authenticatedKey{}, apiKey))
		if len(key) != 1 || !validIdempotencyKey(key[0]) {
			writeProblem(w, http.StatusBadRequest, "invalid_idempotency_key",
				"Idempotency-Key must be one header of 1 to 255 printable ASCII characters, such as a UUID.")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxIdempotentBody+1))
		if err != nil || len(body) > maxIdempotentBody {
			writeProblem(w, http.StatusRequestEntityTooLarge, "request_too_large", "The request body is too large.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		// The scope is the caller: a hash of the whole credential, so that
		// no one can reach another caller's keys.
		scopeSum := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		lease := billing.IdempotencyLease{Scope: hex.EncodeToString(scopeSum[:]), Key: key[0], Owner: randomToken()}
		h := sha256.New()
		io.WriteString(h, r.Method+" "+r.URL.RequestURI()+"\n")
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		ctx := r.Context()
		leaseFor := s.idempotencyLease
		deadline := time.Now().Add(leaseFor + leaseFor/2) // long enough for a dead request's lease to expire
		var rec *billing.IdempotentResponse
		for {
			var reserved bool
			rec, reserved, err = s.Idempotency.ReserveIdempotencyKey(ctx, lease, hash, idempotencyTTL, leaseFor)
			if err != nil {
				s.logger(ctx).ErrorContext(ctx, "reserve idempotency key", slog.Any("err", err))
				writeProblem(w, http.StatusInternalServerError, billing.EINTERNAL, "Internal error.")
				return
			}
			if reserved {
				s.runIdempotent(w, r, next, lease)
				return
			}
			if rec.Done || rec.RequestHash != hash || rec.LeaseExpired || !time.Now().Before(deadline) {
				break
			}
			select { // the first request still runs: wait for it
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		switch {
		case rec.RequestHash != hash:
			writeProblem(w, http.StatusUnprocessableEntity, "idempotency_key_reused",
				"This Idempotency-Key was used with another request; use a new key for a new request.")
		case !rec.Done && rec.LeaseExpired: // died after a change: say so, once and for all
			resp := billing.IdempotentResponse{Status: http.StatusConflict, ContentType: "application/problem+json",
				Body: mustJSON(&Problem{Status: http.StatusConflict, Title: http.StatusText(http.StatusConflict), Code: "idempotency_key_interrupted",
					Detail: "The first request with this Idempotency-Key was interrupted after it had changed something, so it is not run again; read the resource to see its result, and use a new key for a new attempt."})}
			dead := billing.IdempotencyLease{Scope: lease.Scope, Key: lease.Key, Owner: rec.LeaseOwner}
			if err := s.Idempotency.CompleteIdempotencyKey(ctx, dead, resp); err != nil {
				s.logger(ctx).ErrorContext(ctx, "complete interrupted idempotency key", slog.Any("err", err))
			}
			s.logger(ctx).WarnContext(ctx, "idempotency key interrupted after a change", slog.String("key", lease.Key))
			writeStored(w, resp, false)
		case !rec.Done:
			writeProblem(w, http.StatusConflict, "idempotency_key_in_progress",
				"A request with this Idempotency-Key is still running; retry later.")
		default:
			writeStored(w, *rec, true)
		}
	})
}

// runIdempotent runs the request that holds lease, renewing the lease until
// it has stored its response.
func (s *Server) runIdempotent(w http.ResponseWriter, r *http.Request, next http.Handler, lease billing.IdempotencyLease) {
	ctx := r.Context()
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(s.idempotencyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			held, err := s.Idempotency.RenewIdempotencyLease(context.WithoutCancel(ctx), lease, s.idempotencyLease)
			if err != nil {
				s.logger(ctx).WarnContext(ctx, "renew idempotency lease", slog.Any("err", err))
			} else if !held {
				return
			}
		}
	}()
	defer func() { close(stop); <-renewed }()

	rw := &recordingWriter{ResponseWriter: w}
	next.ServeHTTP(rw, r.WithContext(billing.NewContextWithIdempotencyLease(ctx, lease)))
	if rw.status >= 500 {
		if err := s.Idempotency.ReleaseIdempotencyKey(context.WithoutCancel(ctx), lease); err != nil {
			s.logger(ctx).ErrorContext(ctx, "release idempotency key", slog.Any("err", err))
		}
		return
	}
	resp := billing.IdempotentResponse{Status: rw.status, ContentType: w.Header().Get("Content-Type"), Body: rw.body.Bytes()}
	if err := s.Idempotency.CompleteIdempotencyKey(context.WithoutCancel(ctx), lease, resp); err != nil {
		s.logger(ctx).ErrorContext(ctx, "complete idempotency key", slog.Any("err", err))
	}
}

// writeStored answers with a stored response.
func writeStored(w http.ResponseWriter, rec billing.IdempotentResponse, replayed bool) {
	if rec.ContentType != "" {
		w.Header().Set("Content-Type", rec.ContentType)
	}
	if replayed {
		w.Header().Set(idempotencyReplayH, "true")
	}
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

// randomToken returns 16 random bytes in hex.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(&Problem{Status: status, Title: http.StatusText(status), Detail: detail, Code: code}))
}

// recordingWriter passes a response through and keeps a copy.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
