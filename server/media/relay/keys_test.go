package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// TestDTLSKeys runs real DTLS handshakes on loopback, with each cipher suite family the
// PRF hash depends on and each SRTP profile, and checks that the contexts dtlsKeys derives
// from the key log and the ServerHello interoperate with the client's, keyed as pion/srtp
// keys them from the client's own exporter: what the client protects, the relay's remote
// context opens, and what the relay's local context protects, the client opens.
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
			keys := &dtlsKeys{}
			client, _ := dtlsPair(t, tc.suite, tc.profile, keys)
			local, remote, err := keys.srtpContexts()
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

// dtlsPair connects a DTLS client to a server that reports to keys as a relay leg's does.
func dtlsPair(t *testing.T, suite dtls.CipherSuiteID, profile dtls.SRTPProtectionProfile, keys *dtlsKeys) (client, server *dtls.Conn) {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sa, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	common := func() *dtls.Config {
		return &dtls.Config{
			Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
			CipherSuites: []dtls.CipherSuiteID{suite}, SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{profile},
			ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		}
	}
	scfg := common()
	scfg.KeyLogWriter, scfg.ServerHelloMessageHook = keys, keys.serverHello
	scfg.ClientAuth = dtls.RequireAnyClientCert
	if client, err = dtls.Client(ca, sa.LocalAddr(), common()); err != nil {
		t.Fatal(err)
	}
	if server, err = dtls.Server(sa, ca.LocalAddr(), scfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- server.HandshakeContext(ctx) }()
	if err := client.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return client, server
}
