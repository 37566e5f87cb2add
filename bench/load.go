package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schollz/progressbar/v3"

	"github.com/kore-billing/korebill/store"
)

// LoadSchemaVersion is the schema version the loader writes to. The bench
// migrates a fresh database to this version, loads its accounts with plain
// SQL, and then applies every later migration, as an upgrade of a live
// database would: a migration that adds what the billing run needs (a
// column kept by every change, say) must fill it in for existing rows, and
// so does it for the loaded ones. The loader never has to follow the schema.
const LoadSchemaVersion = 7

// loadChunk is how many accounts one load statement (or COPY) carries.
const loadChunk = 5000

// sqliteTimeLayout is how the SQLite store writes timestamps (store/time.go).
const sqliteTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// conn is the bench's own access to the database under test: the store's
// handle for plain SQL on both engines, and a pgx connection for COPY on
// PostgreSQL.
type conn struct {
	dialect string
	db      *store.DB
	pg      *pgx.Conn // PostgreSQL only
}

func (c *conn) sql() *sql.DB { return c.db.SQL() }

func (c *conn) postgres() bool { return c.dialect == store.DialectPostgres }

// ts is a timestamp argument as the engine's column takes it.
func (c *conn) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if c.postgres() {
		return t
	}
	return t.Format(sqliteTimeLayout)
}

// boolean is a boolean argument: INTEGER 0/1 on SQLite.
func (c *conn) boolean(b bool) any {
	if c.postgres() {
		return b
	}
	if b {
		return int64(1)
	}
	return int64(0)
}

// load writes n online accounts whose renewal is due: each on Premium,
// monthly, one to three seats, its period ended between one day and four
// weeks ago (anchor days 1–28, so no period is shortened by a month end), with a
// billing profile and a default card at the test gateway that succeeds.
// It writes at schema LoadSchemaVersion; the caller migrates the rest.
func (c *conn) load(ctx context.Context, n int, now time.Time, bar *progressbar.ProgressBar) error {
	created := now.Add(-90 * 24 * time.Hour)
	pv, err := c.premiumVersion(ctx, created)
	if err != nil {
		return err
	}
	// Periods end 1 to 25 days before today, so the renewal is due and the
	// renewed period has not ended too; anchor days stay 1–28.
	y, mo, d := now.UTC().Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	expYear := today.Year() + 4

	for lo := 1; lo <= n; lo += loadChunk {
		hi := min(lo+loadChunk-1, n)
		var accounts, profiles, subs, customers, methods [][]any
		for i := lo; i <= hi; i++ {
			id := int64(i)
			number := fmt.Sprintf("KB-%06d", i)
			domain := fmt.Sprintf("bench%d.example.com", i)
			end := today.AddDate(0, 0, -1-(i-1)%25)
			if end.Day() > 28 {
				end = end.AddDate(0, 0, 28-end.Day())
			}
			start := end.AddDate(0, -1, 0)
			customer := fmt.Sprintf("cus_test_%016x", uint64(i))
			card := fmt.Sprintf("pm_test_ok_%04d12_%016x", expYear, uint64(i))
			at := c.ts(created)
			accounts = append(accounts, []any{id, number, fmt.Sprintf("Bench Company %d", i), domain,
				"online", "enterprise", "USD", "UTC", "active", int64(0), at, at})
			profiles = append(profiles, []any{id, fmt.Sprintf("Bench Company %d", i), "Pat Billing",
				fmt.Sprintf("%d Market Street", i), "San Francisco", "CA", "94105", "US", "+14155550100",
				"billing@" + domain, "[]", at})
			subs = append(subs, []any{id, id, pv, "month", int64(1 + (i-1)%3), int64(1000), "USD",
				start.Format(time.DateOnly), start.Format(time.DateOnly), end.Format(time.DateOnly),
				c.boolean(true), "active", "auto_increase", at, at})
			customers = append(customers, []any{id, "test", customer, at})
			methods = append(methods, []any{id, id, "card", c.boolean(true), "test", card, customer,
				"visa", "4242", int64(12), int64(expYear), "Pat Billing", at, at})
		}
		tables := []struct {
			name string
			cols []string
			rows [][]any
		}{
			{"accounts", []string{"id", "number", "name", "domain", "billing_type", "account_type", "currency",
				"time_zone", "status", "credit_balance", "created_at", "updated_at"}, accounts},
			{"billing_profiles", []string{"account_id", "company_name", "contact_name", "address_line1",
				"address_city", "address_region", "address_postal_code", "address_country", "phone", "email",
				"invoice_emails", "updated_at"}, profiles},
			{"subscriptions", []string{"id", "account_id", "plan_version_id", "interval", "seats", "unit_amount",
				"currency", "anchor", "period_start", "period_end", "period_billed", "status", "on_join",
				"created_at", "updated_at"}, subs},
			{"gateway_customers", []string{"account_id", "gateway", "customer_ref", "created_at"}, customers},
			{"payment_methods", []string{"id", "account_id", "kind", "is_default", "gateway", "gateway_ref",
				"customer_ref", "brand", "last4", "exp_month", "exp_year", "billing_name", "created_at",
				"updated_at"}, methods},
		}
		if c.postgres() {
			for _, t := range tables {
				if _, err := c.pg.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
					return fmt.Errorf("load %s: %w", t.name, err)
				}
			}
		} else {
			tx, err := c.sql().BeginTx(ctx, nil)
			if err != nil {
				return fmt.Errorf("load: %w", err)
			}
			for _, t := range tables {
				if err := insertRows(ctx, tx, t.name, t.cols, t.rows); err != nil {
					tx.Rollback()
					return fmt.Errorf("load %s: %w", t.name, err)
				}
			}
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("load: %w", err)
			}
		}
		_ = bar.Add(hi - lo + 1)
	}
	return c.afterLoad(ctx, n)
}

