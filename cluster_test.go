package duet_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/internal/natstest"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/cluster"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// This file runs duet as a cluster the way an operator would: three NATS servers (with
// JetStream, routed), one PostgreSQL database and three `duet server --cluster` nodes, all
// separate processes on loopback. Tests kill nodes and NATS servers with SIGKILL.

// testCluster is a running cluster.
type testCluster struct {
	t     *testing.T
	nats  *natstest.Cluster
	nodes []*serverProcess
}

// nodeHealth is a node's /healthz.
type nodeHealth struct {
	Status     string `json:"status"`
	Calls      int    `json:"calls"`
	Node       string `json:"node"`
	Partitions []int  `json:"partitions"`
	Peers      int    `json:"peers"`
}

// startTestCluster starts NATS, then the nodes one by one, and waits until every partition
// has an owner.
func startTestCluster(t *testing.T, flags ...string) *testCluster {
	t.Helper()
	db := pgtest.URL(t) // skips without DUET_TEST_POSTGRES
	c := &testCluster{t: t, nats: natstest.Start(t, 3)}
	urls := strings.Join(c.nats.URLs(), ",")
	for i := range 3 {
		id := fmt.Sprint("n", i+1)
		p := newServerProcess(t, serverStore{name: id, url: db},
			append([]string{"--cluster", urls, "--node-id", id, "--secret-key", "one key for every node of the test cluster"}, flags...)...)
		p.start()
		c.nodes = append(c.nodes, p)
	}
	c.waitOwned(15 * time.Second)
	return c
}

// health reads node i's /healthz; ok is false when it does not answer 200.
func (c *testCluster) health(i int) (nodeHealth, bool) {
	var h nodeHealth
	if c.nodes[i].cmd == nil {
		return h, false
	}
	resp, err := noKeepAlive.Get(c.nodes[i].url() + "/healthz")
	if err != nil {
		return h, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return h, false
	}
	return h, true
}

// owners maps each partition to the nodes (indexes) that say they own it.
func (c *testCluster) owners() map[int][]int {
	out := map[int][]int{}
	for i := range c.nodes {
		if h, ok := c.health(i); ok {
			for _, p := range h.Partitions {
				out[p] = append(out[p], i)
			}
		}
	}
	return out
}

