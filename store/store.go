// Package store holds Kore Billing's persistence: the billing service
// interfaces implemented on SQLite (modernc.org/sqlite, the embedded default)
// and PostgreSQL (pgx), with one set of SQL statements and embedded goose
// migrations per engine.
//
// It imports billing, the value types of webhook and mail (which it
// persists) and database drivers; it must not import api, engine, console,
// jobs or net/http.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/kore-billing/korebill/billing"
)

// Dialect names, as returned by DB.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteParams configure every SQLite connection: WAL so readers never block
// the writer, a busy timeout so writers queue instead of failing, foreign
// keys on, and BEGIN IMMEDIATE so a write transaction takes the write lock at
// its start (a deferred one that upgrades later can fail with SQLITE_BUSY
// without waiting).
const sqliteParams = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"

// sqliteReadParams configure the connections of the read pool: a read
// transaction is a deferred BEGIN that never takes the write lock (in WAL a
// reader sees the last commit and blocks no writer), and query_only makes
// any write on them an error.
const sqliteReadParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// DB is the store: one database, SQLite or PostgreSQL, behind the billing
// service interfaces.
type DB struct {
	db *sql.DB
	// read is the pool of reads (ReadTx, inReadTx and the Find methods):
	// on SQLite a second pool of query_only connections without BEGIN
	// IMMEDIATE; on PostgreSQL the same pool as db, whose read
	// transactions are BEGIN READ ONLY.
	read    *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only
	dialect string
	clock   billing.Clock
	logger  *slog.Logger
	owner   bool       // false for the copies WithClock returns
	stmts   *stmtCache // SQLite only
}

var (
	_ billing.AccountService     = (*DB)(nil)
	_ billing.ProfileService     = (*DB)(nil)
	_ billing.CatalogService     = (*DB)(nil)
	_ billing.ManagedUserService = (*DB)(nil)
	_ billing.AuditService       = (*DB)(nil)
	_ billing.APIKeyService      = (*DB)(nil)
)

// Open connects to the database named by url and checks that it answers; it
// does not migrate (see Migrate).
//
// url is "postgres://…" or "postgresql://…" for PostgreSQL (pgx; any
// connection parameter pgx accepts, such as search_path or pool_max_conns, may
// be given in the query), or "sqlite:///path/to/file.db" or a plain file path
// for SQLite, whose parent directory is created when missing. A nil clock
// means billing.SystemClock, a nil logger discards.
func Open(ctx context.Context, url string, clock billing.Clock, logger *slog.Logger) (*DB, error) {
	if clock == nil {
		clock = billing.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db := &DB{clock: clock, logger: logger, owner: true}
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.pool, db.db, db.dialect = pool, stdlib.OpenDBFromPool(pool), DialectPostgres
		db.read = db.db
	default:
		path, params, err := sqlitePath(url)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		dsn := path + "?" + sqliteParams
		if params != "" {
			dsn += "&" + params
		}
		sdb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		rdsn := path + "?" + sqliteReadParams
		if params != "" {
			rdsn += "&" + params
		}
		rdb, err := sql.Open("sqlite", rdsn)
		if err != nil {
			sdb.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		db.db, db.read, db.dialect = sdb, rdb, DialectSQLite
		db.stmts = &stmtCache{db: sdb}
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", db.dialect, err)
	}
	logger.Debug("database opened", "dialect", db.dialect)
	return db, nil
}

// sqlitePath splits a SQLite url into the file path and any extra driver
// parameters given after "?".
func sqlitePath(url string) (path, params string, err error) {
	path = url
	if rest, ok := strings.CutPrefix(url, "sqlite://"); ok {
		path = rest
	} else if rest, ok := strings.CutPrefix(url, "sqlite:"); ok {
		path = rest
	} else if strings.Contains(url, "://") {
		return "", "", fmt.Errorf("open: unsupported database url scheme in %q: want postgres://, postgresql://, sqlite:// or a file path", url[:strings.Index(url, "://")+3])
	}
	path, params, _ = strings.Cut(path, "?")
	if path == "" || path == ":memory:" {
		return "", "", fmt.Errorf("open sqlite: a database file path is required (in-memory databases are not supported)")
	}
	return path, params, nil
}

// Close closes the database. Closing a copy made by WithClock does nothing.
func (db *DB) Close() error {
	if !db.owner {
		return nil
	}
	db.stmts.close()
	err := db.db.Close()
	if db.read != db.db {
		err = errors.Join(err, db.read.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the underlying handle, for collaborators that keep their own
// tables in the same database (the job queue).
func (db *DB) SQL() *sql.DB { return db.db }

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect, err)
	}
	return nil
}

// WithClock returns a DB that shares db's connections but reads time from
// clock (an account's test clock, or a test's fixed clock). Close the
// original, not the copy.
func (db *DB) WithClock(clock billing.Clock) *DB {
	c := *db
	c.clock, c.owner = clock, false
	return &c
}

// Migrate applies every migration not yet applied. On PostgreSQL a session
// advisory lock, keyed by database and schema, lets nodes that start together
// migrate one at a time.
func (db *DB) Migrate(ctx context.Context) error {
	provider, err := db.migrationProvider(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		db.logger.Info("migration applied", "dialect", db.dialect, "version", r.Source.Version,
			"file", filepath.Base(r.Source.Path), "duration", r.Duration)
	}
	return nil
}

// MigrateTo applies the migrations up to and including version, no further.
// `korebill bench` loads its accounts at a fixed schema version and then
// migrates the rest, as an upgrade of an existing database would.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	provider, err := db.migrationProvider(ctx)
	if err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	if _, err := provider.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	return nil
}

// MigrationVersion returns the newest applied migration and the newest
// embedded one.
func (db *DB) MigrationVersion(ctx context.Context) (current, latest int64, err error) {
	provider, err := db.migrationProvider(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migration version: %w", err)
	}
	current, latest, err = provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migration version: %w", err)
	}
	return current, latest, nil
}

func (db *DB) migrationProvider(ctx context.Context) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if db.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		var where string
		if err := db.db.QueryRowContext(ctx, "SELECT current_database() || '.' || coalesce(current_schema(), '')").Scan(&where); err != nil {
			return nil, err
		}
		h := fnv.New64a()
		h.Write([]byte("korebill-migrate:" + where))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, db.db, fsys, opts...)
}

// querier is what the unexported helpers need: satisfied by *sql.Tx and
// *sql.DB, so a helper runs inside the caller's transaction or on its own.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in one write transaction, with the time fixed for the whole
// transaction, and commits when fn returns nil.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx, now time.Time) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, op, "")
	}
	defer tx.Rollback()
	if err := fn(tx, db.now()); err != nil {
		return err
	}
	if err := db.fenceIdempotencyLease(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, op, "")
	}
	return nil
}

// inReadTx runs fn in a read-only transaction on the read pool, so that a
// page and its total count see the same snapshot; it takes no lock a writer
// needs.
func (db *DB) inReadTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbError(err, op, "")
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, op, "")
	}
	return nil
}

// forUpdate locks the selected rows on PostgreSQL. SQLite needs no row locks:
// a write transaction holds the database's one write lock from BEGIN.
func (db *DB) forUpdate() string {
	if db.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// pageLimit applies the default and maximum page sizes.
func pageLimit(limit, offset int) (int, int) {
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	return limit, max(offset, 0)
}

// args builds a positional argument list, returning each placeholder ($1,
// $2, …) as it is added; both engines accept the $N form.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// escapeLike escapes the LIKE wildcards of s for use with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
