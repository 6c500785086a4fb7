// Package baseline keeps the previous samples that delta and rate monitors
// need between runs: the -k KEY_ID of the Hinemos Docker monitoring
// scripts, which kept it in /tmp/KEY_ID.txt.
//
// A [Store] is a directory holding one JSON document per key. [Store.Update]
// reads a key's document, lets the caller compute the next one, and writes
// it back atomically (temporary file, fsync, rename) while holding an
// exclusive lock on the key, so several processes (cron jobs, Hinemos
// custom monitors, an agent) can share one directory safely. The files are
// created 0600 in a 0700 directory: baselines are not secrets, but nothing
// else needs to read them.
//
// # Usage
//
//	st, err := baseline.Open(dir) // baseline.DefaultDir() when the user gave none
//	err = st.Update("docker_host1_cpu", func(prev []byte) ([]byte, error) {
//		// decode prev (nil on the first run), compute, encode the new samples
//	})
package baseline