// waitOwned waits until every partition has exactly one owner among the running nodes.
func (c *testCluster) waitOwned(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		own := c.owners()
		ok := len(own) == cluster.DefaultPartitions
		for _, nodes := range own {
			ok = ok && len(nodes) == 1
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("partitions not owned once each within %v: %v", within, own)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ownerOf returns the node that owns app's calls.
func (c *testCluster) ownerOf(app string) int {
	c.t.Helper()
	nodes := c.owners()[cluster.Partition(app, cluster.DefaultPartitions)]
	if len(nodes) != 1 {
		c.t.Fatalf("app %s's partition has owners %v", app, nodes)
	}
	return nodes[0]
}

// others returns the node indexes other than skip, in order.
func others(skip int) []int {
	var out []int
	for i := range 3 {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}

// TestClusterCall is the cluster's end-to-end test. The caller is on one node, the callee's
// two devices on the other two (one of them the node that owns the app's calls): both ring,
// one answers, the other is answered elsewhere, media flows. Busy works across nodes, and a
// text message reaches each of the callee's devices exactly once. Then the owner node is
// killed (the call goes on and another node takes it over from the store), the answering
// device's node is killed and started again (the device comes back and the call resumes),
// and one NATS server is killed. The call then ends Hangup on both sides with one record,
// and its webhook events all arrive, in order; the parties reported quality throughout, to
// whichever node owned the call, and the record and the call.ended webhook (sent by the
// node that took the call over) carry both parties' summaries.
func TestClusterCall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	leaktest.Check(t)
	c := startTestCluster(t, append(restartFlags(20*time.Second, 10*time.Second),
		"--webhook-min-backoff", "100ms", "--webhook-max-backoff", "1s")...)
	const secret = "cluster-webhook-secret"
	hooks, hookSrv := newHookLog(t, secret)
	if _, err := c.nodes[0].admin().SetWebhook(ctxT(t), processAppKey, hookSrv.URL, secret); err != nil {
		t.Fatal(err)
	}
	owner := c.ownerOf(processAppKey)
	rest := others(owner)
	callerNode, phoneNode := rest[0], rest[1]
	t.Logf("owner n%d; alice on n%d, bob-phone on n%d, bob-tablet on n%d", owner+1, callerNode+1, phoneNode+1, owner+1)

	alice, recA := newClientAt(t, processAppKey, c.nodes[callerNode].url(), "alice", device("alice-phone"))
	phone, recP := newClientAt(t, processAppKey, c.nodes[phoneNode].url(), "bob", device("bob-phone"))
	tablet, recT := newClientAt(t, processAppKey, c.nodes[owner].url(), "bob", device("bob-tablet"))
	carol, recC := newClientAt(t, processAppKey, c.nodes[owner].url(), "carol", device("carol-phone"))
	dave, _ := newClientAt(t, processAppKey, c.nodes[callerNode].url(), "dave", device("dave-phone"))
	cs := counters(countingMedia(alice), countingMedia(phone))
	parties := map[string]*recorder{"alice": recA, "bob": recP}
	waitDeviceSeen(t, c.nodes[owner], "bob", "bob-phone") // or the invite rings the tablet only
	reporting := duet.DefaultCallOptions()
	reporting.EnableReportQuality = true
	for _, cl := range []*duet.Client{alice, phone} {
		if err := cl.CallManager().SetCallOptions(reporting); err != nil {
			t.Fatal(err)
		}
	}

	out, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	id := out.CallID()
	in := recP.wait(t, "receive").session
	if got := recT.wait(t, "receive").session.CallID(); got != id {
		t.Fatalf("the tablet rang for %s, want %s", got, id)
	}
	recA.wait(t, "connect")
	if err := phone.CallManager().AnswerIncomingCall(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "accept")
	recP.wait(t, "accept")
	if e := recT.wait(t, "end"); e.reason != duet.EndReasonAnsweredElsewhere {
		t.Fatalf("the tablet's end reason %v, want AnsweredElsewhere", e.reason)
	}
	waitGrowth(t, "after the answer", cs, 20, 10*time.Second, parties)

	// Busy across nodes: carol (on the owner) calls bob, who is in alice's call.
	if _, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if e := recC.wait(t, "end"); e.reason != duet.EndReasonBusy {
		t.Fatalf("carol's end reason %v, want Busy", e.reason)
	}

	// A text message from dave (on alice's node) to bob, whose devices are on the other two.
	boxP, boxT := &msgLog{count: map[string]int{}}, &msgLog{count: map[string]int{}}
	phone.ChatManager().AddDelegate(boxP, nil)
	tablet.ChatManager().AddDelegate(boxT, nil)
	m, err := dave.ChatManager().SendMessage(ctxT(t), "bob", "across the cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	key := "dave/" + m.ID
	waitUntil(t, "the message on both of bob's devices", func() bool {
		return boxP.deliveries(key) >= 1 && boxT.deliveries(key) >= 1
	})
	time.Sleep(300 * time.Millisecond) // asserting an absence: no second delivery follows
	if p, tb := boxP.deliveries(key), boxT.deliveries(key); p != 1 || tb != 1 {
		t.Fatalf("the message reached bob's phone %d and tablet %d times, want once each", p, tb)
	}

	// The parties report quality to the owner (bob from another node, through it).
	reported := waitQualitySamples(t, c.nodes[callerNode], id, map[string]int{"alice": 1, "bob": 1})

	// The owner dies. Media is peer to peer; another node takes the call over.
	beforeA, beforeP := recA.callEvents(), recP.callEvents()
	killedAt := time.Now()
	c.nodes[owner].kill()
	waitGrowth(t, "after the owner's death", cs, 20, 10*time.Second, parties)
	newOwner := waitNewOwner(t, c, processAppKey, owner, 10*time.Second)
	t.Logf("the owner's partition was taken over by n%d %v after the kill", newOwner+1, time.Since(killedAt).Round(time.Millisecond))
	expectResumed(t, "alice", alice, recA, out, id, beforeA, duet.CallStatusAccepted)
	expectResumed(t, "bob", phone, recP, in, id, beforeP, duet.CallStatusAccepted)

	// The answering device's node dies and comes back: bob reconnects and the call resumes.
	c.nodes[phoneNode].kill()
	waitGrowth(t, "while bob's node is down", cs, 10, 5*time.Second, parties)
	c.nodes[phoneNode].start()
	waitConnected(t, phone)
	waitGrowth(t, "after bob's node came back", cs, 20, 10*time.Second, parties)
	expectResumed(t, "alice", alice, recA, out, id, beforeA, duet.CallStatusAccepted)
	expectResumed(t, "bob", phone, recP, in, id, beforeP, duet.CallStatusAccepted)

	// One NATS server dies: the nodes move to the others.
	c.nats.Kill(0)
	waitGrowth(t, "after a NATS server died", cs, 20, 10*time.Second, parties)
	// Both report on to the new owner.
	reported = waitQualitySamples(t, c.nodes[callerNode], id, map[string]int{"alice": reported["alice"] + 1, "bob": reported["bob"] + 1})

	// Hang up: through the cluster, after all of that.
	if err := alice.CallManager().EndCall(ctxT(t), id, duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recP.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's end reason %v, want Hangup", e.reason)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("alice's end reason %v, want Hangup", e.reason)
	}
	rec := onlyRecord(t, c.nodes[callerNode], id)
	if rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" || rec.CalleeDevice != "bob-phone" ||
		rec.AcceptedAt == 0 || rec.AcceptedAt > ms(killedAt) {
		t.Fatalf("call record %+v", rec)
	}
	deadline := time.Now().Add(15 * time.Second)
	for hooks.check(id) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := hooks.check(id); err != nil {
		t.Fatalf("webhooks: %v", err)
	}
	checkClusterQuality(t, rec, hooks, id, reported)
}

// waitQualitySamples waits until each user has reported at least want[user] quality samples
// of call id (one every 2 s), read through node p, and returns the counts.
func waitQualitySamples(t *testing.T, p *serverProcess, id string, want map[string]int) map[string]int {
	t.Helper()
	var got map[string]int
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err = p.qualitySamples(ctxT(t), id)
		enough := err == nil
		for user, n := range want {
			enough = enough && got[user] >= n
		}
		if enough {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("quality samples of %s: %v (%v), want at least %v", id, got, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkClusterQuality: the record of a call that outlived its owner, and its call.ended
// webhook (sent by the new owner), carry both parties' quality: at least the samples stored
// before the end, by both owners (a sample still on its way at the end is only in the
// record).
func checkClusterQuality(t *testing.T, rec api.Call, hooks *hookLog, id string, reported map[string]int) {
	t.Helper()
	q := rec.Quality
	if q == nil || q.Caller == nil || q.Callee == nil || q.Caller.Samples < reported["alice"] || q.Callee.Samples < reported["bob"] {
		t.Fatalf("the record's quality %+v; stored before the end: %v", q, reported)
	}
	ended, ok := hooks.ended(id)
	if !ok || ended.Data.Record == nil {
		t.Fatal("no call.ended webhook with a record")
	}
	wq := ended.Data.Record.Quality
	if wq == nil || wq.Caller == nil || wq.Callee == nil || wq.Caller.Samples < reported["alice"] || wq.Callee.Samples < reported["bob"] {
		t.Fatalf("the call.ended webhook's quality %+v, the record's %+v", wq, q)
	}
	t.Logf("quality: caller %d samples (MOS %.2f), callee %d (MOS %.2f); webhook %d / %d",
		q.Caller.Samples, q.Caller.MOS, q.Callee.Samples, q.Callee.MOS, wq.Caller.Samples, wq.Callee.Samples)
}

// waitDeviceSeen waits until node p lists user's device as connected (admin API): a device
// that logged in on another node reaches the others' replicas a moment later, and a call
// placed before the owner heard of the callee would find them offline.
func waitDeviceSeen(t *testing.T, p *serverProcess, user, device string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s's %s seen by %s", user, device, p.url()), func() bool {
		page, err := getEntities[json.RawMessage](ctxT(t), p, "/admin/v1/apps"+appPath("/users/"+user+"/devices"), processAdminToken)
		if err != nil {
			return false
		}
		for _, e := range page.Entities {
			if bytes.Contains(e, []byte(`"`+device+`"`)) {
				return true
			}
		}
		return false
	})
}

// waitNewOwner waits until a node other than old owns app's partition and returns it.
func waitNewOwner(t *testing.T, c *testCluster, app string, old int, within time.Duration) int {
	t.Helper()
	p := cluster.Partition(app, cluster.DefaultPartitions)
	deadline := time.Now().Add(within)
	for {
		if nodes := c.owners()[p]; len(nodes) == 1 && nodes[0] != old {
			return nodes[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node took partition %d over within %v: %v", p, within, c.owners())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterFailoverTime measures how long a call owner takes to fail over, as a process
// test (its nodes are processes that are killed): the node that owns the demo app's
// partition is SIGKILLed and the clock runs until another node serves that partition (its
// /healthz lists it). The killed node is started again between rounds, untimed.
// DUET_FAILOVER_ROUNDS sets the rounds (default 3); the log gives each and the median.
func TestClusterFailoverTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	c := startTestCluster(t)
	rounds := envInt("DUET_FAILOVER_ROUNDS", 3)
	var took []time.Duration
	for range rounds {
		owner := c.ownerOf(processAppKey)
		killed := time.Now()
		c.nodes[owner].kill()
		waitNewOwner(t, c, processAppKey, owner, 10*time.Second)
		took = append(took, time.Since(killed))
		c.nodes[owner].start()
		c.waitOwned(15 * time.Second)
	}
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	t.Logf("owner failover (kill → another node serves the partition; heartbeat 500 ms): %v, median %v",
		took, sorted[len(sorted)/2].Round(time.Millisecond))
}

// TestClusterRecordedCall: a recorded call between parties on two nodes runs its relay on
// the node that owns the call (the third one here); media flows both ways through it, and
// after the hang-up the recordings are listed, and downloaded, through the other nodes.
func TestClusterRecordedCall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	leaktest.Check(t)
	c := startTestCluster(t)
	owner := c.ownerOf(processAppKey)
	rest := others(owner)
	call := answeredRecordedCall(t, c, owner, rest)
	alice, recB, out := call.alice, call.recB, call.out
	svid := out.ServerVideoID()
	if svid == "" || out.ConnectType() != duet.ConnectTypeRelay {
		t.Fatalf("serverVideoId %q, connect type %v; want a relayed call", svid, out.ConnectType())
	}
	if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "end")
	for _, i := range rest {
		rc := c.recordings(t, i)
		var all []api.Recording
		waitUntil(t, fmt.Sprintf("the recordings listed through n%d", i+1), func() bool {
			var err error
			all, _, err = rc.List(ctxT(t), api.RecordingQuery{ServerVideoID: svid, Type: store.RecordTypeStream})
			done := err == nil && len(all) == 2
			for _, r := range all {
				done = done && r.Status != store.RecordingActive
			}
			return done
		})
		for _, r := range all {
			var buf bytes.Buffer
			n, err := rc.Download(ctxT(t), r.ID, 0, &buf)
			if err != nil || n != r.Size || n == 0 {
				t.Fatalf("download of %s (%d bytes) through n%d: %d bytes, %v", r.ID, r.Size, i+1, n, err)
			}
		}
	}
}

// recordings returns a recording client of node i, with an app token of the demo app.
func (c *testCluster) recordings(t *testing.T, i int) *api.RecordingClient {
	t.Helper()
	tok, err := c.nodes[i].admin().AppToken(ctxT(t), processAppKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &api.RecordingClient{BaseURL: c.nodes[i].url(), AppKey: processAppKey, Token: tok.AccessToken, HTTP: noKeepAlive}
}

// TestClusterChatInOrder: a stream of text messages sent through one node to a user whose
// two devices are on the other two reaches each device exactly once and in order, while the
// node of one of them is killed and started again mid-stream.
func TestClusterChatInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	leaktest.Check(t)
	c := startTestCluster(t)
	dave, _ := newClientAt(t, processAppKey, c.nodes[0].url(), "dave", device("dave-phone"))
	phone, _ := newClientAt(t, processAppKey, c.nodes[1].url(), "bob", device("bob-phone"))
	tablet, _ := newClientAt(t, processAppKey, c.nodes[2].url(), "bob", device("bob-tablet"))
	boxP, boxT := newInbox(), newInbox()
	phone.ChatManager().AddDelegate(boxP, nil)
	tablet.ChatManager().AddDelegate(boxT, nil)
	const n = 60
	var want []string
	for i := range n {
		if i == n/3 {
			c.nodes[2].kill() // the tablet's node
		}
		if i == 2*n/3 {
			c.nodes[2].start()
		}
		text := fmt.Sprintf("m%02d", i)
		if _, err := dave.ChatManager().SendMessage(ctxT(t), "bob", text, nil); err != nil {
			t.Fatalf("send %s: %v", text, err)
		}
		want = append(want, text)
	}
	for name, box := range map[string]*inbox{"phone": boxP, "tablet": boxT} {
		var got []string
		for _, m := range box.waitN(t, n) {
			got = append(got, m.Text)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("bob's %s got %v, want each of %d messages once, in order", name, got, n)
		}
		box.none(t, 300*time.Millisecond)
	}
}

// TestClusterRollingRestart is a deploy: every node in turn is stopped with SIGTERM (it
// drains: goodbye to its devices, its partitions handed over) and started again, while a
// call between parties on two of them goes on. The call survives every step without a
// callback, and ends Hangup with one record.
func TestClusterRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	leaktest.Check(t)
	c := startTestCluster(t, restartFlags(20*time.Second, 10*time.Second)...)
	alice, recA := newClientAt(t, processAppKey, c.nodes[0].url(), "alice", device("alice-phone"))
	bob, recB := newClientAt(t, processAppKey, c.nodes[1].url(), "bob", device("bob-phone"))
	cs := counters(countingMedia(alice), countingMedia(bob))
	parties := map[string]*recorder{"alice": recA, "bob": recB}
	out, in := answeredCallOfType(t, duet.CallTypeVideo, alice, recA, bob, recB, "bob")
	id := out.CallID()
	waitGrowth(t, "before the deploy", cs, 20, 10*time.Second, parties)
	beforeA, beforeB := recA.callEvents(), recB.callEvents()
	for i := range c.nodes {
		if err := c.nodes[i].stop(syscall.SIGTERM); err != nil {
			t.Fatalf("n%d after SIGTERM: %v, want exit status 0", i+1, err)
		}
		c.nodes[i].start()
		c.waitOwned(15 * time.Second)
		waitConnected(t, alice)
		waitConnected(t, bob)
		waitGrowth(t, fmt.Sprintf("after n%d's restart", i+1), cs, 20, 10*time.Second, parties)
		expectResumed(t, "alice", alice, recA, out, id, beforeA, duet.CallStatusAccepted)
		expectResumed(t, "bob", bob, recB, in, id, beforeB, duet.CallStatusAccepted)
	}
	if err := bob.CallManager().EndCall(ctxT(t), id, duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("alice's end reason %v, want Hangup", e.reason)
	}
	if rec := onlyRecord(t, c.nodes[2], id); rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "bob" {
		t.Fatalf("call record %+v", rec)
	}
}

// recordedClusterCall is a recorded video call between alice and bob on two nodes, answered,
// with media flowing through the owner's relay.
type recordedClusterCall struct {
	alice      *duet.Client
	recA, recB *recorder
	out, in    *duet.CallSession
	cs         map[string]*media.FrameCounter
	parties    map[string]*recorder
}

// answeredRecordedCall logs alice in on rest[0] and bob on rest[1], waits until the owner has
// heard of bob's device, and has alice call bob recorded; bob answers and media flows.
func answeredRecordedCall(t *testing.T, c *testCluster, owner int, rest []int) recordedClusterCall {
	t.Helper()
	alice, recA := newClientAt(t, processAppKey, c.nodes[rest[0]].url(), "alice", device("alice-phone"))
	bob, recB := newClientAt(t, processAppKey, c.nodes[rest[1]].url(), "bob", device("bob-phone"))
	cs := counters(countingMedia(alice), countingMedia(bob))
	parties := map[string]*recorder{"alice": recA, "bob": recB}
	waitDeviceSeen(t, c.nodes[owner], "bob", "bob-phone")
	out, in := answeredCallOfType(t, duet.CallTypeVideo, alice, recA, bob, recB, "bob", duet.WithRecord(false))
	waitGrowth(t, "through the owner's relay", cs, 30, 15*time.Second, parties)
	return recordedClusterCall{alice: alice, recA: recA, recB: recB, out: out, in: in, cs: cs, parties: parties}
}

// TestClusterRecordedCallOwnerDies: the node that owns a recorded call, and runs its relay,
// is SIGKILLed mid-call. The node that takes the call over tells both devices (on the other
// two nodes, whose connections never dropped) that the relay moved (call.relay); they offer
// their relay legs to it, media flows both ways through it, and the call ends normally.
// The new owner records the rest of the call: after the hang-up its recordings of the call
// are ready and download through the other node.
func TestClusterRecordedCallOwnerDies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	leaktest.Check(t)
	c := startTestCluster(t)
	owner := c.ownerOf(processAppKey)
	rest := others(owner)
	call := answeredRecordedCall(t, c, owner, rest)
	alice, recA, recB, out, in, cs, parties := call.alice, call.recA, call.recB, call.out, call.in, call.cs, call.parties
	svid := out.ServerVideoID()

	killed := time.Now()
	c.nodes[owner].kill()
	newOwner := waitNewOwner(t, c, processAppKey, owner, 10*time.Second)
	waitGrowth(t, "through the new owner's relay", cs, 30, 15*time.Second, parties)
	t.Logf("n%d took the call over; media flowed again through its relay %v after the kill",
		newOwner+1, time.Since(killed).Round(time.Millisecond))
	if recA.has("end") || recB.has("end") || out.Status() != duet.CallStatusAccepted || in.Status() != duet.CallStatusAccepted {
		t.Fatalf("the owner's death ended something: %v / %v", recA.names(), recB.names())
	}
	if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	other := rest[0]
	if other == newOwner {
		other = rest[1]
	}
	rc := c.recordings(t, other)
	var ready []api.Recording
	waitUntil(t, "the new owner's recordings, ready", func() bool {
		all, _, err := rc.List(ctxT(t), api.RecordingQuery{ServerVideoID: svid, Type: store.RecordTypeStream})
		ready = ready[:0]
		for _, r := range all {
			if err == nil && r.Status == store.RecordingReady {
				ready = append(ready, r)
			}
		}
		return len(ready) == 2
	})
	for _, r := range ready {
		var buf bytes.Buffer
		if n, err := rc.Download(ctxT(t), r.ID, 0, &buf); err != nil || n != r.Size || n == 0 || r.Begin < ms(killed) {
			t.Fatalf("recording %+v through n%d: %d bytes, %v", r, other+1, n, err)
		}
	}
}