// afterLoad moves the counters past the loaded rows, as if the accounts had
// been made one by one.
func (c *conn) afterLoad(ctx context.Context, n int) error {
	var stmts []string
	if c.postgres() {
		stmts = []string{
			fmt.Sprintf("SELECT setval('account_number_seq', %d)", n),
			fmt.Sprintf("SELECT setval(pg_get_serial_sequence('accounts', 'id'), %d)", n),
			fmt.Sprintf("SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), %d)", n),
			fmt.Sprintf("SELECT setval(pg_get_serial_sequence('payment_methods', 'id'), %d)", n),
			"ANALYZE",
		}
	} else {
		stmts = []string{fmt.Sprintf("UPDATE account_number_counter SET last_value = %d", n), "ANALYZE"}
	}
	for _, s := range stmts {
		if _, err := c.sql().ExecContext(ctx, s); err != nil {
			return fmt.Errorf("load: %s: %w", s, err)
		}
	}
	return nil
}

// premiumVersion writes the catalog's Premium plan ($10 a user a month,
// $100 a year) and returns its version's id. The rest of the catalog is
// seeded by `korebill migrate`, which finds Premium there.
func (c *conn) premiumVersion(ctx context.Context, at time.Time) (int64, error) {
	var planID, versionID int64
	q := c.sql()
	err := q.QueryRowContext(ctx, `INSERT INTO plans (code, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		"premium", "Premium", "Per user, billed monthly or annually.", c.ts(at)).Scan(&planID)
	if err == nil {
		err = q.QueryRowContext(ctx, `INSERT INTO plan_versions (plan_id, version, features, created_at) VALUES ($1, 1, $2, $3) RETURNING id`,
			planID, `["Core features","Admin console","Priority support"]`, c.ts(at)).Scan(&versionID)
	}
	if err == nil {
		_, err = q.ExecContext(ctx, `INSERT INTO plan_prices (plan_version_id, interval, currency, unit_amount)
			VALUES ($1, 'month', 'USD', 1000), ($1, 'year', 'USD', 10000)`, versionID)
	}
	if err != nil {
		return 0, fmt.Errorf("load the catalog: %w", err)
	}
	return versionID, nil
}

// sqliteMaxVars is SQLite's limit on bound parameters in one statement.
const sqliteMaxVars = 32766

// stmtCache keeps the prepared multi-row INSERT of each table and row count
// for the life of one transaction.
type stmtCache map[string]*sql.Stmt

func (sc stmtCache) close() {
	for _, s := range sc {
		s.Close()
	}
}

// insertRows writes rows into table with prepared multi-row INSERT
// statements inside tx: SQLite's fastest path.
func insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	sc := stmtCache{}
	defer sc.close()
	return sc.insert(ctx, tx, table, cols, rows)
}

func (sc stmtCache) insert(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	per := min(500, sqliteMaxVars/len(cols))
	args := make([]any, 0, per*len(cols))
	for lo := 0; lo < len(rows); lo += per {
		chunk := rows[lo:min(lo+per, len(rows))]
		key := fmt.Sprintf("%s/%d", table, len(chunk))
		st, ok := sc[key]
		if !ok {
			var b strings.Builder
			fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
			row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
			for i := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(row)
			}
			var err error
			if st, err = tx.PrepareContext(ctx, b.String()); err != nil {
				return err
			}
			sc[key] = st
		}
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Load fills the fresh database at url (no tables yet) with n online
// accounts whose renewal is due — the bench's accounts: Premium monthly,
// a profile and a default card at the test gateway that succeeds — and
// migrates it to the latest schema, as `korebill migrate` would. Reliability
// tests (cmd/korebill/faults_test.go) bill them under faults.
func Load(ctx context.Context, url string, n int, now time.Time) error {
	db, err := store.Open(ctx, url, nil, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer db.Close()
	c := &conn{dialect: db.Dialect(), db: db}
	if c.postgres() {
		if c.pg, err = pgx.Connect(ctx, url); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer c.pg.Close(context.WithoutCancel(ctx))
	}
	if err := db.MigrateTo(ctx, LoadSchemaVersion); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := c.load(ctx, n, now, progressbar.DefaultSilent(int64(n))); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return db.Migrate(ctx)
}
