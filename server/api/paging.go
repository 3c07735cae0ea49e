package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// maxCursorLen bounds the cursor parameter.
const maxCursorLen = 512

// listPage is the time range and paging every list endpoint takes: since and until (unix
// milliseconds), limit (1-100, default 20) and the cursor of a previous page.
type listPage struct {
	since, until time.Time
	limit        int
	cursor       string
}

// readListPage parses a list request's since, until, limit and cursor parameters.
func readListPage(r *http.Request) (listPage, error) {
	var p listPage
	var err error
	if p.since, err = queryMillis(r, "since"); err != nil {
		return p, err
	}
	if p.until, err = queryMillis(r, "until"); err != nil {
		return p, err
	}
	if p.limit, err = queryLimit(r, 20); err != nil {
		return p, err
	}
	if p.cursor = r.URL.Query().Get("cursor"); len(p.cursor) > maxCursorLen {
		return p, badParam("cursor", "invalid")
	}
	return p, nil
}

// listError is what a store's list error means to the client: a cursor the store does not
// know is a bad parameter, anything else a database error.
func listError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return badParam("cursor", "invalid")
	}
	return fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
}
