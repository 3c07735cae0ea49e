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
