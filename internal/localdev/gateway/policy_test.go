package gateway_test

import (
	"fmt"

	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/localdev/gateway"
	"github.com/tokensmith/tokensmith/internal/route"
)

// ExampleAllows evaluates the authorizer's policy for one route as API
// Gateway does: the policy holds for every request to the route, and for no
// other method.
func ExampleAllows() {
	r, _ := route.Lookup("GET", "/v2/sites/{site_id}")
	p := authorizer.Policy("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/42e63e98c9a982ac9b8b7410", r)
	fmt.Println(gateway.Allows(p, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/42e63e98c9a982ac9b8b7410"))
	fmt.Println(gateway.Allows(p, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/65f0c0ffee00000000000002"))
	fmt.Println(gateway.Allows(p, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/DELETE/v2/sites/42e63e98c9a982ac9b8b7410"))
	list, _ := route.Lookup("GET", "/v2/sites")
	p = authorizer.Policy("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/", list)
	fmt.Println(gateway.Allows(p, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/"))
	fmt.Println(gateway.Allows(p, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/42e63e98c9a982ac9b8b7410"))
	// Output:
	// true
	// true
	// false
	// true
	// false
}
