// Package storetest is the conformance suite of store.Backend: every store runs it (store/
// sqlite and store/postgres from their tests), so that they keep one behaviour, method for
// method: results, errors, ordering and paging, constraint violations, concurrent writers
// and the durability rules of CommitCalls.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// Run runs every case of the suite as a subtest, each on a fresh, empty store from open
// (which closes it when the subtest ends).
func Run(t *testing.T, open func(t *testing.T) store.Backend) {
	cases := []struct {
		name string
		test func(t *testing.T, s store.Backend)
	}{
		{"Apps", testApps},
		{"CreateUsersAllOrNothing", testCreateUsersAllOrNothing},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"ConcurrentUse", testConcurrentUse},
		{"ConcurrentCreateUsers", testConcurrentCreateUsers},
		{"SaveAndGetCall", testSaveAndGetCall},
		{"SaveCallsRollsBack", testSaveCallsRollsBack},
		{"ListCalls", testListCalls},
		{"CallServerVideoID", testCallServerVideoID},
		{"MessagesSeqAndIdempotency", testMessagesSeqAndIdempotency},
		{"ConcurrentAddMessage", testConcurrentAddMessage},
		{"ConcurrentResend", testConcurrentResend},
		{"PushBindings", testPushBindings},
		{"WebhookOutbox", testWebhookOutbox},
		{"Recordings", testRecordings},
		{"LiveCallsFieldForField", testLiveCallsFieldForField},
		{"CommitCallsSaveThenEnd", testCommitCallsSaveThenEnd},
		{"CommitCallsAtomic", testCommitCallsAtomic},
		{"CommitCallsCancelled", testCommitCallsCancelled},
		{"CommitCallsEmpty", testCommitCallsEmpty},
		{"SettingsFirstWriterWins", testSettingsFirstWriterWins},
		{"QualitySamples", testQualitySamples},
		{"QualitySummaries", testQualitySummaries},
		{"Contacts", testContacts},
		{"SearchUsers", testSearchUsers},
		{"PresencePolicy", testPresencePolicy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.test(t, open(t)) })
	}
}

// t0 is a fixed time with whole milliseconds, as the stores keep them.
var t0 = time.UnixMilli(1_760_000_000_000).UTC()

// CreateApp creates an app keyed key with every field set, failing the test on error.
func CreateApp(t testing.TB, s store.Backend, key string) store.App {
	t.Helper()
	a := store.App{Key: key, Org: "org", Name: key, ClientID: "id-" + key, ClientSecret: "secret-" + key,
		Registration: store.RegistrationOpen, Created: t0}
	if err := s.CreateApp(context.Background(), a); err != nil {
		t.Fatalf("CreateApp(%q): %v", key, err)
	}
	return a
}

// User makes an activated user of app with every field set.
func User(app, name string) store.User {
	return store.User{UUID: "uuid-" + app + "-" + name, App: app, Username: name, Nickname: "Nick " + name,
		PasswordHash: "$argon2id$x", Activated: true, Created: t0, Modified: t0}
}

// Call makes an ended call record with every field set, invited at at.
func Call(app, id, caller, callee string, at time.Time) store.CallRecord {
	return store.CallRecord{
		ID: id, App: app, Caller: caller, CallerDevice: "dev-" + caller, Callee: callee, CalleeDevice: "dev-" + callee,
		Type: 1, Ext: `{"k":"v"}`, Record: true, MergeStream: true,
		InvitedAt: at, RingingAt: at.Add(100 * time.Millisecond), ConnectedAt: at.Add(time.Second),
		AcceptedAt: at.Add(2 * time.Second), EndedAt: at.Add(time.Minute), EndReason: 0, EndedBy: caller, ConnectType: 1,
	}
}

func ids(calls []store.CallRecord) string {
	var s []string
	for _, c := range calls {
		s = append(s, c.ID)
	}
	return fmt.Sprint(s)
}

func msg(app, id, from, to, text string) store.Message {
	return store.Message{App: app, ID: id, From: from, FromDevice: "d1", To: to, Text: text, Created: t0}
}
