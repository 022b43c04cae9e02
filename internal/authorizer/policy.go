package authorizer

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/route"
)

// Policy returns an IAM policy with effect ("Allow" or "Deny") on route r of
// the API and stage that methodArn belongs to. Path parameters become
// wildcards, so the policy holds for every request to r; API Gateway's cache
// is keyed by credential, method and resource path, so a cached policy is
// never reused for another route.
func Policy(methodArn string, r route.Route, effect string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action:   []string{"execute-api:Invoke"},
			Effect:   effect,
			Resource: []string{ResourceArn(methodArn, r)},
		}},
	}
}

// ResourceArn returns the execute-api ARN of route r on the API and stage of
// methodArn (arn:aws:execute-api:region:account:api/stage/METHOD/path).
func ResourceArn(methodArn string, r route.Route) string {
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

// Allows reports whether policy allows methodArn as API Gateway evaluates
// it: an explicit Deny wins, then any Allow; `*` and `?` are wildcards.
func Allows(policy events.APIGatewayCustomAuthorizerPolicy, methodArn string) bool {
	allowed := false
	for _, st := range policy.Statement {
		for _, res := range st.Resource {
			if !wildcardMatch(res, methodArn) {
				continue
			}
			switch st.Effect {
			case "Deny":
				return false
			case "Allow":
				allowed = true
			}
		}
	}
	return allowed
}

// wildcardMatch matches s against pattern, where * matches any run of
// characters (slashes included, as in IAM) and ? any one character.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
