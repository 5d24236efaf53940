package redis

// FullSweepEvery is fullSweepEvery, for the tests of Orphans.
const FullSweepEvery = fullSweepEvery
