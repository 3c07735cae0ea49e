// Package server assembles duet's server: the store, accounts, the device connection hub,
// the call flow, the REST API and metrics, behind one http.Handler. `duet server` runs it;
// tests start it in-process with package servertest.
package server
