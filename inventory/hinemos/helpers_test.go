package hinemos_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/stretchr/testify/require"
)

// The endpoint the scripts' logs show.
const (
	wsdl = "http://127.0.0.1:8080/HinemosWS/RepositoryEndpoint?wsdl"
	host = "docker_host1"
	addr = "100.74.26.24"
	eng  = "tcp://100.74.26.24:2375"
)

// manager is a repository that tells its endpoint, as a Hinemos manager
// client does (hinemos.Endpointer). It stays a Batcher.
type manager struct{ *inventory.MemRepository }

func (manager) Endpoint() (string, string) { return wsdl, "hinemos" }

// plain hides every optional interface: a Repository and nothing else.
type plain struct{ inventory.Repository }

// faulty fails the n-th call (1-based) of the method named fail with
// errBroken, counting through batches. batching adds Batch.
type faulty struct {
	inventory.Repository
	mem  *inventory.MemRepository
	fail string
	n    *int
}

var errBroken = errors.New("repository broken")

func (f faulty) hit(m string) error {
	if m == f.fail {
		*f.n--
		if *f.n == 0 {
			return errBroken
		}
	}
	return nil
}

func (f faulty) PutNode(ctx context.Context, n inventory.Node) error {
	if err := f.hit("PutNode"); err != nil {
		return err
	}
	return f.Repository.PutNode(ctx, n)
}

func (f faulty) Assign(ctx context.Context, s string, ids ...string) error {
	if err := f.hit("Assign"); err != nil {
		return err
	}
	return f.Repository.Assign(ctx, s, ids...)
}

func (f faulty) DeleteNode(ctx context.Context, id string) error {
	if err := f.hit("DeleteNode"); err != nil {
		return err
	}
	return f.Repository.DeleteNode(ctx, id)
}

func (f faulty) Nodes(ctx context.Context) ([]inventory.Node, error) {
	if err := f.hit("Nodes"); err != nil {
		return nil, err
	}
	return f.Repository.Nodes(ctx)
}

// batching is faulty plus Batch over the MemRepository.
type batching struct{ faulty }

func (b batching) Batch(ctx context.Context, fn func(inventory.Repository) error) error {
	return b.mem.Batch(ctx, func(r inventory.Repository) error {
		in := b.faulty
		in.Repository = r
		return fn(in)
	})
}

func newFaulty(mem *inventory.MemRepository, batch bool, fail string, n int) inventory.Repository {
	f := faulty{Repository: mem, mem: mem, fail: fail, n: &n}
	if batch {
		return batching{f}
	}
	return f
}

// repoWith returns a MemRepository holding the scopes (top level).
func repoWith(t *testing.T, scopes ...string) *inventory.MemRepository {
	t.Helper()
	r := inventory.NewMemRepository()
	for _, s := range scopes {
		require.NoError(t, r.PutScope(context.Background(), inventory.Scope{FacilityID: s, FacilityName: s}))
	}
	return r
}

// item builds a container Item of engine eng; id is padded to 64 hex.
func item(id, name, state, status, label string) inventory.Item {
	it := inventory.Item{
		Target: inventory.Target{Kind: inventory.KindContainer, ID: id + strings.Repeat("0", 64-len(id)), Name: name, Engine: eng},
		State:  state,
		Attrs: map[string]string{
			inventory.AttrImage:   "httpd:2.4",
			inventory.AttrCommand: "httpd -D FOREGROUND",
			inventory.AttrStatus:  status,
			inventory.AttrPorts:   "80/tcp",
		},
	}
	if label != "" {
		it.Target.Labels = map[string]string{hinemos.LabelAssignScope: label}
	}
	return it
}

// newSyncer returns a Syncer for docker_host1 logging into b.
func newSyncer(t *testing.T, repo inventory.Repository, lang string, b *strings.Builder) *hinemos.Syncer {
	t.Helper()
	s, err := hinemos.New(hinemos.Config{HostFacilityID: host, HostAddress: addr, Lang: lang}, repo, hinemos.WithLog(b))
	require.NoError(t, err)
	return s
}

func node(t *testing.T, r inventory.Repository, id string) inventory.Node {
	t.Helper()
	n, err := r.Node(context.Background(), id)
	require.NoError(t, err)
	return n
}

func membersOf(t *testing.T, r inventory.Repository, scope string) []string {
	t.Helper()
	m, err := r.Members(context.Background(), scope)
	require.NoError(t, err)
	return m
}

// scopesOf returns the scopes (of those listed) that node id is in.
func scopesOf(t *testing.T, r inventory.Repository, id string, scopes ...string) []string {
	t.Helper()
	var out []string
	for _, s := range scopes {
		for _, m := range membersOf(t, r, s) {
			if m == id {
				out = append(out, s)
			}
		}
	}
	return out
}

// normalize collapses white space, as the PDF extraction of the scripts'
// logs broke and joined lines.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }
