package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// TestDTLSKeys runs real DTLS handshakes on loopback between a pion/dtls client and the
// relay's DTLS server (dtlsServer), with each cipher suite family and each SRTP profile, and
// checks that the contexts srtpContexts derives interoperate with the client's, keyed as
// pion/srtp keys them from the client's own exporter: what the client protects, the relay's
// remote context opens, and what the relay's local context protects, the client opens. A
// pion upgrade that changes how the keys are exported or which side's key is which fails
// here.
func TestDTLSKeys(t *testing.T) {
	for _, tc := range []struct {
		suite   dtls.CipherSuiteID
		profile dtls.SRTPProtectionProfile
	}{
		{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM},
		{dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		{dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, dtls.SRTP_AEAD_AES_256_GCM},
	} {
		t.Run(dtls.CipherSuiteName(tc.suite), func(t *testing.T) {
			client, server, err := dtlsPair(t, tc.suite, tc.profile, nil)
			if err != nil {
				t.Fatal(err)
			}
			local, remote, err := srtpContexts(server)
			if err != nil {
				t.Fatal(err)
			}
			cfg := &srtp.Config{Profile: srtp.ProtectionProfile(tc.profile)}
			state, _ := client.ConnectionState()
			if err := cfg.ExtractSessionKeysFromDTLS(&state, true); err != nil {
				t.Fatal(err)
			}
			clientOut, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
			if err != nil {
				t.Fatal(err)
			}
			clientIn, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, "client → relay", clientOut, remote)
			roundTrip(t, "relay → client", local, clientIn)

		})
	}
}

func roundTrip(t *testing.T, what string, seal, open *srtp.Context) {
	t.Helper()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 9, SSRC: 42}, Payload: []byte("a frame of audio")}
	raw, _ := pkt.Marshal()
	sealed, err := seal.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := open.DecryptRTP(nil, sealed, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(plain, raw) {
		t.Fatalf("%s: opened %x, want %x", what, plain, raw)
	}
}

// TestDTLSFingerprint: a device whose certificate is not the one its offer's fingerprint
// names fails the handshake.
func TestDTLSFingerprint(t *testing.T) {
	wrong := &fingerprint{alg: "sha-256", value: strings.Repeat("AB:", 31) + "AB"}
	if _, _, err := dtlsPair(t, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM, wrong); err == nil {
		t.Fatal("handshake with a certificate the fingerprint does not name succeeded")
	}
}

// dtlsPair connects a DTLS client to the relay's DTLS server, over a UDP socket pair
// standing in for the leg's ICE connection. fp is the fingerprint the server expects; nil:
// the client's own.
func dtlsPair(t *testing.T, suite dtls.CipherSuiteID, profile dtls.SRTPProtectionProfile, fp *fingerprint) (client, server *dtls.Conn, err error) {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	relayCert, err := newCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if fp == nil {
		fp = &fingerprint{alg: "sha-256", value: fingerprintOf(sha256.New, cert.Certificate[0])}
	}
	ca, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sconn, err := net.DialUDP("udp4", nil, ca.LocalAddr().(*net.UDPAddr)) // a net.Conn, as an ice.Conn is
	if err != nil {
		t.Fatal(err)
	}
	if client, err = dtls.Client(ca, sconn.LocalAddr(), &dtls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
		CipherSuites: []dtls.CipherSuiteID{suite}, SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{profile},
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
	}); err != nil {
		t.Fatal(err)
	}
	if server, err = dtlsServer(sconn, relayCert, *fp, logging.NewDefaultLoggerFactory()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- server.HandshakeContext(ctx) }()
	cerr := client.HandshakeContext(ctx)
	if serr := <-done; serr != nil {
		return client, server, serr
	}
	return client, server, cerr
}
