package image_test

import (
	"fmt"

	"github.com/minato-ops/minato/image"
)

func ExampleParseReference() {
	for _, s := range []string{"nginx", "registry.example:5000/shop/web:1.4", "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/web:2"} {
		r, err := image.ParseReference(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		if _, region, ok := r.ECR(); ok {
			fmt.Println(r, "(Amazon ECR in "+region+")")
			continue
		}
		fmt.Println(r, "as docker shows it:", r.Familiar())
	}
	_, err := image.ParseReference("Shop/Web")
	fmt.Println(err)
	// Output:
	// docker.io/library/nginx:latest as docker shows it: nginx:latest
	// registry.example:5000/shop/web:1.4 as docker shows it: registry.example:5000/shop/web:1.4
	// 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shop/web:2 (Amazon ECR in ap-northeast-1)
	// invalid image reference "Shop/Web": the repository must be lower case (registries refuse upper case; the registry host may have it)
}
