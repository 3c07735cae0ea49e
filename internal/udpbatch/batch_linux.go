package udpbatch

// batching: golang.org/x/net moves a batch with one recvmmsg or sendmmsg on Linux.
const batching = true
