package store

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite parses every statement it is given (modernc.org/sqlite, pure
// Go, makes that a third of a billing run's time). Inside an engine
// transaction the statements that run once per row — inserts, updates,
// single-row reads — are prepared once per connection and kept: a billing
// run repeats the same few dozen statements for every account.
// PostgreSQL needs none of this: pgx caches prepared statements itself.

// maxCachedStmts bounds the cache; statements built with a varying shape
// (IN lists) beyond it run unprepared.
const maxCachedStmts = 500

type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s
	}
	if len(c.m) >= maxCachedStmts {
		return nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared; the error, if any, shows there
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = s
	return s
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}

// cachedTx runs a transaction's statements, prepared from the cache where
// it can. Queries that return rows run unprepared: a cached statement
// stepped by an open Rows must not be reset by the same query meanwhile.
type cachedTx struct {
	tx    *sql.Tx
	cache *stmtCache
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.cache.get(ctx, query); s != nil {
		return t.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.cache.get(ctx, query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}
