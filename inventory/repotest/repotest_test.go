package repotest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/repotest"
)

// bugEnv names the bug TestBuggy runs the suite against.
const bugEnv = "REPOTEST_BUG"

// A repository with one bug each, wrapping the correct MemRepository.
type (
	// unsorted returns the nodes in reverse order.
	unsorted struct{ *inventory.MemRepository }
	// sharedMaps hands out the Variables map it was given.
	sharedMaps struct {
		*inventory.MemRepository
		mu    sync.Mutex
		given map[string]map[string]string
	}
	// partialAssign assigns node by node, stopping at the first absent one.
	partialAssign struct{ *inventory.MemRepository }
	// strictDelete refuses to delete an absent node.
	strictDelete struct{ *inventory.MemRepository }
	// noRollback runs a batch's function on the repository itself.
	noRollback struct{ *inventory.MemRepository }
	// flatErrors loses the class of Node's errors.
	flatErrors struct{ *inventory.MemRepository }
	// scopeWins lets a scope take a node's facility ID.
	scopeWins struct{ *inventory.MemRepository }
)

func (r unsorted) Nodes(ctx context.Context) ([]inventory.Node, error) {
	ns, err := r.MemRepository.Nodes(ctx)
	slices.Reverse(ns)
	return ns, err
}

func (r *sharedMaps) PutNode(ctx context.Context, n inventory.Node) error {
	r.mu.Lock()
	r.given[n.FacilityID] = n.Variables
	r.mu.Unlock()
	return r.MemRepository.PutNode(ctx, n)
}

func (r *sharedMaps) Node(ctx context.Context, id string) (inventory.Node, error) {
	n, err := r.MemRepository.Node(ctx, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.given[id]; ok && err == nil {
		n.Variables = m
	}
	return n, err
}

func (r partialAssign) Assign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	for _, id := range nodeIDs {
		if err := r.MemRepository.Assign(ctx, scopeID, id); err != nil {
			return err
		}
	}
	return r.MemRepository.Assign(ctx, scopeID)
}

func (r strictDelete) DeleteNode(ctx context.Context, id string) error {
	if _, err := r.MemRepository.Node(ctx, id); err != nil {
		return err
	}
	return r.MemRepository.DeleteNode(ctx, id)
}

func (r noRollback) Batch(_ context.Context, fn func(inventory.Repository) error) error {
	return fn(r.MemRepository)
}

func (r flatErrors) Node(ctx context.Context, id string) (inventory.Node, error) {
	n, err := r.MemRepository.Node(ctx, id)
	if err != nil {
		err = fmt.Errorf("node %s: %v", id, err)
	}
	return n, err
}

func (r scopeWins) PutScope(ctx context.Context, s inventory.Scope) error {
	if err := r.MemRepository.DeleteNode(ctx, s.FacilityID); err != nil {
		return err
	}
	return r.MemRepository.PutScope(ctx, s)
}

var bugs = map[string]struct {
	open func() inventory.Repository
	// fails are subtests that must fail.
	fails []string
}{
	"unsorted": {func() inventory.Repository { return unsorted{inventory.NewMemRepository()} }, []string{"Sorted", "NodeRoundTrip"}},
	"sharedMaps": {func() inventory.Repository {
		return &sharedMaps{MemRepository: inventory.NewMemRepository(), given: map[string]map[string]string{}}
	}, []string{"Ownership"}},
	"partialAssign": {func() inventory.Repository { return partialAssign{inventory.NewMemRepository()} }, []string{"AssignAllOrNothing", "Invalid"}},
	"strictDelete":  {func() inventory.Repository { return strictDelete{inventory.NewMemRepository()} }, []string{"Empty", "Idempotent", "IDClash"}},
	"noRollback":    {func() inventory.Repository { return noRollback{inventory.NewMemRepository()} }, []string{"BatchRollback", "ConcurrentBatches"}},
	"flatErrors":    {func() inventory.Repository { return flatErrors{inventory.NewMemRepository()} }, []string{"Empty", "NotFound", "DeleteNode"}},
	"scopeWins":     {func() inventory.Repository { return scopeWins{inventory.NewMemRepository()} }, []string{"IDClash"}},
}

// TestBuggy runs the suite against the repository named by $REPOTEST_BUG;
// TestSuiteFindsBugs runs it in a child process.
func TestBuggy(t *testing.T) {
	name := os.Getenv(bugEnv)
	if name == "" {
		t.Skip("run by TestSuiteFindsBugs")
	}
	repotest.Run(t, func(*testing.T) inventory.Repository { return bugs[name].open() })
}

// TestSuiteFindsBugs checks that the suite fails repositories that break
// the contract, each in the subtests that check what it breaks.
func TestSuiteFindsBugs(t *testing.T) {
	if os.Getenv(bugEnv) != "" {
		t.Skip("in the child process")
	}
	for name, bug := range bugs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBuggy$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), bugEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a repository with the bug %q (err %v):\n%s", name, err, out)
			}
			for _, sub := range bug.fails {
				if !strings.Contains(string(out), "--- FAIL: TestBuggy/"+sub+" ") {
					t.Errorf("subtest %s did not fail on the bug %q:\n%s", sub, name, out)
				}
			}
		})
	}
}
