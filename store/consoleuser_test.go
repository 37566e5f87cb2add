package store_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestCreateConsoleUser_StoresAHashAndSignsIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		acme := newAccount(t, db, "Acme", "acme.test")
		u := &store.ConsoleUser{Email: " Ada@Acme.TEST ", Name: " Ada Lovelace ", Role: billing.RoleOwner, AccountID: acme.ID}
		if err := db.CreateConsoleUser(as("user:ops@kore.test"), u, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		if u.ID == 0 || u.Email != "ada@acme.test" || u.Name != "Ada Lovelace" || !u.CreatedAt.Equal(stored(t0)) {
			t.Fatalf("created %+v", u)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(u.PasswordHash, "horse") {
			t.Fatalf("password hash = %q", u.PasswordHash)
		}

		ev := lastEvent(t, db, 2)
		if ev.Action != "console_user.create" || ev.TargetID != "ada@acme.test" || ev.Actor != "user:ops@kore.test" ||
			ev.AccountID == nil || *ev.AccountID != acme.ID {
			t.Fatalf("event = %+v", ev)
		}
		if strings.Contains(string(ev.After), "argon2") {
			t.Fatalf("the audit trail recorded the hash: %s", ev.After)
		}

		clock.Advance(time.Hour)
		got, err := db.AuthenticateConsoleUser(context.Background(), "ADA@acme.test", "correct horse battery", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Role != billing.RoleOwner || got.AccountID != acme.ID ||
			got.LastSignInAt == nil || !got.LastSignInAt.Equal(stored(clock.Now())) {
			t.Fatalf("signed in as %+v", got)
		}
		if a := got.Actor(); a != (billing.Actor{Name: "user:ada@acme.test", Role: billing.RoleOwner, AccountID: acme.ID}) {
			t.Fatalf("actor = %+v", a)
		}
		again, err := db.FindConsoleUserByID(context.Background(), u.ID)
		if err != nil || again.LastSignInAt == nil {
			t.Fatalf("find by id = %+v, %v", again, err)
		}
	})
}

func TestAuthenticateConsoleUser_WrongPasswordUnknownEmailAndDisabledAllFailAlike(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		u := &store.ConsoleUser{Email: "ops@kore.test", Role: billing.RoleOperator}
		if err := db.CreateConsoleUser(as("system"), u, "a long enough password"); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, tc := range []struct{ email, password string }{
			{"ops@kore.test", "a long enough passworD"},
			{"nobody@kore.test", "a long enough password"},
			{"", ""},
		} {
			if _, err := db.AuthenticateConsoleUser(ctx, tc.email, tc.password, "192.0.2.1"); err != store.ErrSignInFailed {
				t.Errorf("sign in %q/%q: err = %v, want ErrSignInFailed", tc.email, tc.password, err)
			}
		}
		disabled, err := db.SetConsoleUserDisabled(as("system"), u.ID, true)
		if err != nil || !disabled.Disabled {
			t.Fatalf("disable = %+v, %v", disabled, err)
		}
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "a long enough password", "192.0.2.1"); err != store.ErrSignInFailed {
			t.Fatalf("a disabled user signed in: %v", err)
		}
		if ev := lastEvent(t, db, 2); ev.Action != "console_user.update" {
			t.Fatalf("event = %+v", ev)
		}
		if _, err := db.SetConsoleUserDisabled(as("system"), u.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := db.SetConsoleUserPassword(as("system"), u.ID, "another long password"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "a long enough password", "192.0.2.1"); err != store.ErrSignInFailed {
			t.Fatalf("the old password still works: %v", err)
		}
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "another long password", "192.0.2.1"); err != nil {
			t.Fatalf("the new password does not work: %v", err)
		}
		if ev := lastEvent(t, db, 4); ev.Action != "console_user.password" || strings.Contains(string(ev.After), "argon") {
			t.Fatalf("event = %+v", ev)
		}
	})
}

func TestCreateConsoleUser_InvalidOrTakenWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		acme := newAccount(t, db, "Acme", "acme.test")
		if err := db.CreateConsoleUser(as("x"), &store.ConsoleUser{Email: "admin@localhost", Role: billing.RoleOperator},
			"a long enough password"); err != nil {
			t.Fatalf("admin@localhost refused: %v", err)
		}
		users := func() int { return count(t, db, "console_users") }
		for _, tc := range []struct {
			name     string
			user     store.ConsoleUser
			password string
			fields   []string
		}{
			{"everything wrong", store.ConsoleUser{Email: "not an email", Role: "platform"}, "short",
				[]string{"email", "role", "password"}},
			{"owner without account", store.ConsoleUser{Email: "o@acme.test", Role: billing.RoleOwner}, "a long enough password",
				[]string{"account"}},
			{"operator with account", store.ConsoleUser{Email: "o@acme.test", Role: billing.RoleOperator, AccountID: acme.ID},
				"a long enough password", []string{"account"}},
			{"unknown account", store.ConsoleUser{Email: "o@acme.test", Role: billing.RoleViewer, AccountID: 999},
				"a long enough password", []string{"account"}},
		} {
			before := users()
			err := db.CreateConsoleUser(as("x"), &tc.user, tc.password)
			e := assertCode(t, err, billing.EINVALID)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("%s: fields = %v, want %v", tc.name, fields, tc.fields)
			}
			if users() != before {
				t.Errorf("%s: a user was written", tc.name)
			}
		}
		err := db.CreateConsoleUser(as("x"), &store.ConsoleUser{Email: "ADMIN@localhost", Role: billing.RoleOperator}, "another password!")
		if e := assertCode(t, err, billing.ECONFLICT); e.Message != "A console user with this email already exists." {
			t.Fatalf("message = %q", e.Message)
		}
		if n, err := db.CountConsoleUsers(context.Background()); err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
	})
}

