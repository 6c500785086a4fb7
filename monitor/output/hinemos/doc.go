// Package hinemos renders values as the "key,value" lines a Hinemos custom
// monitor (カスタム監視) reads from a command's standard output, exactly as
// the seed 002 scripts print them:
//
//	cpu_usage:conteiner_A,0.08
//	running,3
//
// It only formats a line; the seed-compatible CLI builds the keys
// ("cpu_usage:<name>", "cpu_usage#<core>:<name>", container states) and
// chooses the decimals (two for rates and percentages, none for counts
// and bytes).
package hinemos
