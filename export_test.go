package duet

import "github.com/pion/transport/v5"

// SetTestNet puts every later media connection of c on n (pion's vnet in tests), so that
// a test can put loss and blackouts between two clients without touching a real interface.
func SetTestNet(c *Client, n transport.Net) { c.calls.testNet = n }
