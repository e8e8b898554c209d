package participant

// TxLockRefs reports how many callers hold or wait for txID's lock, so a
// test can tell when racing calls are queued behind one another.
func TxLockRefs[T any](a *Agent[T], txID string) int {
	a.txs.mu.Lock()
	defer a.txs.mu.Unlock()
	if e := a.txs.m[txID]; e != nil {
		return e.refs
	}
	return 0
}
