// Package limit holds the server's defences against one client taking more than its share:
// a listener that bounds the connections one source address may hold before it has
// authenticated, and a keyed exponential backoff for login and registration attempts.
//
// Everything here is driven by an injected clock, so that tests never sleep.
package limit
