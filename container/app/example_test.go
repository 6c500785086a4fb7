package app_test

import (
	"fmt"
	"os"

	"github.com/minato-ops/minato/container/app"
)

// A declaration is parsed strictly: a mistake names its key path and what
// is allowed.
func ExampleParse() {
	_, err := app.Parse([]byte("apps:\n  - name: web\n    image: shop/web:1.5\n    resources: {memory: 12q}\n"), ".")
	fmt.Println(err != nil)
	specs, err := app.Parse([]byte("name: web\nimage: shop/web:1.5\nreplicas: 2\nports: [\"8080-8081:80\"]\n"), ".")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(specs[0].Name, specs[0].ReplicaCount())
	// Output:
	// true
	// web 2
}

// A plan against an engine with nothing on it creates every replica.
func ExampleNewPlan() {
	specs, err := app.Parse([]byte("name: web\nimage: shop/web:1.5\nreplicas: 2\n"), ".")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := app.NewPlan(specs, nil, app.PlanOptions{})
	fmt.Println(p.Converged())
	_ = p.WriteText(os.Stdout)
}
