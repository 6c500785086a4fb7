// Package image will be, with package container, the only door to the
// Docker Engine for images: references, build, tag, push, registry
// authentication, digests and update detection.
//
// So far it has [Reference]: an image reference parsed and normalised the
// way the docker CLI reads it (with github.com/distribution/reference),
// the default registry and tag filled in, digests, ports and Amazon ECR
// hosts told apart. The rest is being built (see the images issue).
package image
