package gateway

import "github.com/aws/aws-lambda-go/events"

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
