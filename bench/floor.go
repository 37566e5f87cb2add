package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// floorPrefix names the scratch copies of the tables the floor writes into.
const floorPrefix = "bench_floor_"

// mark is a table's size before the run: its row count and, when it has an
// integer id, the largest one.
type mark struct {
	count int64
	maxID int64
	hasID bool
}

// written is what the run added to one table.
type written struct {
	table string
	rows  int64
	where string // selects the run's rows of the table
}

// tables lists the database's tables (those of the schema under test on
// PostgreSQL), the bench's scratch copies left out.
func (c *conn) tables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if c.postgres() {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	rows, err := c.sql().QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(t, floorPrefix) {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

// marks records every table's size, before the run.
func (c *conn) marks(ctx context.Context) (map[string]mark, error) {
	ts, err := c.tables(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]mark{}
	for _, t := range ts {
		var m mark
		m.hasID, err = c.hasIntegerID(ctx, t)
		if err != nil {
			return nil, err
		}
		q := fmt.Sprintf("SELECT count(*), 0 FROM %s", t)
		if m.hasID {
			q = fmt.Sprintf("SELECT count(*), coalesce(max(id), 0) FROM %s", t)
		}
		if err := c.sql().QueryRowContext(ctx, q).Scan(&m.count, &m.maxID); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = m
	}
	return out, nil
}

func (c *conn) hasIntegerID(ctx context.Context, table string) (bool, error) {
	q := `SELECT count(*) FROM pragma_table_info($1) WHERE name = 'id' AND upper(type) = 'INTEGER'`
	if c.postgres() {
		q = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()
			AND table_name = $1 AND column_name = 'id' AND data_type IN ('bigint', 'integer')`
	}
	var n int
	if err := c.sql().QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		return false, fmt.Errorf("columns of %s: %w", table, err)
	}
	return n > 0, nil
}

// written compares the tables with their marks: the rows the run added.
// A table that had rows and has no integer id cannot tell its new rows from
// its old ones; it is reported and left out of the floor.
func (c *conn) written(ctx context.Context, before map[string]mark) (out []written, unknown []string, err error) {
	after, err := c.marks(ctx)
	if err != nil {
		return nil, nil, err
	}
	for t, a := range after {
		b := before[t]
		if a.count <= b.count {
			continue
		}
		w := written{table: t, rows: a.count - b.count, where: "true"}
		switch {
		case b.count == 0:
		case a.hasID:
			w.where = fmt.Sprintf("id > %d", b.maxID)
		default:
			unknown = append(unknown, t)
			continue
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].table < out[j].table })
	return out, unknown, nil
}

// floor writes the rows the run wrote again, by the fastest raw path, into
// scratch copies of their tables (same columns, constraints and indexes),
// and returns how long the writing took: one transaction of COPY FROM
// (binary) on PostgreSQL, one transaction of prepared multi-row INSERTs on
// SQLite. Reading the rows back is not timed. The copies are dropped after.
func (c *conn) floor(ctx context.Context, ws []written, tmpDir string) (time.Duration, error) {
	for _, w := range ws {
		if err := c.createScratch(ctx, w.table); err != nil {
			return 0, err
		}
	}
	defer c.dropScratch(context.WithoutCancel(ctx), ws)
	if c.postgres() {
		return c.floorPostgres(ctx, ws, tmpDir)
	}
	return c.floorSQLite(ctx, ws)
}

func (c *conn) createScratch(ctx context.Context, table string) error {
	scratch := floorPrefix + table
	if c.postgres() {
		_, err := c.sql().ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING ALL)", scratch, table))
		if err != nil {
			return fmt.Errorf("floor: copy table %s: %w", table, err)
		}
		return nil
	}
	// SQLite: the table's and its indexes' own DDL, renamed.
	rows, err := c.sql().QueryContext(ctx, `SELECT type, name, sql FROM sqlite_master
		WHERE tbl_name = $1 AND type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type = 'index'`, table)
	if err != nil {
		return fmt.Errorf("floor: schema of %s: %w", table, err)
	}
	var ddl []string
	for rows.Next() {
		var typ, name, s string
		if err := rows.Scan(&typ, &name, &s); err != nil {
			rows.Close()
			return err
		}
		if typ == "table" {
			re := regexp.MustCompile(`^CREATE TABLE\s+"?` + regexp.QuoteMeta(table) + `"?`)
			s = re.ReplaceAllString(s, "CREATE TABLE "+scratch)
		} else {
			re := regexp.MustCompile(`^CREATE (UNIQUE )?INDEX\s+"?` + regexp.QuoteMeta(name) + `"?\s+ON\s+"?` + regexp.QuoteMeta(table) + `"?`)
			s = re.ReplaceAllString(s, "CREATE ${1}INDEX "+floorPrefix+name+" ON "+scratch)
		}
		ddl = append(ddl, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range ddl {
		if _, err := c.sql().ExecContext(ctx, s); err != nil {
			return fmt.Errorf("floor: copy table %s: %s: %w", table, s, err)
		}
	}
	return nil
}

func (c *conn) dropScratch(ctx context.Context, ws []written) {
	for _, w := range ws {
		_, _ = c.sql().ExecContext(ctx, "DROP TABLE IF EXISTS "+floorPrefix+w.table)
	}
}

// floorPostgres copies the run's rows out (binary COPY to a file, not
// timed) and then, timed, into the scratch tables in one transaction.
func (c *conn) floorPostgres(ctx context.Context, ws []written, tmpDir string) (time.Duration, error) {
	files := make([]string, len(ws))
	for i, w := range ws {
		f, err := os.CreateTemp(tmpDir, "floor-*.copy")
		if err != nil {
			return 0, err
		}
		files[i] = f.Name()
		bw := bufio.NewWriterSize(f, 1<<20)
		_, err = c.pg.PgConn().CopyTo(ctx, bw, fmt.Sprintf("COPY (SELECT * FROM %s WHERE %s) TO STDOUT (FORMAT binary)", w.table, w.where))
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("floor: read %s: %w", w.table, err)
		}
	}
	defer func() {
		for _, f := range files {
			os.Remove(f)
		}
	}()
	start := time.Now()
	tx, err := c.pg.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for i, w := range ws {
		f, err := os.Open(files[i])
		if err != nil {
			return 0, err
		}
		_, err = c.pg.PgConn().CopyFrom(ctx, bufio.NewReaderSize(f, 1<<20), fmt.Sprintf("COPY %s FROM STDIN (FORMAT binary)", floorPrefix+w.table))
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("floor: write %s: %w", w.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("floor: commit: %w", err)
	}
	return time.Since(start), nil
}

// floorSQLite reads the run's rows in chunks (not timed) and writes each
// chunk, timed, with prepared multi-row INSERTs, all in one transaction.
func (c *conn) floorSQLite(ctx context.Context, ws []written) (time.Duration, error) {
	const chunk = 5000
	var spent time.Duration
	timed := func(f func() error) error {
		t := time.Now()
		err := f()
		spent += time.Since(t)
		return err
	}
	var tx *sql.Tx
	if err := timed(func() (err error) { tx, err = c.sql().BeginTx(ctx, nil); return err }); err != nil {
		return 0, err
	}
	defer tx.Rollback()
	sc := stmtCache{}
	defer sc.close()
	for _, w := range ws {
		// Read through the transaction's own connection: SQLite has one writer.
		rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %s WHERE %s", w.table, w.where))
		if err != nil {
			return 0, fmt.Errorf("floor: read %s: %w", w.table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return 0, err
		}
		var batch [][]any
		for {
			batch = batch[:0]
			for len(batch) < chunk && rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return 0, err
				}
				batch = append(batch, vals)
			}
			if len(batch) == 0 {
				break
			}
			// The reading cursor stays open on the same connection while
			// the chunk is written: SQLite allows it, and it is how a single
			// connection streams a table.
			if err := timed(func() error { return sc.insert(ctx, tx, floorPrefix+w.table, cols, batch) }); err != nil {
				rows.Close()
				return 0, fmt.Errorf("floor: write %s: %w", w.table, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	if err := timed(tx.Commit); err != nil {
		return 0, fmt.Errorf("floor: commit: %w", err)
	}
	return spent, nil
}
