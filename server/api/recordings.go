package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// RecordingFiles reaches the files of recordings; server/recording.Service implements it.
type RecordingFiles interface {
	// Open opens a recording's file for reading.
	Open(r store.Recording) (*os.File, error)
	// Delete removes a recording's file and its row.
	Delete(ctx context.Context, r store.Recording) error
}

// RemoteFiles is implemented by RecordingFiles whose files may be on another node of a
// cluster (the node that owned the call when it was recorded).
type RemoteFiles interface {
	// Remote returns a handler that serves rec's download from the node that has its file,
	// or nil when no node has it. r is the download request (a forwarded request is never
	// forwarded again).
	Remote(r *http.Request, rec store.Recording) http.Handler
}

// Recording is one recorded file as the REST API shows it: a party's stream
// (ONLY_REC_ONE_AV) or the merged composite of the call (MERGE_ALL). Times are unix ms.
type Recording struct {
	ID            string `json:"id"`
	Owner         string `json:"owner"`
	CallID        string `json:"callId"`
	ServerVideoID string `json:"serverVideoId"`
	RecordType    string `json:"recordType"`
	Status        string `json:"status"`
	Detail        string `json:"detail,omitempty"`
	Begin         int64  `json:"begin"`
	End           int64  `json:"end"`
	Duration      int64  `json:"duration"` // milliseconds
	Size          int64  `json:"size"`     // bytes
	Width         int    `json:"width,omitempty"`
	Height        int    `json:"height,omitempty"`
	ExpireTime    int64  `json:"expireTime"`
	URL           string `json:"url,omitempty"` // the download, with the app token; "" while there is no file
}

// RecordingRoutes mounts the recording endpoints on mux. Every one needs an app token of
// the app in the path; recordings of other apps do not exist for it.
//
//	GET    /{org}/{app}/recordings?serverVideoId=&type=&since=&until=&cursor=&limit=
//	GET    /{org}/{app}/recordings/{id}
//	GET    /{org}/{app}/recordings/{id}/file   (HTTP Range supported)
//	DELETE /{org}/{app}/recordings/{id}
//	GET    /{org}/{app}/audio/{serverVideoId}  (Easemob's path: the call's recordings)
//
// The routes are not mounted when the API's store keeps no recordings.
func (a *API) RecordingRoutes(mux *http.ServeMux, files RecordingFiles) {
	rs, ok := a.st.(store.RecordingStore)
	if !ok || files == nil {
		return
	}
	h := &recordingHandlers{a: a, st: rs, files: files}
	for _, rt := range []route{
		{"GET /{org}/{app}/recordings", h.list},
		{"GET /{org}/{app}/recordings/{id}", h.get},
		{"GET /{org}/{app}/recordings/{id}/file", h.download},
		{"DELETE /{org}/{app}/recordings/{id}", h.delete},
		{"GET /{org}/{app}/audio/{confrId}", h.list},
	} {
		mux.Handle(rt.pattern, a.serve(rt.h))
	}
}

type recordingHandlers struct {
	a     *API
	st    store.RecordingStore
	files RecordingFiles
}

var errRecordingBusy = newHTTPError(http.StatusConflict, nameIllegalArgument, protocol.CodeUserIllegalArgument,
	"the recording is still being written")

func (h *recordingHandlers) auth(r *http.Request) (store.App, error) {
	app, err := h.a.pathApp(r)
	if err != nil {
		return store.App{}, err
	}
	if _, err := h.a.authApp(r, app); err != nil {
		return store.App{}, err
	}
	return app, nil
}

// one authenticates the request for its app and looks up the recording named by the path's
// id in that app: another app's recordings do not exist for it.
func (h *recordingHandlers) one(r *http.Request) (store.App, store.Recording, error) {
	app, err := h.auth(r)
	if err != nil {
		return app, store.Recording{}, err
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return app, store.Recording{}, newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeNotFound, "no such recording")
	}
	rec, err := h.st.GetRecording(r.Context(), app.Key, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return app, rec, newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeNotFound, "no such recording")
	case err != nil:
		return app, rec, fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
	}
	return app, rec, nil
}

