package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// BenchmarkWriter measures durable audit appends per second through one Writer with
// goroutines concurrent appenders, each Append waiting for its commit.
func BenchmarkWriter(b *testing.B, st Store, goroutines int) {
	w, err := audit.NewWriter(context.Background(), st, audit.WriterOptions{
		Chain: "bench", Signer: testKey, CheckpointEvery: 1000, CheckpointInterval: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var n atomic.Int64
	rec := sample(7) // a full record: decisions, usage, MACs
	b.ReportAllocs()
	b.SetParallelism((goroutines + 1) / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			r := rec
			r.Request = fmt.Sprintf("bench-%d", n.Add(1))
			if err := w.Append(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
