// Package clienttest connects minato's container.Client to the engine a
// dockertest.Harness reaches, for integration tests of the packages built
// on package container. (dockertest itself does not import container: it
// is the independent oracle container is checked against.)
package clienttest
