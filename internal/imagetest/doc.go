// Package imagetest builds small, labelled test images on the local Docker
// Engine for tests of images, pulls, pushes and updates.
//
// It builds through internal/dockertest (Harness.Build) and imports no
// minato library package, so package image's own tests can use it as an
// independent oracle, and only dockertest touches the Docker client.
//
// Build makes a FROM-scratch image holding the testbox program (on top of
// dockertest's test image) with the environment, command, labels,
// healthcheck, stop signal, exposed ports and an optional layer of random
// filler bytes that a test asks for, and removes it when the test ends.
package imagetest
