package journal

// Crash leaves the journal as a killed process would: nothing more is flushed or removed,
// the files and the lock are let go. The ingester is told to stop but not waited for.
func (j *Journal) Crash() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	j.unmap()
	j.file.Close()
	j.lock.Close()
}
