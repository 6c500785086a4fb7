// Package image is, with package container, minato's door to the Docker
// Engine for images, and its door to registries.
//
// A [Client] is made from a [container.Client] and shares its connections:
//
//   - references parsed and normalised as the docker CLI reads them
//     ([ParseReference]: default registry and tag, digests, ports, Amazon
//     ECR hosts);
//   - on the engine: [Client.Pull] and [Client.Push] with a [Progress]
//     stream, [Client.Build] from a directory (a tar context honouring
//     .dockerignore, any Dockerfile path, build args, labels, target),
//     [Client.Tag], [Client.List], [Client.Inspect], [Client.Remove],
//     [Client.Prune] that keeps the N newest images of each repository for
//     rollback, and [Client.DiskUsage];
//   - on registries, without the engine: [Client.RemoteDigest] (one HEAD
//     request), [Client.RemoteTags], [Client.Copy], each call within a
//     per-registry budget that honours 429 and RateLimit headers
//     ([Client.RegistryStats]);
//   - update detection, diun's job: [Client.Check] compares the digest each
//     container runs with the digest its tag points to now (the Container
//     Service FAQ's D01: did the redeploy take effect?), and lists newer
//     semver tags ([NewerTags]); [Client.DiagCheck] makes it a diag.Check;
//   - updates, watchtower's job done right: [Client.Update] recreates
//     containers on the new image keeping what their owner set (decided
//     against the image they were created from and recorded in the label
//     minato.intent), in dependency order and batches, each gated on health
//     and rolled back automatically when the gate fails.
//
// Registry credentials come from the docker CLI's config file and its
// credential helpers, as the CLI finds them ([Config.DockerConfig]), or
// from [WithCredentials]. They are never logged. A refused login is an
// [*AuthError] whose message says to log in to the registry's domain again
// (the Container Service FAQ's D31); a missing image or tag wraps
// [ErrNotFound].
//
// # Usage
//
//	cc, err := container.New(container.ConfigFromEnv(os.Getenv))
//	if err != nil {
//		return err
//	}
//	defer cc.Close()
//	ic, err := image.New(cc, image.Config{})
//	if err != nil {
//		return err
//	}
//	res, err := ic.Pull(ctx, "registry.example:5000/shop/web:1.5", image.PullOptions{})
package image
