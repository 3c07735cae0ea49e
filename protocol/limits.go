package protocol

// Error codes of the server's abuse limits (docs/PROTOCOL.md, "Error codes"; docs/REST.md).
// They sit apart from the main list so that it stays the seed's and the decoder's.
const (
	// CodeTooManyAttempts: too many failed logins for an account or from an address, or too
	// many registrations from an address. REST answers 429 with Retry-After.
	CodeTooManyAttempts ErrorCode = 912
	// CodeTooManyDevices: the user has as many devices connected as the server allows; the
	// hello of one more is refused.
	CodeTooManyDevices ErrorCode = 913
)
