package delivery

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"wagateway/service"
)

// coalesce keeps the newest item per Key (Update.Newer), in the order each key
// first appears in items (oldest first, as claimed). superseded maps the id
// of each kept item to the ids of the older items of its key.
func coalesce(items []service.Update) (newest []service.Update, superseded map[string][]string) {
	pos := make(map[string]int, len(items)) // key → index in newest
	older := make(map[string][]string)      // key → ids of losers
	for _, it := range items {
		k := it.Key()
		i, seen := pos[k]
		if !seen {
			pos[k] = len(newest)
			newest = append(newest, it)
			continue
		}
		if it.Newer(newest[i]) {
			older[k] = append(older[k], newest[i].ID)
			newest[i] = it
		} else {
			older[k] = append(older[k], it.ID)
		}
	}
	superseded = make(map[string][]string, len(older))
	for _, it := range newest {
		if ids := older[it.Key()]; len(ids) > 0 {
			superseded[it.ID] = ids
		}
	}
	return newest, superseded
}

// chunkByKind splits items into requests of at most size items, QR requests
// first, each keeping the order of items.
func chunkByKind(items []service.Update, size int) [][]service.Update {
	var chunks [][]service.Update
	for _, kind := range []service.Kind{service.KindQR, service.KindStatus} {
		var group []service.Update
		for _, it := range items {
			if it.Kind == kind {
				group = append(group, it)
			}
		}
		for len(group) > 0 {
			n := min(size, len(group))
			chunks = append(chunks, group[:n:n])
			group = group[n:]
		}
	}
	return chunks
}

// idempotencyKey names one request: the same items of the same kind give the
// same key, so every retry of a request carries the key of its first try and
// Laravel can drop a duplicate whose first answer we never saw.
func idempotencyKey(kind service.Kind, items []service.Update) string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(string(kind) + "\n" + strings.Join(ids, "\n")))
	return hex.EncodeToString(sum[:16])
}
