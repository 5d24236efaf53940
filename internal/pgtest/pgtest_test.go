//go:build postgres

package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

func TestDatabasesAreRealAndSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("same database twice: %s", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if n != 0 {
			t.Fatalf("%s is not empty: %d tables", dsn, n)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (id int)"); err != nil {
			t.Fatal(err)
		}
	}
}
