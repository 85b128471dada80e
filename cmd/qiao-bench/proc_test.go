package main

import (
	"os"
	"testing"
	"time"
)

const statusFixture = `Name:	qiao
Umask:	0022
State:	S (sleeping)
VmPeak:	 1269540 kB
VmSize:	 1269540 kB
VmHWM:	   41236 kB
VmRSS:	   38100 kB
Threads:	9
`

func TestStatusKB(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		field   string
		want    int64
		wantErr bool
	}{
		{name: "VmHWM", status: statusFixture, field: "VmHWM", want: 41236 * 1024},
		{name: "VmRSS", status: statusFixture, field: "VmRSS", want: 38100 * 1024},
		{name: "missing", status: statusFixture, field: "VmSwap", wantErr: true},
		{name: "not kB", status: "Threads:\t9\n", field: "Threads", wantErr: true},
		{name: "bad number", status: "VmHWM:\tlots kB\n", field: "VmHWM", wantErr: true},
		{name: "prefix is not the field", status: "VmHWMx:\t1 kB\n", field: "VmHWM", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statusKB([]byte(tt.status), tt.field)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("statusKB = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		// utime 250 and stime 50 ticks (fields 14 and 15); the name holds a space and a ')'.
		{name: "odd name", stat: "1234 (qiao (x) y) S 1 1234 1234 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 100 1269540 10309",
			want: 3 * time.Second},
		{name: "too short", stat: "1 (a) S 1 2 3", wantErr: true},
		{name: "no name", stat: "1 a S", wantErr: true},
		{name: "negative", stat: "1 (a) S 1 1 1 0 -1 0 0 0 0 0 -5 1 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("statCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestOwnProcess reads this test process's figures through /proc, as the benchmark reads
// the gateway's.
func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	resetErr := resetPeakRSS(pid)
	before, err := peakRSS(pid)
	if err != nil || before <= 0 {
		t.Fatalf("peakRSS = %d, %v", before, err)
	}
	if _, err := cpuTime(pid); err != nil {
		t.Errorf("cpuTime: %v", err)
	}
	if resetErr != nil {
		// Without a reset the high-water mark may already be above what the ballast adds.
		t.Skipf("cannot reset VmHWM on this kernel (%v): reports say \"since start\"", resetErr)
	}
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1 // touch every page so it is resident
	}
	after, err := peakRSS(pid)
	if err != nil || after < before+32<<20 {
		t.Errorf("peak RSS %d → %d after touching 64 MiB; want ≥ +32 MiB (err %v)", before, after, err)
	}
}
