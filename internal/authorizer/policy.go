package authorizer

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/route"
)

// Policy returns an IAM policy with effect ("Allow" or "Deny") on route r of
// the API and stage that methodArn belongs to. Path parameters become
// wildcards, so the policy holds for every request to r, with one trailing
// slash too, which API Gateway routes to r; API Gateway's cache is keyed by
// credential, method and resource path, so a cached policy is never reused
// for another route.
func Policy(methodArn string, r route.Route, effect string) events.APIGatewayCustomAuthorizerPolicy {
	arn := ResourceARN(methodArn, r)
	resources := []string{arn}
	if !strings.HasSuffix(arn, "*") {
		resources = append(resources, arn+"/")
	}
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action:   []string{"execute-api:Invoke"},
			Effect:   effect,
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
