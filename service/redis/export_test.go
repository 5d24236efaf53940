package redis

// FullSweepEvery is fullSweepEvery, for the tests of Orphans.
const FullSweepEvery = fullSweepEvery

// SetBeforeConfirm makes Orphans call f between reading its candidates and
// confirming them.
func SetBeforeConfirm(l *Leases, f func()) { l.beforeConfirm = f }
