package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/quality"
)

// QualityReports reads the quality of calls; server/quality.Service implements it.
type QualityReports interface {
	Report(ctx context.Context, app, callID string) (quality.Report, error)
	// PartiesOf sums up each call's samples per party, for the call records, in order.
	PartiesOf(ctx context.Context, app string, calls []quality.CallRef) ([]*quality.PartyQuality, error)
}

// QualityRoutes serves a call's quality timeline and summaries:
// GET /{org}/{app}/calls/{callId}/quality, with an app token. From then on call records
// (GET /{org}/{app}/calls and .../calls/{callId}) carry their parties' quality. Call it
// before serving.
func (a *API) QualityRoutes(mux *http.ServeMux, reports QualityReports) {
	a.quality = reports
	mux.Handle("GET /{org}/{app}/calls/{callId}/quality", a.serve(func(w http.ResponseWriter, r *http.Request, start time.Time) error {
		app, err := a.pathApp(r)
		if err != nil {
			return err
		}
		if _, err := a.authApp(r, app); err != nil {
			return err
		}
		id := r.PathValue("callId")
		if id == "" || len(id) > 64 {
			return newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeNotFound, "no such call")
		}
		rep, err := reports.Report(r.Context(), app.Key, id)
		if err != nil {
			return fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
		}
		writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/calls/"+id+"/quality", start, []quality.Report{rep}))
		return nil
	}))
}
