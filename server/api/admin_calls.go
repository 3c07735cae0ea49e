package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// LiveCall is a call in progress as the admin API shows it. Times are unix ms (0: not yet).
type LiveCall struct {
	ID           string `json:"callId"`
	Caller       string `json:"caller"`
	CallerDevice string `json:"callerDevice"`
	Callee       string `json:"callee"`
	CalleeDevice string `json:"calleeDevice,omitempty"` // the answering device, once answered
	Type         int    `json:"type"`
	TypeName     string `json:"typeName"`
	State        string `json:"state"` // "ringing" or "accepted"
	Record       bool   `json:"record"`
	InvitedAt    int64  `json:"invitedAt"`
	AcceptedAt   int64  `json:"acceptedAt"`
	ConnectedAt  int64  `json:"connectedAt"`
	ConnectType  int    `json:"connectType"`
}

// LiveCalls lists and ends the calls in progress; the server implements it (on a node of a
// cluster, ending goes to the call's owner).
type LiveCalls interface {
	LiveCalls(ctx context.Context, app string) ([]LiveCall, error)
	EndCall(ctx context.Context, app, callID string, reason protocol.EndReason) error
}

// LiveCallRoutes serves the operator's view of calls in progress:
//
//	GET    /admin/v1/apps/{org}/{app}/calls/live            the app's live calls, oldest first
//	DELETE /admin/v1/apps/{org}/{app}/calls/{callId}?reason= ends one (reason 103, default, or 9)
func (a *API) LiveCallRoutes(mux *http.ServeMux, calls LiveCalls) {
	mux.Handle("GET /admin/v1/apps/{org}/{app}/calls/live", a.serve(func(w http.ResponseWriter, r *http.Request, start time.Time) error {
		app, err := a.adminApp(r)
		if err != nil {
			return err
		}
		list, err := calls.LiveCalls(r.Context(), app.Key)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/calls/live", start, list))
		return nil
	}))
	mux.Handle("DELETE /admin/v1/apps/{org}/{app}/calls/{callId}", a.serve(func(w http.ResponseWriter, r *http.Request, start time.Time) error {
		app, err := a.adminApp(r)
		if err != nil {
			return err
		}
		reason := protocol.EndServiceForbidden
		if v := r.URL.Query().Get("reason"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return withStatus(protocol.NewError(protocol.CodeUserIllegalArgument, "reason must be 9 or 103"), http.StatusBadRequest, nameIllegalArgument)
			}
			reason = protocol.EndReason(n)
		}
		id := r.PathValue("callId")
		switch err := calls.EndCall(r.Context(), app.Key, id, reason); protocol.CodeOf(err) {
		case 0:
		case protocol.CodeCallInvalidID:
			return newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeCallInvalidID, "no such call in progress")
		case protocol.CodeUserIllegalArgument:
			return withStatus(err, http.StatusBadRequest, nameIllegalArgument)
		default:
			return err
		}
		writeJSON(w, http.StatusOK, respond(a, r, app, "delete", "/calls/"+id, start, []map[string]any{{"callId": id, "reason": int(reason)}}))
		return nil
	}))
}
