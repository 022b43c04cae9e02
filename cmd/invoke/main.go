// Command invoke runs a function's bootstrap once under the Lambda Runtime
// Interface Emulator, as `sam local invoke` does in its container, with the
// environment events/env.json gives the function: the answer on stdout, the
// emulator's and the function's logs on stderr. `make invoke` builds the
// bootstrap for this machine and runs it here against DynamoDB Local.
//
//	go run ./cmd/invoke -function AuthorizerFunction -bootstrap .build/host/AuthorizerFunction/bootstrap events/authorizer-api-token.json
//
// With -emulator it prints the emulator's path instead, building it into the
// tool cache first when needed (`make test` does this before the emulator
// tests, where go test would keep the build quiet).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/tokensmith/tokensmith/internal/rie"
)

func main() {
	function := flag.String("function", "", "the function's logical id in template.yaml (AuthorizerFunction, ...)")
	bootstrap := flag.String("bootstrap", "", "the function's bootstrap, built for this machine")
	emulator := flag.Bool("emulator", false, "print the emulator's path, building it first when needed, and invoke nothing")
	flag.Parse()
	if *emulator {
		path, err := rie.Path()
		if err != nil {
			fmt.Fprintln(os.Stderr, "invoke:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "rie: the emulator tests run", path)
		fmt.Println(path)
		return
	}
	if *function == "" || *bootstrap == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: invoke -function LogicalId -bootstrap path event.json")
		os.Exit(2)
	}
	if err := run(*function, *bootstrap, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(function, bootstrap, eventFile string) error {
	event, err := os.ReadFile(eventFile)
	if err != nil {
		return err
	}
	env, err := rie.Env(".", function)
	if err != nil {
		return err
	}
	em, err := rie.Start(rie.Config{Bootstrap: bootstrap, Env: env, Log: os.Stderr, Quiet: true})
	if err != nil {
		return err
	}
	defer em.Close()
	answer, err := em.Invoke(context.Background(), event)
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", answer)
	return err
}
