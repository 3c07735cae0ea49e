package relay

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The relay forwards SRTP itself (see packet.go), so it needs each leg's SRTP keys, which
// pion derives inside its DTLS transport and does not export. They are derived here from
// what pion does let a setting engine see of the handshake, with the relay as the DTLS
// server (the answerer chooses, and the relay always answers):
//
//   - the client random and the master secret, from the key log writer (one line in the
//     NSS key log format);
//   - the server random, the cipher suite and the SRTP protection profile, from the
//     ServerHello hook (the hook returns the message unchanged).
//
// From these the keying material is the RFC 5705 exporter with the label RFC 5764 gives,
// exactly as pion/dtls's State.ExportKeyingMaterial computes it. The secrets never leave
// the process; the key log "writer" is this struct, not a file.

// labelDTLSSRTP is RFC 5764's exporter label.
const labelDTLSSRTP = "EXTRACTOR-dtls_srtp"

// dtlsKeys collects one leg's handshake secrets. Each leg has its own setting engine (and
// so its own dtlsKeys): the hooks cannot tell legs apart.
type dtlsKeys struct {
	mu           sync.Mutex
	clientRandom []byte
	masterSecret []byte
	serverRandom []byte
	suite        dtls.CipherSuiteID
	profile      srtp.ProtectionProfile
	line         bytes.Buffer // a key log line being written
}

// install makes se a DTLS server that reports its handshake to k.
func (k *dtlsKeys) install(se *webrtc.SettingEngine) error {
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return err
	}
	se.SetDTLSKeyLogWriter(k)
	se.SetDTLSServerHelloMessageHook(k.serverHello)
	return nil
}

// Write takes the key log: "CLIENT_RANDOM <hex client random> <hex master secret>\n".
func (k *dtlsKeys) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.line.Write(p)
	sc := bufio.NewScanner(bytes.NewReader(k.line.Bytes()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "CLIENT_RANDOM" {
			continue
		}
		cr, err1 := hex.DecodeString(f[1])
		ms, err2 := hex.DecodeString(f[2])
		if err1 == nil && err2 == nil {
			k.clientRandom, k.masterSecret = cr, ms
		}
	}
	if bytes.HasSuffix(k.line.Bytes(), []byte("\n")) {
		k.line.Reset()
	}
	return len(p), nil
}

// serverHello notes the relay's random, the suite and the SRTP profile it chose.
func (k *dtlsKeys) serverHello(m handshake.MessageServerHello) handshake.Message {
	random := m.Random.MarshalFixed()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.serverRandom = random[:]
	if m.CipherSuiteID != nil {
		k.suite = dtls.CipherSuiteID(*m.CipherSuiteID)
	}
	for _, e := range m.Extensions {
		if u, ok := e.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) > 0 {
			k.profile = srtp.ProtectionProfile(u.ProtectionProfiles[0])
		}
	}
	return &m
}

// srtpContexts derives the leg's SRTP contexts once its handshake is done: local protects
// what the relay sends (the server's write key), remote unprotects what the device sends.
func (k *dtlsKeys) srtpContexts() (local, remote *srtp.Context, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.masterSecret == nil || k.serverRandom == nil || k.profile == 0 {
		return nil, nil, errors.New("relay: DTLS handshake not seen")
	}
	keyLen, err := k.profile.KeyLen()
	if err != nil {
		return nil, nil, err
	}
	saltLen, err := k.profile.SaltLen()
	if err != nil {
		return nil, nil, err
	}
	seed := append(append([]byte(labelDTLSSRTP), k.clientRandom...), k.serverRandom...)
	material, err := prf.PHash(k.masterSecret, seed, 2*(keyLen+saltLen), suiteHash(k.suite))
	if err != nil {
		return nil, nil, err
	}
	// RFC 5764 §4.2: client key, server key, client salt, server salt.
	clientKey, serverKey := material[:keyLen], material[keyLen:2*keyLen]
	clientSalt, serverSalt := material[2*keyLen:2*keyLen+saltLen], material[2*keyLen+saltLen:]
	if local, err = srtp.CreateContext(serverKey, serverSalt, k.profile); err != nil {
		return nil, nil, fmt.Errorf("relay: srtp context: %w", err)
	}
	// No replay check on the device's RTP: a sender answers a NACK (relayed from the
	// receiver) by sending the same packet again, which the relay has seen. The receiver's
	// own SRTP replay window still drops a packet it already has.
	remote, err = srtp.CreateContext(clientKey, clientSalt, k.profile,
		srtp.SRTPNoReplayProtection(), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, nil, fmt.Errorf("relay: srtp context: %w", err)
	}
	return local, remote, nil
}

// replayWindow is the SRTCP replay window of what devices send, pion's default.
const replayWindow = 64

// suiteHash is the PRF hash of a TLS 1.2 cipher suite: SHA-384 for the _SHA384 suites,
// SHA-256 for every other suite pion/dtls implements.
func suiteHash(id dtls.CipherSuiteID) func() hash.Hash {
	if strings.HasSuffix(dtls.CipherSuiteName(id), "SHA384") {
		return sha512.New384
	}
	return sha256.New
}
