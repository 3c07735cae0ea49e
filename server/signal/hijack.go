package signal

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// Socket buffer sizes. A frame larger than a buffer is copied straight to or from the socket,
// so these only decide how many small frames one system call carries; net/http's 4 KiB each
// would be most of an idle connection's memory.
const (
	readBufferSize  = 512
	writeBufferSize = 1 << 10
)

// hijackWriter wraps the ResponseWriter given to websocket.Accept so that the hijacked
// socket gets small buffers and the hub keeps the net.Conn, to cut it without waiting on
// the WebSocket library's locks (slow consumers, close timeouts).
type hijackWriter struct {
	http.ResponseWriter
	nc net.Conn
	br *bufio.Reader
}

// Hijack hijacks the underlying connection and replaces net/http's buffers with small ones.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var br *bufio.Reader
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right behind its upgrade request. They must sit in the new
		// reader's buffer: the WebSocket library keeps the buffered bytes and re-reads the rest
		// from nc. (It keeps them in a reader of its own until the first read moves them all
		// back into the buffer, which is why the hello is read without waiting for the socket, see conn.read.)
		b, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc), max(n, readBufferSize))
		if _, err := br.Peek(n); err != nil {
			nc.Close()
			return nil, nil, err
		}
	} else {
		br = bufio.NewReaderSize(nc, readBufferSize)
	}
	w.nc, w.br = nc, br
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, writeBufferSize)), nil
}
