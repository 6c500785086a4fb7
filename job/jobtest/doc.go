// Package jobtest holds helpers for tests of code built on package job.
// It is for tests only.
package jobtest
