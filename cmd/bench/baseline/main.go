// Command baseline is the smallest aws-lambda-go function there is: the
// floor that `make bench` measures the functions' cold starts against,
// built the same way in the same run.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
