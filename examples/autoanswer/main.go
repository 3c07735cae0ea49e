// Command autoanswer is a duet user that answers every call: it logs in (registering the
// user on an open-registration app), answers each incoming call after a ring, sends a test
// tone and test video, hangs up after a while, and says why each call ended. Call it from
// the demo app at the server's / or with `duet call --to`.
//
//	go run ./examples/autoanswer -server http://127.0.0.1:8080 -user bot -password pw
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "duet server URL")
	appKey := flag.String("appkey", "demo#duet", "app key org#app")
	user := flag.String("user", "bot", "username")
	password := flag.String("password", "pw", "password")
	ring := flag.Duration("ring", time.Second, "let a call ring this long before answering")
	talk := flag.Duration("talk", 30*time.Second, "hang up this long after answering")
	loopback := flag.Bool("loopback", false, "keep media on 127.0.0.1 (tests, one machine)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client, err := duet.NewClient(duet.Options{AppKey: *appKey, ServerURL: *server, ICE: duet.ICEOptions{LoopbackOnly: *loopback}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.Register(ctx, *user, *password); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
		log.Fatal(err)
	}
	calls := client.CallManager()
	calls.SetMediaOptions(duet.MediaOptions{
		AudioSource: func(*duet.CallSession) (media.Source, error) { return media.NewTone(440, 48000) },
		VideoSource: func(*duet.CallSession) (media.Source, error) {
			return media.OpenIVF("testdata/media/pattern-320x240.ivf")
		},
	})
	calls.AddDelegate(&answerer{calls: calls, ring: *ring, talk: *talk}, nil)
	if err := client.Login(ctx, *user, *password); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s is waiting for calls", client.CurrentUsername())
	<-ctx.Done()
}

// answerer answers every call; it embeds the no-op base so it implements only what it uses.
type answerer struct {
	duet.CallManagerDelegateBase
	calls      *duet.CallManager
	ring, talk time.Duration
}

func (a *answerer) CallDidReceive(s *duet.CallSession) {
	log.Printf("call %s from %s (%v), ext %q", s.CallID(), s.RemoteName(), s.Type(), s.Ext())
	time.AfterFunc(a.ring, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.calls.AnswerIncomingCall(ctx, s.CallID()); err != nil {
			log.Printf("answer: %v", err) // the caller may have hung up meanwhile
		}
	})
}

func (a *answerer) CallDidAccept(s *duet.CallSession) {
	log.Printf("call %s accepted, connect type %v", s.CallID(), s.ConnectType())
	time.AfterFunc(a.talk, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := a.calls.EndCall(ctx, s.CallID(), duet.EndReasonHangup)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Printf("end: %v", err)
		}
	})
}

func (a *answerer) CallDidEnd(s *duet.CallSession, reason duet.EndReason, err error) {
	log.Printf("call %s ended: %v (err %v)", s.CallID(), reason, err)
}
