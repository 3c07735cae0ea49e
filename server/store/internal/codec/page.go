package codec

// Page sizes of the listings that page by cursor (calls, recordings).
const (
	DefaultPage = 20
	MaxPage     = 100
)

// PageLimit returns the page size for a requested limit: DefaultPage for none (0 or
// less), at most MaxPage.
func PageLimit(limit int) int {
	if limit <= 0 {
		return DefaultPage
	}
	return min(limit, MaxPage)
}

// NextPage trims rows, read with a limit of limit+1, to limit and returns the cursor of the
// next page: the position (at, id) of the page's last row, "" when there is no more.
func NextPage[T any](rows []T, limit int, key func(T) (at int64, id string)) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, EncodeCursor(key(rows[limit-1]))
}
