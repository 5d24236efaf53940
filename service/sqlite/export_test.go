package sqlite

import "context"

// RawQuery runs one query for tests that inspect or damage the file.
func RawQuery(ctx context.Context, d *DB, q string, into ...any) error {
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() && len(into) > 0 {
		if err := rows.Scan(into...); err != nil {
			return err
		}
	}
	return rows.Err()
}
