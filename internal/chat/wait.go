package chat

import (
	"context"
	"io"
)

// A consumer that writes an answer out (the server's SSE writer) buffers what it has written
// and sends it when the producer is about to wait, rather than after every chunk: while the
// upstream's bytes keep arriving, many events go out in one network write, as a proxy would
// forward them, and none waits longer than it takes the producer to find it has nothing more.
//
// The consumer puts its flush in the request's context with BeforeWait; whatever may wait
// inside Recv — the upstream body reader, a guard-model call — calls Wait(ctx) first. The hook
// runs on the goroutine that called Recv, the one that writes the answer.

type beforeWaitKey struct{}

// BeforeWait returns ctx carrying flush, to be called before Recv waits for anything.
func BeforeWait(ctx context.Context, flush func()) context.Context {
	return context.WithValue(ctx, beforeWaitKey{}, flush)
}

// Wait tells ctx's consumer that the caller is about to wait: it flushes what is buffered. It
// does nothing when ctx carries no hook.
func Wait(ctx context.Context) {
	if f, ok := ctx.Value(beforeWaitKey{}).(func()); ok {
		f()
	}
}

// WaitReader returns r, reading through ctx's hook: every Read of r (which may wait for the
// network) calls it first. Without a hook it returns r itself. Wrapped in a bufio.Reader,
// the hook runs only when the buffer has nothing left to give.
func WaitReader(ctx context.Context, r io.Reader) io.Reader {
	f, ok := ctx.Value(beforeWaitKey{}).(func())
	if !ok {
		return r
	}
	return &waitReader{r: r, before: f}
}

type waitReader struct {
	r      io.Reader
	before func()
}

func (w *waitReader) Read(p []byte) (int, error) {
	w.before()
	return w.r.Read(p)
}
