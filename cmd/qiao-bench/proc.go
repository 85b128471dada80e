package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// statusKB returns a "kB" field (VmHWM, VmRSS, ...) of a /proc/PID/status text, in bytes.
func statusKB(status []byte, field string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("proc: %s: unexpected value %q", field, strings.TrimSpace(rest))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("proc: %s: bad number %q", field, f[0])
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("proc: no %s field in status", field)
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return statusKB(b, "VmHWM")
}

// resetPeakRSS sets the process's VmHWM back to its current RSS (Linux ≥ 4.0, writing 5 to
// clear_refs), so the next peakRSS is the peak of one phase, not of the whole run.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// proc is a child process: a simulator, the reverse proxy or a gateway.
type proc struct {
	name string
	cmd  *exec.Cmd
	// stdin is held open: children started from this binary exit when it closes, so they
	// do not outlive a load generator that was killed.
	stdin io.WriteCloser
	log   *os.File // stderr (and, after the ready line, stdout)
	done  chan struct{}
	err   error
}

// startProc starts cmd, with its stderr in dir/name.log, and returns once it is running.
// If wantReady is set, it waits (up to timeout) for a first stdout line "READY <url>" and
// returns the URL; other stdout lines before it are returned as extra (e.g. a key).
func startProc(cmd *exec.Cmd, dir, name string, wantReady bool, timeout time.Duration) (*proc, string, []string, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, "", nil, err
	}
	p := &proc{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	cmd.Stderr = logf
	// A child that loses its parent gets SIGTERM (Linux), so a killed run leaves nothing
	// behind even for children that do not watch stdin (the qiao binary).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		logf.Close()
		return nil, "", nil, err
	}
	var stdout io.ReadCloser
	if wantReady {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			logf.Close()
			return nil, "", nil, err
		}
	} else {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, "", nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if !wantReady {
		return p, "", nil, nil
	}
	type ready struct {
		url   string
		extra []string
		err   error
	}
	ch := make(chan ready, 1)
	go func() {
		br := bufio.NewReader(stdout)
		var extra []string
		for {
			line, err := br.ReadString('\n')
			line = strings.TrimSpace(line)
			if u, ok := strings.CutPrefix(line, "READY "); ok {
				ch <- ready{url: u, extra: extra}
				io.Copy(logf, br) // keep draining so the child never blocks on stdout
				return
			}
			if line != "" {
				extra = append(extra, line)
			}
			if err != nil {
				ch <- ready{err: fmt.Errorf("%s exited before it was ready", name)}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			p.stop()
			return nil, "", nil, fmt.Errorf("%w; its log:\n%s", r.err, p.logTail())
		}
		return p, r.url, r.extra, nil
	case <-time.After(timeout):
		p.stop()
		return nil, "", nil, fmt.Errorf("%s not ready after %s; its log:\n%s", name, timeout, p.logTail())
	}
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end (stdin closed, SIGTERM), waits up to 10 s, then kills it.
func (p *proc) stop() {
	p.stdin.Close()
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// logTail returns the end of the process's log, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freePort returns a loopback address with a port that was free a moment ago. The qiao
// binary takes its address from the command line; a port taken in between makes it fail to
// start, which the readiness wait reports.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy polls url until it answers 200, the process exits, or timeout passes.
func waitHealthy(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %v; its log:\n%s", p.name, p.err, p.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not healthy after %s; its log:\n%s", p.name, url, timeout, p.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// procSet stops every started process, last first.
type procSet struct {
	mu    sync.Mutex
	procs []*proc
}

func (s *procSet) add(p *proc) {
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
}

// remove forgets p (already stopped).
func (s *procSet) remove(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.procs {
		if q == p {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			return
		}
	}
}

func (s *procSet) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
	s.procs = nil
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// statCPU returns user+system CPU time from a /proc/PID/stat text.
func statCPU(stat []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces: count fields after
	// the last ')'. utime and stime are fields 14 and 15, so 12th and 13th after it.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc: stat without a command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("proc: stat has %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("proc: bad CPU time %q in stat", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statCPU(b)
}

// settle waits until every process is nearly idle (under 10% of a core over 200 ms), or
// maxWait passes. A phase that overloaded a gateway leaves work behind — queued audit
// records, garbage — that would otherwise be billed to the next phase.
func (s *procSet) settle(ctx context.Context, maxWait time.Duration) {
	const window, idle = 200 * time.Millisecond, 20 * time.Millisecond
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	deadline := time.Now().Add(maxWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		before := make([]time.Duration, len(procs))
		for i, p := range procs {
			before[i], _ = cpuTime(p.pid())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(window):
		}
		busy := false
		for i, p := range procs {
			if after, err := cpuTime(p.pid()); err == nil && after-before[i] > idle {
				busy = true
			}
		}
		if !busy {
			return
		}
	}
}
