package relay

import (
	"crypto/sha1" //nolint:gosec // RFC 8122 allows sha-1 fingerprints; only matched, never chosen
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"net"
	"strings"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	dtlsnet "github.com/pion/dtls/v3/pkg/net"
	"github.com/pion/logging"
	"github.com/pion/srtp/v3"
)

// Each leg's DTLS runs on pion/dtls directly, over the leg's ICE connection, with the relay
// as the server (it always answers, with setup:passive). Once the handshake is done the
// leg's SRTP keys come from the connection's own RFC 5705 exporter (State.ExportKeyingMaterial,
// through srtp.Config.ExtractSessionKeysFromDTLS): public API, whatever the DTLS version
// and cipher suite.

// srtpProfiles are the SRTP protection profiles the relay accepts, pion/webrtc's defaults.
var srtpProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_256_GCM,
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
}

// certificate is the relay's DTLS certificate (one for every leg: the device checks it
// against the answer's fingerprint, nothing else) and its SHA-256 fingerprint.
type certificate struct {
	tls         tls.Certificate
	fingerprint string
}

func newCertificate() (*certificate, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	return &certificate{tls: cert, fingerprint: fingerprintOf(sha256.New, cert.Certificate[0])}, nil
}

// fingerprint is a certificate fingerprint of an SDP (RFC 8122): a hash name and the
// colon-separated hex digest.
type fingerprint struct {
	alg, value string
}

// hashOf returns the hash a fingerprint names, or nil.
func hashOf(alg string) func() hash.Hash {
	switch strings.ToLower(alg) {
	case "sha-1":
		return sha1.New
	case "sha-256":
		return sha256.New
	case "sha-384":
		return sha512.New384
	case "sha-512":
		return sha512.New
	}
	return nil
}

func fingerprintOf(h func() hash.Hash, der []byte) string {
	d := h()
	d.Write(der)
	sum := d.Sum(nil)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

var errFingerprint = errors.New("relay: the device's DTLS certificate does not match its offer's fingerprint")

// verify checks the device's certificate against the offer's fingerprint: the only thing
// that ties the DTLS handshake to the device that signalled.
func (f fingerprint) verify(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	h := hashOf(f.alg)
	if len(rawCerts) == 0 || h == nil {
		return errFingerprint
	}
	if !strings.EqualFold(fingerprintOf(h, rawCerts[0]), f.value) {
		return errFingerprint
	}
	return nil
}

// dtlsServer makes the relay's side of a leg's DTLS over the leg's ICE connection; the
// handshake runs on its first use (HandshakeContext).
func dtlsServer(conn net.Conn, cert *certificate, remote fingerprint, logs logging.LoggerFactory, extra ...dtls.ServerOption) (*dtls.Conn, error) {
	opts := []dtls.ServerOption{
		dtls.WithCertificates(cert.tls),
		dtls.WithSRTPProtectionProfiles(srtpProfiles...),
		dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret),
		dtls.WithClientAuth(dtls.RequireAnyClientCert),
		// Self-signed certificates: no chain to verify; verify checks the fingerprint.
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(remote.verify),
		dtls.WithLoggerFactory(logs),
	}
	c, err := dtls.ServerWithOptions(dtlsnet.PacketConnFromConn(conn), conn.RemoteAddr(), append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("relay: dtls: %w", err)
	}
	return c, nil
}

// srtpContexts derives a leg's SRTP contexts from its finished handshake: local protects
// what the relay sends (the server's write key), remote unprotects what the device sends.
func srtpContexts(c *dtls.Conn) (local, remote *srtp.Context, err error) {
	profile, ok := c.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, nil, errors.New("relay: no SRTP profile negotiated")
	}
	state, ok := c.ConnectionState()
	if !ok {
		return nil, nil, errors.New("relay: DTLS handshake not done")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, false); err != nil {
		return nil, nil, fmt.Errorf("relay: srtp keys: %w", err)
	}
	k := cfg.Keys
	if local, err = srtp.CreateContext(k.LocalMasterKey, k.LocalMasterSalt, cfg.Profile); err != nil {
		return nil, nil, fmt.Errorf("relay: srtp context: %w", err)
	}
	// No replay check on the device's RTP: a sender answers a NACK (relayed from the
	// receiver) by sending the same packet again, which the relay has seen. The receiver's
	// own SRTP replay window still drops a packet it already has.
	remote, err = srtp.CreateContext(k.RemoteMasterKey, k.RemoteMasterSalt, cfg.Profile,
		srtp.SRTPNoReplayProtection(), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, nil, fmt.Errorf("relay: srtp context: %w", err)
	}
	return local, remote, nil
}

// replayWindow is the SRTCP replay window of what devices send, pion's default.
const replayWindow = 64
