package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// Environment of the crash child.
const (
	crashEnv    = "QIAO_STORETEST_CRASH_CHILD" // "1" in the child
	crashArgEnv = "QIAO_STORETEST_CRASH_ARG"   // data dir or DSN the child opens
)

// OpenFunc opens a store from the argument the crash child receives.
type OpenFunc func(ctx context.Context, arg string) (Store, error)

// CrashChild runs the crash test's child if this process is one, and never returns then.
// Call it first in TestMain.
func CrashChild(open OpenFunc) {
	if os.Getenv(crashEnv) != "1" {
		return
	}
	err := crashChild(open, os.Getenv(crashArgEnv))
	fmt.Fprintln(os.Stderr, "crash child:", err)
	os.Exit(3)
}

// crashChild appends records from 32 goroutines until it is killed, printing "ack <id>" to
// stdout after each Append returns successfully: from that moment the record must survive.
func crashChild(open OpenFunc, arg string) error {
	ctx := context.Background()
	st, err := open(ctx, arg)
	if err != nil {
		return err
	}
	w, err := audit.NewWriter(ctx, st, audit.WriterOptions{Chain: "crash", Signer: testKey, CheckpointEvery: 200})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		go func() {
			for i := 0; ; i++ {
				rec := sample(i)
				rec.Request = fmt.Sprintf("g%02d-%07d", g, i)
				if err := w.Append(ctx, rec); err != nil {
					errs <- err
					return
				}
				mu.Lock() // one write(2) per line: lines never interleave
				_, err := os.Stdout.WriteString("ack " + rec.Request + "\n")
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	return <-errs
}

// Crash starts this test binary as a child that appends under load, kills it with SIGKILL
// after it has acknowledged at least minAcks records, reopens the store with open(arg) and
// checks that every acknowledged record is there and the chain verifies.
func Crash(t *testing.T, open OpenFunc, arg string, minAcks int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"=1", crashArgEnv+"="+arg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		id, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			t.Fatalf("child printed %q", line)
		}
		acked[id] = true
		if !killed && len(acked) >= minAcks {
			// Mid-load: 32 appenders are between Append calls or waiting on a commit.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before %d acks (got %d): %v\n%s", minAcks, len(acked), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, stderr.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := open(ctx, arg)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	stored := map[string]bool{}
	if err := st.Records(ctx, "crash", 0, func(r audit.Record) error { stored[r.Request] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id := range acked {
		if !stored[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged records lost after kill -9", missing, len(acked))
	}
	rep, err := audit.Verify(ctx, st, TestPublicKey())
	if err != nil || !rep.OK() {
		t.Fatalf("Verify after kill -9: %v\n%s", err, rep.String())
	}
	t.Logf("killed after %d acks; %d records stored (the rest committed but unacknowledged); %s",
		len(acked), len(stored), strings.TrimSpace(rep.String()))
	// The chain continues after a crash.
	w, err := audit.NewWriter(ctx, st, audit.WriterOptions{Chain: "crash", Signer: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, sample(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.Verify(ctx, st, TestPublicKey()); err != nil || !rep.OK() {
		t.Fatalf("Verify after restart: %v\n%s", err, rep.String())
	}
}