func TestFindConsoleUsers_ByAccount(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		acme := newAccount(t, db, "Acme", "acme.test")
		globex := newAccount(t, db, "Globex", "globex.test")
		for _, u := range []store.ConsoleUser{
			{Email: "b@acme.test", Role: billing.RoleViewer, AccountID: acme.ID},
			{Email: "a@acme.test", Role: billing.RoleOwner, AccountID: acme.ID},
			{Email: "g@globex.test", Role: billing.RoleBillingAdmin, AccountID: globex.ID},
			{Email: "ops@kore.test", Role: billing.RoleOperator},
		} {
			if err := db.CreateConsoleUser(as("x"), &u, "a long enough password"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.FindConsoleUsers(context.Background(), store.ConsoleUserFilter{AccountID: acme.ID})
		if err != nil {
			t.Fatal(err)
		}
		var emails []string
		for _, u := range got {
			emails = append(emails, u.Email)
		}
		if !slices.Equal(emails, []string{"a@acme.test", "b@acme.test"}) {
			t.Fatalf("acme's users = %v", emails)
		}
		all, err := db.FindConsoleUsers(context.Background(), store.ConsoleUserFilter{})
		if err != nil || len(all) != 4 {
			t.Fatalf("all = %d, %v", len(all), err)
		}
	})
}

func TestHashPassword_PHCFormatAndSaltedPerHash(t *testing.T) {
	t.Parallel()
	h1, h2 := store.HashPassword("same password"), store.HashPassword("same password")
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !store.CheckPassword(h1, "same password") || !store.CheckPassword(h2, "same password") {
		t.Fatal("a hash does not verify its password")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA",
		strings.Replace(h1, "v=19", "v=16", 1), h1 + "x"} {
		if store.CheckPassword(bad, "same password") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func TestGeneratePassword_FourGroupsOfFive(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$`)
	seen := map[string]bool{}
	for range 50 {
		p := store.GeneratePassword()
		if !re.MatchString(p) || strings.ContainsAny(p, "ilo01") || seen[p] {
			t.Fatalf("generated %q", p)
		}
		seen[p] = true
	}
}

// The sign-in limit is taken in the database before the password is
// checked: 100 simultaneous wrong passwords for one email check at most
// SignInLimit of them, and the rest are told to wait (issue 9, defect 3:
// 72 of 100 were checked when the limit was counted per node after the
// check).
func TestAuthenticateConsoleUser_ParallelWrongPasswordsCheckAtMostTheLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		u := &store.ConsoleUser{Email: "ops@kore.test", Role: billing.RoleOperator}
		if err := db.CreateConsoleUser(as("system"), u, "a long enough password"); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var mu sync.Mutex
		checked, throttled := 0, 0
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				_, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "wrong password!", "192.0.2.1")
				var th *store.SignInThrottledError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == store.ErrSignInFailed:
					checked++
				case errors.As(err, &th):
					throttled++
					if th.RetryAfter <= 0 || th.RetryAfter > store.SignInWindow {
						t.Errorf("retry after %s", th.RetryAfter)
					}
				default:
					t.Errorf("sign in: %v", err)
				}
			})
		}
		wg.Wait()
		if checked != store.SignInLimit || throttled != 100-store.SignInLimit {
			t.Fatalf("%d passwords checked, %d throttled; want %d checked", checked, throttled, store.SignInLimit)
		}
		// The right password is refused too while the limit holds; another
		// address is not held up.
		var th *store.SignInThrottledError
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "a long enough password", "192.0.2.1"); !errors.As(err, &th) {
			t.Fatalf("the right password during the limit: %v", err)
		}
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "a long enough password", "198.51.100.7"); err != nil {
			t.Fatalf("from another address: %v", err)
		}
		// When the window has passed, one may try again; a success clears
		// the count.
		clock.Advance(store.SignInWindow)
		for range store.SignInLimit {
			if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "wrong password!", "192.0.2.1"); err != store.ErrSignInFailed {
				t.Fatalf("after the window: %v", err)
			}
		}
		clock.Advance(store.SignInWindow)
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "a long enough password", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "sign_in_attempts WHERE key LIKE 'ops@kore.test|192.0.2.1'"); n != 0 {
			t.Fatalf("a success left %d attempt rows", n)
		}
		if _, err := db.AuthenticateConsoleUser(ctx, "ops@kore.test", "wrong password!", "203.0.113.9"); err != store.ErrSignInFailed {
			t.Fatal(err)
		}
		clock.Advance(store.SignInWindow)
		if n, err := db.DeleteStaleSignInAttempts(ctx); err != nil || n != 1 {
			t.Fatalf("prune = %d, %v; want the one stale row", n, err)
		}
	})
}
