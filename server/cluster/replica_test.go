package cluster

import (
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/route"
)

var t0 = time.Unix(1_760_000_000, 0)

func dev(id string) route.Device { return route.Device{App: "org#app", User: "bob", ID: id} }

func online(node, boot string, seq uint64, id string) presenceEvent {
	return presenceEvent{Node: node, Boot: boot, Seq: seq, Online: true, App: "org#app", User: "bob", Device: id}
}

func offline(node, boot string, seq uint64, id string) presenceEvent {
	ev := online(node, boot, seq, id)
	ev.Online = false
	return ev
}

// Events apply in order after a snapshot; one that skips a number, or comes from a new
// boot, asks for a snapshot instead of being applied.
func TestReplicaOrderAndGaps(t *testing.T) {
	r := NewReplica("self")
	if _, sync := r.applyEvent(online("n2", "b1", 1, "phone"), t0); !sync {
		t.Fatal("an event from a node never synced was applied")
	}
	r.applySnapshot("n2", snapshot{Boot: "b1", Seq: 1, Devices: []route.Online{{Device: dev("phone")}}}, t0)
	if node, ok := r.Lookup(dev("phone")); !ok || node != "n2" {
		t.Fatalf("after the snapshot: %q %v", node, ok)
	}
	if _, sync := r.applyEvent(online("n2", "b1", 1, "phone"), t0); sync {
		t.Fatal("an event the snapshot covers asked for a snapshot")
	}
	if _, sync := r.applyEvent(online("n2", "b1", 3, "tablet"), t0); !sync {
		t.Fatal("a gap (seq 3 after 1) was applied")
	}
	if _, ok := r.Lookup(dev("tablet")); ok {
		t.Fatal("the event after the gap was applied")
	}
	if ch, sync := r.applyEvent(online("n2", "b1", 2, "tablet"), t0); sync || len(ch) != 1 || !ch[0].Online {
		t.Fatalf("seq 2: changes %+v, sync %v", ch, sync)
	}
	if _, sync := r.applyEvent(online("n2", "b2", 3, "laptop"), t0); !sync {
		t.Fatal("an event of a new boot was applied")
	}
	if r.applyHeartbeat(heartbeat{Node: "n2", Boot: "b1", Seq: 5}, t0) != true {
		t.Fatal("a heartbeat past the applied events did not ask for a snapshot")
	}
	if r.applyHeartbeat(heartbeat{Node: "n2", Boot: "b1", Seq: 2}, t0) {
		t.Fatal("an up-to-date heartbeat asked for a snapshot")
	}
	if _, sync := r.applyEvent(online("self", "x", 1, "mine"), t0); sync {
		t.Fatal("the node's own event asked for a snapshot")
	}
}

// A device that moves to another node belongs to that node: the old node's late "offline"
// does not remove it, and the old node going silent does not either.
func TestReplicaDeviceMoves(t *testing.T) {
	r := NewReplica("self")
	r.applySnapshot("n2", snapshot{Boot: "b", Seq: 0}, t0)
	r.applySnapshot("n3", snapshot{Boot: "c", Seq: 0}, t0)
	r.applyEvent(online("n2", "b", 1, "phone"), t0)
	ch, _ := r.applyEvent(online("n3", "c", 1, "phone"), t0)
	if len(ch) != 1 || ch[0].Node != "n3" {
		t.Fatalf("move: %+v", ch)
	}
	if ch, _ := r.applyEvent(offline("n2", "b", 2, "phone"), t0); len(ch) != 0 {
		t.Fatalf("the old node's offline changed %+v", ch)
	}
	if node, ok := r.Lookup(dev("phone")); !ok || node != "n3" {
		t.Fatalf("phone at %q %v, want n3", node, ok)
	}
	r.applyHeartbeat(heartbeat{Node: "n3", Boot: "c", Seq: 1}, t0.Add(5*time.Second))
	gone, ch := r.expire(t0.Add(time.Second))
	if len(gone) != 1 || gone[0] != "n2" || len(ch) != 0 {
		t.Fatalf("expire: gone %v, changes %+v; want n2 gone and the phone kept", gone, ch)
	}
	gone, ch = r.expire(t0.Add(10 * time.Second))
	if len(gone) != 1 || gone[0] != "n3" || len(ch) != 1 || ch[0].Online || ch[0].Device != dev("phone") {
		t.Fatalf("expire n3: gone %v, changes %+v", gone, ch)
	}
	if r.Count() != 0 {
		t.Fatalf("%d devices left", r.Count())
	}
}

// A snapshot replaces what the replica held of its node: devices it lacks go offline.
func TestReplicaSnapshotReplaces(t *testing.T) {
	r := NewReplica("self")
	r.applySnapshot("n2", snapshot{Boot: "b", Seq: 2, Devices: []route.Online{{Device: dev("phone")}, {Device: dev("tablet")}}}, t0)
	ch := r.applySnapshot("n2", snapshot{Boot: "b2", Seq: 1, Devices: []route.Online{{Device: dev("tablet")}}}, t0)
	if len(ch) != 1 || ch[0].Online || ch[0].Device != dev("phone") {
		t.Fatalf("changes %+v, want the phone offline", ch)
	}
	if got := r.OnlineDevices("org#app", "bob"); len(got) != 1 || got[0].ID != "tablet" {
		t.Fatalf("online %+v", got)
	}
	if !r.WaitApplied("n2", "b2", 1, time.Millisecond) || r.WaitApplied("n2", "b2", 2, time.Millisecond) {
		t.Fatal("WaitApplied")
	}
}
