package main

import "os"

func main() {
	os.Exit(program(os.Args[1:], os.Stdout, os.Stderr))
}
