package tokensmith_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/route"
)

// rawTemplate is template.yaml with the parts these tests read; intrinsic
// functions stay yaml nodes, their tags (!If, !Sub) kept.
type rawTemplate struct {
	Parameters map[string]struct {
		Type           string `yaml:"Type"`
		Default        string `yaml:"Default"`
		AllowedPattern string `yaml:"AllowedPattern"`
	} `yaml:"Parameters"`
	Resources map[string]struct {
		Type                string    `yaml:"Type"`
		Condition           string    `yaml:"Condition"`
		DeletionPolicy      string    `yaml:"DeletionPolicy"`
		UpdateReplacePolicy string    `yaml:"UpdateReplacePolicy"`
		Properties          yaml.Node `yaml:"Properties"`
	} `yaml:"Resources"`
	Outputs map[string]struct {
		Condition string    `yaml:"Condition"`
		Value     yaml.Node `yaml:"Value"`
	} `yaml:"Outputs"`
}

func loadRaw(t *testing.T) rawTemplate {
	t.Helper()
	var raw rawTemplate
	if err := yaml.Unmarshal(tokensmith.Template, &raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodeProps(t *testing.T, raw rawTemplate, id string, v any) {
	t.Helper()
	props := raw.Resources[id].Properties
	if err := props.Decode(v); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
}

// flatten writes a yaml node as one line: tags, then scalars and
// sequences, so a test can compare an intrinsic function's shape.
func flatten(n *yaml.Node) string {
	var b strings.Builder
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if !strings.HasPrefix(n.Tag, "!!") && n.Tag != "" {
			b.WriteString(n.Tag + " ")
		}
		switch n.Kind {
		case yaml.ScalarNode:
			b.WriteString(n.Value)
		case yaml.SequenceNode, yaml.MappingNode:
			b.WriteString("[")
			for i, c := range n.Content {
				if i > 0 {
					b.WriteString(" ")
				}
				walk(c)
			}
			b.WriteString("]")
		case yaml.DocumentNode, yaml.AliasNode:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// TestCognitoManagedLogin holds the user pool's sign-in to what the console
// needs: a managed login domain, and a public app client with the
// authorization code grant, PKCE, the OpenID scopes and the console's URLs.
func TestCognitoManagedLogin(t *testing.T) {
	raw := loadRaw(t)

	client := raw.Resources["UserPoolClient"]
	var c struct {
		GenerateSecret                  bool      `yaml:"GenerateSecret"`
		AllowedOAuthFlowsUserPoolClient bool      `yaml:"AllowedOAuthFlowsUserPoolClient"`
		AllowedOAuthFlows               []string  `yaml:"AllowedOAuthFlows"`
		AllowedOAuthScopes              []string  `yaml:"AllowedOAuthScopes"`
		SupportedIdentityProviders      []string  `yaml:"SupportedIdentityProviders"`
		CallbackURLs                    yaml.Node `yaml:"CallbackURLs"`
		LogoutURLs                      yaml.Node `yaml:"LogoutURLs"`
	}
	if err := client.Properties.Decode(&c); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %v %v %v %v %v", client.Condition, c.GenerateSecret, c.AllowedOAuthFlowsUserPoolClient, c.AllowedOAuthFlows, c.AllowedOAuthScopes, c.SupportedIdentityProviders)
	if want := "UseCognito false true [code] [openid email profile] [COGNITO]"; got != want {
		t.Errorf("UserPoolClient OAuth = %s; want %s", got, want)
	}
	// The console's URLs default to the console this stack serves; the
	// parameters replace them.
	console := "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod/console/"
	urls := []struct{ name, got, want string }{
		{"CallbackURLs", flatten(&c.CallbackURLs), "!If [DefaultCallbackUrls [!Sub " + console + " !Sub " + console + "callback] !Ref ConsoleCallbackUrls]"},
		{"LogoutURLs", flatten(&c.LogoutURLs), "!If [DefaultSignOutUrls [!Sub " + console + "] !Ref ConsoleSignOutUrls]"},
	}
	for _, u := range urls {
		if u.got != u.want {
			t.Errorf("UserPoolClient %s = %s; want %s", u.name, u.got, u.want)
		}
	}
	if out := raw.Outputs["ConsoleUrl"]; flatten(&out.Value) != "!Sub "+console || out.Condition != "" {
		t.Errorf("ConsoleUrl output = %s (condition %q); want %s always", flatten(&out.Value), out.Condition, console)
	}

	domain := raw.Resources["UserPoolDomain"]
	var d struct {
		UserPoolID          string    `yaml:"UserPoolId"`
		ManagedLoginVersion int       `yaml:"ManagedLoginVersion"`
		Domain              yaml.Node `yaml:"Domain"`
	}
	if err := domain.Properties.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if domain.Type != "AWS::Cognito::UserPoolDomain" || domain.Condition != "UseCognito" || d.UserPoolID != "UserPool" || d.ManagedLoginVersion != 2 {
		t.Errorf("UserPoolDomain = %s %s %+v; want managed login (version 2) on UserPool with Cognito", domain.Type, domain.Condition, d)
	}
	wantDomain := "!If [DefaultDomainPrefix !Sub [tokensmith-${AWS::AccountId}-${StackSuffix} [StackSuffix !Select [0 !Split [- !Select [2 !Split [/ !Ref AWS::StackId]]]]]] !Ref SignInDomainPrefix]"
	if got := flatten(&d.Domain); got != wantDomain {
		t.Errorf("UserPoolDomain Domain = %s; want %s", got, wantDomain)
	}
	branding := raw.Resources["ManagedLoginBranding"]
	if branding.Type != "AWS::Cognito::ManagedLoginBranding" || !strings.Contains(flatten(&branding.Properties), "ClientId !Ref UserPoolClient UseCognitoProvidedValues true") {
		t.Errorf("ManagedLoginBranding = %s %s; want Cognito's style for UserPoolClient", branding.Type, flatten(&branding.Properties))
	}
	if out := raw.Outputs["SignInUrl"]; out.Condition != "UseCognito" || flatten(&out.Value) != "!Sub https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com" {
		t.Errorf("SignInUrl output = %s (condition %q)", flatten(&out.Value), out.Condition)
	}
	if out := raw.Outputs["UserPoolClientId"]; flatten(&out.Value) != "!Ref UserPoolClient" {
		t.Errorf("UserPoolClientId output = %s", flatten(&out.Value))
	}
}

// TestSignInParameters holds the parameters of the sign-in set-up: empty
// defaults that mean "derive it", and a domain prefix pattern that is
// Cognito's own rule, which the derived prefix also meets.
func TestSignInParameters(t *testing.T) {
	raw := loadRaw(t)
	for name, typ := range map[string]string{"SignInDomainPrefix": "String", "ConsoleCallbackUrls": "CommaDelimitedList", "ConsoleSignOutUrls": "CommaDelimitedList"} {
		p, ok := raw.Parameters[name]
		if !ok || p.Type != typ || p.Default != "" {
			t.Errorf("parameter %s = %+v, %v; want a %s defaulting to empty", name, p, ok, typ)
		}
	}
	pattern, err := regexp.Compile(raw.Parameters["SignInDomainPrefix"].AllowedPattern)
	if err != nil {
		t.Fatalf("SignInDomainPrefix AllowedPattern: %v", err)
	}
	tests := []struct {
		prefix string
		want   bool
	}{
		{"", true},
		// What the default derives: the account id and the stack id's
		// first segment.
		{"tokensmith-123456789012-1a2b3c4d", true},
		{"tokens", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"Tokensmith", false},
		{"-tokensmith", false},
		{"tokensmith-", false},
		{"token_smith", false},
		{"token.smith", false},
	}
	for _, tc := range tests {
		if got := pattern.MatchString(tc.prefix); got != tc.want {
			t.Errorf("AllowedPattern matches %q = %v; want %v", tc.prefix, got, tc.want)
		}
	}
}

// TestStatefulResourcesRetained holds that deleting the stack, or an update
// that replaces them, keeps the people's accounts, the data, the dead
// letters and the logs.
func TestStatefulResourcesRetained(t *testing.T) {
	raw := loadRaw(t)
	stateful := []string{"AWS::Cognito::UserPool", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup"}
	seen := map[string]bool{}
	for id, r := range raw.Resources {
		if !slices.Contains(stateful, r.Type) {
			continue
		}
		seen[r.Type] = true
		if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("%s (%s): DeletionPolicy %q, UpdateReplacePolicy %q; want Retain, Retain", id, r.Type, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
	}
	if len(seen) != len(stateful) {
		t.Errorf("stateful types in the template = %v; want all of %v", seen, stateful)
	}
}

// TestAuthorizerArnNamesTheFunction holds the API's authorizer ARN, built from
// the authorizer's fixed name to keep the API independent of the function
// (see TestExpandedTemplateHasNoCycle), to the name the function has.
func TestAuthorizerArnNamesTheFunction(t *testing.T) {
	raw := loadRaw(t)
	var fn struct {
		FunctionName yaml.Node `yaml:"FunctionName"`
	}
	decodeProps(t, raw, "AuthorizerFunction", &fn)
	var api struct {
		Auth struct {
			Authorizers map[string]struct {
				FunctionArn                       yaml.Node `yaml:"FunctionArn"`
				DisableFunctionDefaultPermissions bool      `yaml:"DisableFunctionDefaultPermissions"`
			} `yaml:"Authorizers"`
		} `yaml:"Auth"`
	}
	decodeProps(t, raw, "Api", &api)
	a := api.Auth.Authorizers["CredentialAuthorizer"]
	name, arn := flatten(&fn.FunctionName), flatten(&a.FunctionArn)
	wantArn := strings.Replace(name, "[", "[arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:", 1)
	if !strings.HasPrefix(name, "!Sub [${AWS::StackName}-") || arn != wantArn {
		t.Errorf("authorizer FunctionArn = %s; want %s, the ARN of FunctionName %s", arn, wantArn, name)
	}
	// SAM's own permission would name the function only by that ARN and
	// could be created before the function; AuthorizerPermission replaces it.
	if !a.DisableFunctionDefaultPermissions {
		t.Error("CredentialAuthorizer keeps SAM's default permission")
	}
	checkPermission(t, raw, "AuthorizerPermission", "!GetAtt AuthorizerFunction.Arn apigateway.amazonaws.com !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/authorizers/*")
}

// checkPermission holds the Lambda permission id to want: its function,
// principal and source ARN.
func checkPermission(t *testing.T, raw rawTemplate, id, want string) {
	t.Helper()
	var perm struct {
		FunctionName yaml.Node `yaml:"FunctionName"`
		Principal    string    `yaml:"Principal"`
		SourceArn    yaml.Node `yaml:"SourceArn"`
	}
	decodeProps(t, raw, id, &perm)
	if got := fmt.Sprintf("%s %s %s", flatten(&perm.FunctionName), perm.Principal, flatten(&perm.SourceArn)); got != want {
		t.Errorf("%s = %s; want %s", id, got, want)
	}
}

// TestConsoleRoutesNameTheFunction holds the console's integrations in the
// API's definition, built from the console function's fixed name to keep the
// API independent of it (its environment names the API and the app client),
// to the name the function has, and its permission to those routes.
func TestConsoleRoutesNameTheFunction(t *testing.T) {
	raw := loadRaw(t)
	checkDefinitionRoutes(t, raw, "ConsoleFunction", "console", func(path string) bool { return strings.HasPrefix(path, "/console") })
	checkPermission(t, raw, "ConsolePermission", "!GetAtt ConsoleFunction.Arn apigateway.amazonaws.com !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/GET/console*")
}

// TestUpstreamRoutesNameTheFunction holds the upstream function's two
// resources in the API's definition (the key set and the greedy resource of
// every upstream route) to its fixed name, and its permissions to those
// resources alone.
func TestUpstreamRoutesNameTheFunction(t *testing.T) {
	raw := loadRaw(t)
	checkDefinitionRoutes(t, raw, "UpstreamFunction", "upstream", func(path string) bool { return path == "/.well-known/jwks.json" || path == route.ProxyPath })
	checkPermission(t, raw, "UpstreamPermission", "!GetAtt UpstreamFunction.Arn apigateway.amazonaws.com !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/*/v2/*")
	checkPermission(t, raw, "JwksPermission", "!GetAtt UpstreamFunction.Arn apigateway.amazonaws.com !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/GET/.well-known/jwks.json")
}

// checkDefinitionRoutes holds the integrations of the API definition's
// paths that mine reports to the fixed name of function logicalID, named
// name.
func checkDefinitionRoutes(t *testing.T, raw rawTemplate, logicalID, name string, mine func(path string) bool) {
	t.Helper()
	var fn struct {
		FunctionName yaml.Node `yaml:"FunctionName"`
	}
	decodeProps(t, raw, logicalID, &fn)
	fixed := flatten(&fn.FunctionName)
	if !strings.HasPrefix(fixed, "!Sub [${AWS::StackName}-"+name+"-") {
		t.Fatalf("%s FunctionName = %s; want a fixed name", logicalID, fixed)
	}
	wantURI := strings.Replace(fixed, "[", "[arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:", 1)
	wantURI = strings.Replace(wantURI, "-${StackSuffix}", "-${StackSuffix}/invocations", 1)
	var api struct {
		DefinitionBody struct {
			Paths map[string]map[string]struct {
				Integration struct {
					URI yaml.Node `yaml:"uri"`
				} `yaml:"x-amazon-apigateway-integration"`
			} `yaml:"paths"`
		} `yaml:"DefinitionBody"`
	}
	decodeProps(t, raw, "Api", &api)
	found := false
	for path, methods := range api.DefinitionBody.Paths {
		if !mine(path) {
			continue
		}
		for method, op := range methods {
			found = true
			if got := flatten(&op.Integration.URI); got != wantURI {
				t.Errorf("%s %s integration uri = %s; want %s", method, path, got, wantURI)
			}
		}
	}
	if !found {
		t.Errorf("the API's definition has no path of %s", logicalID)
	}
}

// TestCognitoAccounts holds the user pool to what memberships granted to
// verified emails rely on: an email is one account whatever its case; a
// changed email counts only once verified; the console's client cannot
// write the email and has no password flow (passwords go to the managed
// login alone); the people function may create accounts and resend
// their invitations (AdminCreateUser) and read an account's status
// (AdminGetUser), nothing more; a temporary password lasts as long as an
// invitation.
func TestCognitoAccounts(t *testing.T) {
	raw := loadRaw(t)
	var pool struct {
		UsernameConfiguration struct {
			CaseSensitive *bool `yaml:"CaseSensitive"`
		} `yaml:"UsernameConfiguration"`
		UserAttributeUpdateSettings struct {
			AttributesRequireVerificationBeforeUpdate []string `yaml:"AttributesRequireVerificationBeforeUpdate"`
		} `yaml:"UserAttributeUpdateSettings"`
		AutoVerifiedAttributes []string `yaml:"AutoVerifiedAttributes"`
		Policies               struct {
			PasswordPolicy struct {
				TemporaryPasswordValidityDays int `yaml:"TemporaryPasswordValidityDays"`
			} `yaml:"PasswordPolicy"`
		} `yaml:"Policies"`
	}
	poolRes := raw.Resources["UserPool"]
	if err := poolRes.Properties.Decode(&pool); err != nil {
		t.Fatal(err)
	}
	if cs := pool.UsernameConfiguration.CaseSensitive; cs == nil || *cs {
		t.Errorf("UserPool UsernameConfiguration.CaseSensitive = %v; want false", cs)
	}
	if got := pool.UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate; !slices.Equal(got, []string{"email"}) {
		t.Errorf("UserPool AttributesRequireVerificationBeforeUpdate = %v; want [email]", got)
	}
	if got, want := pool.Policies.PasswordPolicy.TemporaryPasswordValidityDays, int(tokensmith.InvitationLapse/(24*time.Hour)); got != want {
		t.Errorf("UserPool TemporaryPasswordValidityDays = %d; want %d, the invitation's lapse", got, want)
	}
	if !slices.Contains(pool.AutoVerifiedAttributes, "email") {
		t.Errorf("UserPool AutoVerifiedAttributes = %v; want email (verification before update needs it)", pool.AutoVerifiedAttributes)
	}

	var client struct {
		ExplicitAuthFlows []string  `yaml:"ExplicitAuthFlows"`
		WriteAttributes   *[]string `yaml:"WriteAttributes"`
	}
	clientRes := raw.Resources["UserPoolClient"]
	if err := clientRes.Properties.Decode(&client); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}; !slices.Equal(client.ExplicitAuthFlows, want) {
		t.Errorf("UserPoolClient ExplicitAuthFlows = %v; want %v", client.ExplicitAuthFlows, want)
	}
	// Without WriteAttributes the client may write every attribute.
	if client.WriteAttributes == nil || slices.Contains(*client.WriteAttributes, "email") || slices.Contains(*client.WriteAttributes, "email_verified") {
		t.Errorf("UserPoolClient WriteAttributes = %v; want a list without email", client.WriteAttributes)
	}

	people := raw.Resources["PeopleFunction"]
	policies := flatten(&people.Properties)
	if got := strings.Count(policies, "cognito-idp:"); got != 2 || !strings.Contains(policies, "Action [cognito-idp:AdminCreateUser cognito-idp:AdminGetUser] Resource !GetAtt UserPool.Arn") {
		t.Errorf("PeopleFunction's user pool grant = %s; want AdminCreateUser and AdminGetUser on UserPool alone", policies)
	}
}

// TestCognitoEmail holds the user pool's email to SES when EmailSender is
// set (its identity EmailSender itself unless EmailSenderIdentity names
// one), to Cognito's own otherwise; the sender pattern takes an address
// or nothing. The console's client allows revoking its refresh tokens.
func TestCognitoEmail(t *testing.T) {
	raw := loadRaw(t)
	var pool struct {
		EmailConfiguration yaml.Node `yaml:"EmailConfiguration"`
	}
	decodeProps(t, raw, "UserPool", &pool)
	want := "!If [SendEmailWithSes [EmailSendingAccount DEVELOPER From !Ref EmailSender SourceArn !Sub [arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Identity} " +
		"[Identity !If [SenderIsIdentity !Ref EmailSender !Ref EmailSenderIdentity]]]] [EmailSendingAccount COGNITO_DEFAULT]]"
	if got := flatten(&pool.EmailConfiguration); got != want {
		t.Errorf("UserPool EmailConfiguration = %s; want %s", got, want)
	}
	for name, want := range map[string]string{"EmailSender": "SendEmailWithSes", "EmailSenderIdentity": "SenderIsIdentity"} {
		if p, ok := raw.Parameters[name]; !ok || p.Type != "String" || p.Default != "" {
			t.Errorf("parameter %s = %+v; want a String defaulting to empty, used by %s", name, p, want)
		}
	}
	pattern := regexp.MustCompile(raw.Parameters["EmailSender"].AllowedPattern)
	for sender, want := range map[string]bool{"": true, "no-reply@example.com": true, "no reply@example.com": false, "Tokensmith <no-reply@example.com>": false, "example.com": false} {
		if got := pattern.MatchString(sender); got != want {
			t.Errorf("EmailSender pattern matches %q = %v; want %v", sender, got, want)
		}
	}
	var client struct {
		EnableTokenRevocation bool `yaml:"EnableTokenRevocation"`
	}
	decodeProps(t, raw, "UserPoolClient", &client)
	if !client.EnableTokenRevocation {
		t.Error("UserPoolClient EnableTokenRevocation = false; want true, for the console's sign-out")
	}
}
