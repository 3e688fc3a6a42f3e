package main

import (
	"net"
	"net/http"
	"sync"
)

// connCap bounds the connections a server keeps open. Requests in flight
// are bounded by the handler, headers by ReadHeaderTimeout; what is left is
// idle keep-alive connections, which a client may hold for IdleTimeout. A
// connection that takes the count past the cap closes an idle one (a server
// may close an idle HTTP/1.1 connection at any time), or, when none is
// idle, is itself closed.
type connCap struct {
	max   int
	mu    sync.Mutex
	conns map[net.Conn]http.ConnState
}

func newConnCap(max int) *connCap {
	return &connCap{max: max, conns: make(map[net.Conn]http.ConnState)}
}

// track is the server's ConnState hook.
func (cc *connCap) track(c net.Conn, s http.ConnState) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(cc.conns, c)
		return
	case http.StateNew:
		if len(cc.conns) >= cc.max && !cc.closeIdle() {
			c.Close() // every other connection is busy: this one waits no turn
			return
		}
	}
	cc.conns[c] = s
}

// closeIdle closes one idle connection and forgets it; called with mu held.
func (cc *connCap) closeIdle() bool {
	for c, s := range cc.conns {
		if s == http.StateIdle {
			c.Close()
			delete(cc.conns, c)
			return true
		}
	}
	return false
}
