package pipeline

// SetChunks makes floods split at a few members, so that small test
// models exercise chunking; the returned function restores the sizes.
func SetChunks(local, remote int) (restore func()) {
	l, r := floodChunk, remoteChunk
	floodChunk, remoteChunk = local, remote
	return func() { floodChunk, remoteChunk = l, r }
}
