package chat

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
)

func TestWaitHook(t *testing.T) {
	Wait(context.Background()) // no hook: nothing happens

	calls := 0
	ctx := BeforeWait(context.Background(), func() { calls++ })
	Wait(ctx)
	if calls != 1 {
		t.Fatalf("Wait called the hook %d times, want 1", calls)
	}

	r := strings.NewReader("x")
	if WaitReader(context.Background(), r) != io.Reader(r) {
		t.Error("WaitReader without a hook must return the reader itself")
	}
	// Through a bufio.Reader the hook runs once per read of the source: here the two
	// lines come in one read, then the reader's end is one more.
	calls = 0
	br := bufio.NewReader(WaitReader(ctx, strings.NewReader("line 1\nline 2\n")))
	for range 2 {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("hook ran %d times for two buffered lines, want 1", calls)
	}
	if _, err := br.ReadString('\n'); err != io.EOF {
		t.Fatalf("err = %v, want EOF", err)
	}
	if calls != 2 {
		t.Errorf("hook ran %d times after reading to the end, want 2", calls)
	}
}
