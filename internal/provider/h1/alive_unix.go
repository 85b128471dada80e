//go:build unix

package h1

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: a peek that does not wait finds
// nothing to read. End of file means the server closed it; bytes mean it sent something
// nobody asked for. Either way the connection cannot carry a request.
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true // not a socket (a pipe in tests): nothing to check
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var (
		buf  [1]byte
		perr error
	)
	err = rc.Read(func(fd uintptr) bool {
		// Success is not alive either: 0 bytes is the end of the stream, more is data
		// nobody asked for.
		_, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // one try, never wait
	})
	if err != nil {
		return false
	}
	return errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK)
}