func (h *recordingHandlers) list(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.auth(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.RecordingFilter{ServerVideoID: q.Get("serverVideoId"), RecordType: q.Get("type")}
	if c := r.PathValue("confrId"); c != "" {
		f.ServerVideoID = c
	}
	if len(f.ServerVideoID) > protocol.MaxServerVideoIDBytes {
		return badParam("serverVideoId", "longer than %d bytes", protocol.MaxServerVideoIDBytes)
	}
	if f.RecordType != "" && f.RecordType != store.RecordTypeStream && f.RecordType != store.RecordTypeMerged {
		return badParam("type", "must be %s or %s", store.RecordTypeStream, store.RecordTypeMerged)
	}
	p, err := readListPage(r)
	if err != nil {
		return err
	}
	f.Since, f.Until, f.Limit, f.Cursor = p.since, p.until, p.limit, p.cursor
	recs, next, err := h.st.ListRecordings(r.Context(), app.Key, f)
	if err != nil {
		return listError(err)
	}
	out := make([]Recording, len(recs))
	for i, rec := range recs {
		out[i] = recordingOf(r, app, rec)
	}
	resp := respond(h.a, r, app, "get", "/recordings", start, out)
	resp.Cursor = next
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (h *recordingHandlers) get(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, rec, err := h.one(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "get", "/recordings/"+rec.ID, start, []Recording{recordingOf(r, app, rec)}))
	return nil
}

// download serves the file with http.ServeContent: Range and If-Range requests get 206,
// HEAD-less clients can resume. A file still being written is served as it is now.
func (h *recordingHandlers) download(w http.ResponseWriter, r *http.Request, start time.Time) error {
	_, rec, err := h.one(r)
	if err != nil {
		return err
	}
	f, err := h.files.Open(rec)
	if err != nil {
		if rf, ok := h.files.(RemoteFiles); ok {
			if remote := rf.Remote(r, rec); remote != nil {
				remote.ServeHTTP(w, r)
				return nil
			}
		}
		return newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeNotFound, "the recording has no file")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "video/webm")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.webm"`, rec.ID))
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(&paceWriter{ResponseWriter: w, rc: http.NewResponseController(w)}, r, rec.ID+".webm", st.ModTime(), f)
	return nil
}

// downloadWriteIdle is how long one write of a download may take. A recording may take a
// phone longer to fetch than the server's WriteTimeout; it is cut only when it stalls.
const downloadWriteIdle = 60 * time.Second

// paceWriter moves the connection's write deadline forward before each write.
type paceWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w *paceWriter) Write(b []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(downloadWriteIdle)) // unsupported: keep the server's
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *paceWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (h *recordingHandlers) delete(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, rec, err := h.one(r)
	if err != nil {
		return err
	}
	if rec.Status == store.RecordingActive || rec.Status == store.RecordingMerging {
		return errRecordingBusy
	}
	if err := h.files.Delete(r.Context(), rec); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "delete failed"), err)
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "delete", "/recordings/"+rec.ID, start, []Recording{recordingOf(r, app, rec)}))
	return nil
}

func recordingOf(r *http.Request, app store.App, rec store.Recording) Recording {
	out := Recording{
		ID: rec.ID, Owner: rec.Owner, CallID: rec.CallID, ServerVideoID: rec.ServerVideoID,
		RecordType: rec.RecordType, Status: rec.Status, Detail: rec.Detail,
		Begin: msOf(rec.Begin), End: msOf(rec.End), Duration: rec.Duration.Milliseconds(), Size: rec.Size,
		Width: rec.Width, Height: rec.Height, ExpireTime: msOf(rec.Expires),
	}
	if rec.File != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		out.URL = scheme + "://" + r.Host + "/" + url.PathEscape(app.Org) + "/" + url.PathEscape(app.Name) +
			"/recordings/" + url.PathEscape(rec.ID) + "/file"
	}
	return out
}
