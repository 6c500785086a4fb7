// Package image will be, with package container, the only door to the
// Docker Engine: image references, build, tag, push, registry
// authentication, digests and update detection. Nothing is exported yet.
package image
