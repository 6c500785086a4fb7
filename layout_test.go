package minato_test

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/minato-ops/minato"

type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	Standard     bool
	Imports      []string
	Deps         []string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", "./...")
	out, err := cmd.Output()
	require.NoError(t, err)
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

// stdlib reports whether an import path is in the standard library.
func stdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestCorePackagesImportOnlyStdlibAndInventory enforces DESIGN.md rule 1:
// the core packages depend (transitively) only on the standard library and
// minato's own core packages, so no Docker, AWS, SNMP or Prometheus code can
// reach them.
func TestCorePackagesImportOnlyStdlibAndInventory(t *testing.T) {
	allowed := map[string][]string{
		"inventory": {},
		"job":       {"inventory"},
		"monitor":   {"inventory"},
		"diag":      {"inventory"},
		"ha":        {"inventory", "monitor"},
	}
	for core, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "./"+core).Output()
		require.NoError(t, err, core)
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			dep := sc.Text()
			if stdlib(dep) || dep == module+"/"+core {
				continue
			}
			rel := strings.TrimPrefix(dep, module+"/")
			assert.True(t, rel != dep && slices.Contains(ok, rel),
				"core package %s must import only the standard library and %v, but depends on %s", core, ok, dep)
		}
	}
}

// TestOnlyContainerAndImageImportDockerClient enforces that Docker code is
// reached through package container (and image) only; their subpackages,
// such as the fake engine container/enginetest, belong to them. The test
// harness internal/dockertest is the one exception: it is the independent
// oracle the container package is checked against, so it must not use it.
func TestOnlyContainerAndImageImportDockerClient(t *testing.T) {
	allowed := []string{"container", "image", "internal/dockertest"}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/docker/docker") || strings.HasPrefix(imp, "github.com/moby/moby") {
				ok := slices.ContainsFunc(allowed, func(a string) bool { return rel == a || strings.HasPrefix(rel, a+"/") })
				assert.True(t, ok, "%s imports %s; only %v (and their subpackages) may", p.ImportPath, imp, allowed)
			}
		}
	}
}

// TestLibraryPackagesHaveNoFlagsOrExit enforces DESIGN.md rule 3 as far as
// imports show it: library packages do not parse flags or import testing
// outside tests.
func TestLibraryPackagesHaveNoFlagsOrExit(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if p.Name == "main" || strings.HasPrefix(rel, "cmd/") || strings.HasPrefix(rel, "internal/") || strings.HasPrefix(rel, "examples/") {
			continue
		}
		assert.NotContains(t, p.Imports, "flag", "%s: library packages take no flags", rel)
		if !strings.HasSuffix(p.Name, "test") {
			assert.NotContains(t, p.Imports, "testing", "%s: testing only in _test.go files or <pkg>test packages", rel)
		}
		fset := token.NewFileSet()
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			require.NoError(t, err)
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Recv == nil && n.Name.Name == "init" {
						t.Errorf("%s: library code must not have init()", fset.Position(n.Pos()))
					}
				case *ast.CallExpr:
					switch fn := n.Fun.(type) {
					case *ast.Ident:
						// Test-support packages (<pkg>test) may panic on a
						// setup mistake, as httptest.NewServer does.
						if fn.Name == "panic" && !strings.HasSuffix(p.Name, "test") {
							t.Errorf("%s: library code must not panic", fset.Position(n.Pos()))
						}
					case *ast.SelectorExpr:
						if x, ok := fn.X.(*ast.Ident); ok {
							call := x.Name + "." + fn.Sel.Name
							if call == "os.Exit" || strings.HasPrefix(call, "log.Fatal") || strings.HasPrefix(call, "log.Panic") {
								t.Errorf("%s: library code must not call %s", fset.Position(n.Pos()), call)
							}
						}
					}
				}
				return true
			})
		}
	}
}

// TestLayout checks the design card's top level and that every package
// documents itself: doc.go everywhere, example_test.go wherever something is
// exported.
func TestLayout(t *testing.T) {
	for _, d := range []string{"container", "monitor", "job", "ha", "image", "inventory", "diag", "examples", "cmd", "internal", "docs", "doc.go", "LICENSE", "README.md", ".ci/run"} {
		_, err := os.Stat(d)
		assert.NoError(t, err, "the top level must have %s", d)
	}
	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	assert.Contains(t, string(mod), "module "+module+"\n")
	assert.Regexp(t, `(?m)^go 1\.25(\.\d+)?$`, string(mod), "the go floor is 1.25: pin dependencies that would raise it")

	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if p.Name == "main" {
			continue
		}
		if !slices.Contains(p.GoFiles, "doc.go") {
			t.Errorf("package %s has no doc.go", p.ImportPath)
		}
		if strings.HasPrefix(rel, "internal/") || strings.Contains(rel, "/internal/") {
			continue
		}
		if exportsSomething(t, p) && !slices.Contains(append(p.TestGoFiles, p.XTestGoFiles...), "example_test.go") {
			t.Errorf("package %s exports identifiers but has no example_test.go", p.ImportPath)
		}
	}
}

func exportsSomething(t *testing.T, p pkg) bool {
	for _, f := range p.GoFiles {
		if f == "doc.go" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.Dir, f))
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			for _, kw := range []string{"func ", "type ", "var ", "const "} {
				if rest, ok := strings.CutPrefix(line, kw); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
					return true
				}
			}
		}
	}
	return false
}
