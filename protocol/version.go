package protocol

// MaxVersions caps how many versions a Hello may list.
const MaxVersions = 16

// Offered returns the versions a Hello offers: Versions, or Version alone for a client that
// predates the list.
func (h *Hello) Offered() []int {
	if len(h.Versions) > 0 {
		return h.Versions
	}
	return []int{h.Version}
}

// Negotiate picks the newest of the offered versions within [minV, maxV]. With none in
// common it refuses: CodeUpgradeRequired when every offered version is older than minV (the
// client must be upgraded; its SDK says so rather than retry), CodeUnsupportedVersion
// otherwise (the client is newer than this server).
func Negotiate(offered []int, minV, maxV int) (int, error) {
	best, newest := 0, 0 // 0 is no version: a hello without one is unsupported, not old
	for _, v := range offered {
		if v >= minV && v <= maxV && v > best {
			best = v
		}
		newest = max(newest, v)
	}
	switch {
	case best > 0:
		return best, nil
	case newest > 0 && newest < minV:
		return 0, NewError(CodeUpgradeRequired, "protocol versions %v are no longer supported; this server speaks %d-%d: upgrade the app", offered, minV, maxV)
	default:
		return 0, NewError(CodeUnsupportedVersion, "protocol versions %v are not supported; this server speaks %d-%d", offered, minV, maxV)
	}
}
