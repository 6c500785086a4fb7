//go:build !unix

package baseline

import "sync"

var mu sync.Mutex

// lockFile serialises updates within this process only: on platforms
// without flock, several processes sharing a directory may race.
func lockFile(string) (func(), error) {
	mu.Lock()
	return mu.Unlock, nil
}
