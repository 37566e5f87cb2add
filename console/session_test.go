package console_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// countingSessions is the store's session store, counting its writes.
type countingSessions struct {
	*store.SessionStore
	mu      sync.Mutex
	commits int
}

func (c *countingSessions) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	c.mu.Lock()
	c.commits++
	c.mu.Unlock()
	return c.SessionStore.CommitCtx(ctx, token, data, expiry)
}

func (c *countingSessions) Commit(token string, data []byte, expiry time.Time) error {
	return c.CommitCtx(context.Background(), token, data, expiry)
}

func (c *countingSessions) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.commits
	c.commits = 0
	return n
}

// The session is written at most once a minute, not on every request:
// reading pages writes nothing; the first request a minute later keeps the
// session alive with one write; 30 minutes without a request sign out.
func TestSession_WrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sessions := &countingSessions{SessionStore: db.Sessions()}
		var mu sync.Mutex
		now := time.Date(2027, 3, 10, 15, 0, 0, 0, time.UTC)
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		b := setup(t, db, func(c *console.Config) {
			c.Sessions = sessions
			c.IdleTimeout = 30 * time.Minute
			c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		})
		p := signedIn(t, b, ownerEmail)
		sessions.take()

		pages := []string{"/accounts/" + b.acme.Number + "/summary", "/accounts/" + b.acme.Number + "/history"}
		for i := range 10 {
			advance(5 * time.Second)
			if status, _ := p.get(pages[i%2]); status != http.StatusOK {
				t.Fatalf("%s = %d", pages[i%2], status)
			}
		}
		if n := sessions.take(); n != 0 {
			t.Errorf("10 page reads within a minute wrote the session %d times, want 0", n)
		}

		advance(seconds(11)) // a minute after signing in
		for range 3 {
			p.get(pages[0])
		}
		if n := sessions.take(); n != 1 {
			t.Errorf("3 reads a minute on wrote the session %d times, want 1", n)
		}

		advance(29 * time.Minute) // idle, but less than 30 minutes since last seen
		if status, _ := p.get(pages[0]); status != http.StatusOK || p.last.Request.URL.Path != pages[0] {
			t.Fatalf("after 29 idle minutes: %d %s", status, p.last.Request.URL.Path)
		}
		advance(31 * time.Minute)
		p.get(pages[0])
		if p.last.Request.URL.Path != "/login" {
			t.Errorf("after 31 idle minutes the page is %s, want the sign-in page", p.last.Request.URL.Path)
		}
	})
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
