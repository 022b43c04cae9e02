package authorizer

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/route"
)

// Identity sources: what API Gateway caches the authorizer's decisions by,
// as template.yaml declares them (a test holds it to these) and the local
// gateway reads them. The method and resource path keep a cached decision
// to its route; the source address keeps it to its address, so that a
// token's IP allowlist is never bypassed by a decision cached for another
// address.
var (
	IdentityHeaders = []string{"Authorization"}
	IdentityContext = []string{"httpMethod", "resourcePath", "identity.sourceIp"}
)

// Policy returns an IAM policy that allows route r of the API and stage
// that methodArn belongs to. Path parameters become wildcards, so the policy
// holds for every request to r, with one trailing slash too, which API
// Gateway routes to r; API Gateway's cache is keyed by credential, method
// and resource path, so a cached policy is never reused for another route.
func Policy(methodArn string, r route.Route) events.APIGatewayCustomAuthorizerPolicy {
	arn := ResourceARN(methodArn, r)
	resources := []string{arn}
	if !strings.HasSuffix(arn, "*") {
		resources = append(resources, arn+"/")
	}
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action:   []string{"execute-api:Invoke"},
			Effect:   "Allow",
			Resource: resources,
		}},
	}
}

// ResourceARN returns the execute-api ARN of route r on the API and stage of
// methodArn (arn:aws:execute-api:region:account:api/stage/METHOD/path).
func ResourceARN(methodArn string, r route.Route) string {
	parts := strings.SplitN(methodArn, "/", 3)
	base := parts[0]
	if len(parts) > 1 {
		base += "/" + parts[1]
	}
	segs := strings.Split(r.Path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "*"
		}
	}
	return base + "/" + r.Method + strings.Join(segs, "/")
}
