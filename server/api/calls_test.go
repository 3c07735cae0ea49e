package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

func TestListCalls(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice", "bob", "carol")
	var recs []store.CallRecord
	for i := range 6 {
		caller, callee := "alice", "bob"
		if i%3 == 2 {
			caller, callee = "carol", "bob"
		}
		at := start.Add(time.Duration(i) * time.Second)
		recs = append(recs, store.CallRecord{ID: fmt.Sprintf("c%d", i), App: "o#open", Caller: caller, CallerDevice: "d1",
			Callee: callee, CalleeDevice: "d2", Type: 1, Ext: "x", Record: true, InvitedAt: at, RingingAt: at.Add(time.Millisecond),
			EndedAt: at.Add(time.Minute), EndReason: 2, EndedBy: caller, ConnectType: 1})
	}
	recs = append(recs, store.CallRecord{ID: "x0", App: "o#other", Caller: "alice", Callee: "bob", InvitedAt: start})
	if err := e.st.SaveCalls(e.ctx, recs); err != nil {
		t.Fatal(err)
	}
	app := e.appToken(e.open, 0)

	list := func(query, token string) (ids []string, pages int) {
		t.Helper()
		path := "/o/open/calls" + query
		for {
			var resp Response[Call]
			e.ok(http.MethodGet, path, token, nil, &resp)
			pages++
			for _, c := range resp.Entities {
				ids = append(ids, c.ID)
			}
			if resp.Cursor == "" || pages > 10 {
				return ids, pages
			}
			sep := "?"
			if query != "" {
				sep = "&"
			}
			path = "/o/open/calls" + query + sep + "cursor=" + resp.Cursor
		}
	}
	for _, tc := range []struct {
		query, token string
		want         string
		pages        int
	}{
		{"", app, "[c5 c4 c3 c2 c1 c0]", 1},
		{"?limit=4", app, "[c5 c4 c3 c2 c1 c0]", 2},
		{"?user=CAROL", app, "[c5 c2]", 1},
		{fmt.Sprintf("?since=%d&until=%d", start.Add(time.Second).UnixMilli(), start.Add(4*time.Second).UnixMilli()), app, "[c3 c2 c1]", 1},
		{"?limit=1", e.userToken(e.open, "carol"), "[c5 c2]", 2},
		{"?user=carol", e.userToken(e.open, "carol"), "[c5 c2]", 1},
	} {
		ids, pages := list(tc.query, tc.token)
		if fmt.Sprint(ids) != tc.want || pages != tc.pages {
			t.Errorf("calls%s: %v in %d pages; want %s in %d", tc.query, ids, pages, tc.want, tc.pages)
		}
	}

	var resp Response[Call]
	e.ok(http.MethodGet, "/o/open/calls?limit=1", app, nil, &resp)
	c := resp.Entities[0]
	want := Call{ID: "c5", Caller: "carol", CallerDevice: "d1", Callee: "bob", CalleeDevice: "d2", Type: 1, Ext: "x", Record: true,
		InvitedAt: start.Add(5 * time.Second).UnixMilli(), RingingAt: start.Add(5*time.Second + time.Millisecond).UnixMilli(),
		EndedAt: start.Add(5*time.Second + time.Minute).UnixMilli(), EndReason: 2, EndedBy: "carol", ConnectType: 1}
	if c != want || resp.Action != "get" || resp.Path != "/calls" || resp.Count != 1 || resp.Cursor == "" {
		t.Errorf("call %+v in %+v; want %+v", c, resp, want)
	}

	for _, tc := range []struct {
		name, query, token string
		status             int
		code               protocol.ErrorCode
	}{
		{"no token", "", "", 401, protocol.CodeInvalidToken},
		{"other app's token", "", e.appToken(e.other, 0), 401, protocol.CodeInvalidToken},
		{"user token for another user", "?user=alice", e.userToken(e.open, "carol"), 403, protocol.CodeServerForbidden},
		{"bad user", "?user=a%20b", app, 400, protocol.CodeInvalidUsername},
		{"bad since", "?since=yesterday", app, 400, protocol.CodeUserIllegalArgument},
		{"negative until", "?until=-5", app, 400, protocol.CodeUserIllegalArgument},
		{"limit 0", "?limit=0", app, 400, protocol.CodeUserIllegalArgument},
		{"limit 101", "?limit=101", app, 400, protocol.CodeUserIllegalArgument},
		{"bad cursor", "?cursor=garbage", app, 400, protocol.CodeUserIllegalArgument},
		{"huge cursor", "?cursor=" + strings.Repeat("a", 600), app, 400, protocol.CodeUserIllegalArgument},
	} {
		e.fail(tc.name, http.MethodGet, "/o/open/calls"+tc.query, tc.token, nil, tc.status, tc.code, "")
	}
}
