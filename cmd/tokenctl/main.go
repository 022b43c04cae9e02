// Command tokenctl is the operator's tool against tokensmith's table, locally
// or in AWS (DYNAMODB_ENDPOINT and TABLE_NAME from the environment; locally
// they default to what `make run` uses). Each command prints one JSON object.
//
//	tokenctl workspace create --slug S --name N --plan free|enterprise
//	tokenctl workspace set-plan --workspace ID_OR_SLUG --plan free|enterprise
//	tokenctl workspace revoke-all --workspace ID_OR_SLUG
//	tokenctl workspace recount-admins --workspace ID_OR_SLUG
//	tokenctl site create --workspace ID_OR_SLUG --name N --short-name S [--plan P]
//	tokenctl site set-plan --site SITE_ID --plan P [--rate-limit N]
//	tokenctl site revoke-all --site SITE_ID
//	tokenctl member add --workspace ID_OR_SLUG [--site SITE_ID] --email E --role admin|member
//	tokenctl member remove --workspace ID_OR_SLUG [--site SITE_ID] --email E
//	tokenctl dev-token --email E [--sub S] [--unverified]
//	tokenctl dev-leak-report --token T [--url U]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/localdev/scanner"
	"github.com/tokensmith/tokensmith/internal/operator"
	"github.com/tokensmith/tokensmith/internal/store"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `usage:
  tokenctl workspace create --slug S --name N --plan free|enterprise
  tokenctl workspace set-plan --workspace ID_OR_SLUG --plan free|enterprise
  tokenctl workspace revoke-all --workspace ID_OR_SLUG
  tokenctl workspace recount-admins --workspace ID_OR_SLUG
      revokes every token of the workspace and of its sites
  tokenctl site create --workspace ID_OR_SLUG --name N --short-name S [--plan P]
  tokenctl site set-plan --site SITE_ID --plan P [--rate-limit N]
      P: starter, basic, cms (default), ecommerce, business or enterprise;
      --rate-limit (requests a minute per token) only with enterprise
  tokenctl site revoke-all --site SITE_ID
  tokenctl member add --workspace ID_OR_SLUG [--site SITE_ID] --email E --role admin|member
  tokenctl member remove --workspace ID_OR_SLUG [--site SITE_ID] --email E
  tokenctl assertion-key rotate --secret ARN [--drop-previous]
      in AWS: a new assertion key for the upstream routes; the previous one
      stays published for a day, unless dropped (docs/OPERATIONS.md)
  tokenctl dev-token --email E [--sub S] [--unverified]
  tokenctl dev-leak-report --token T [--url U]
      a report of T found at U, signed as GitHub signs it, by make run's local key`

// errUsage marks a command line that is not one of the above.
var errUsage = errors.New("usage")

// run executes one command and returns the exit status: 0, 1 for a failure,
// 2 for a command line that is wrong.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	out, err := dispatch(ctx, args, getenv)
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "tokenctl: %v\n%s\n", err, usage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "tokenctl: %s\n", describe(err))
		return 1
	}
	json.NewEncoder(stdout).Encode(out)
	return 0
}

// describe is what tokenctl says of a failure: the error, and the fields of
// a refused input with what each must be.
func describe(err error) string {
	msg := err.Error()
	var e *tokensmith.Error
	if errors.As(err, &e) {
		for _, d := range e.Details {
			msg += "; " + d.Field + " " + d.Message
		}
	}
	return msg
}

func dispatch(ctx context.Context, args []string, getenv func(string) string) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: no command", errUsage)
	}
	cmd := args[0]
	rest := args[1:]
	if cmd != "dev-token" && cmd != "dev-leak-report" {
		if len(args) < 2 {
			return nil, fmt.Errorf("%w: %s needs a subcommand", errUsage, cmd)
		}
		cmd, rest = args[0]+" "+args[1], args[2:]
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	slug := fs.String("slug", "", "workspace slug")
	name := fs.String("name", "", "name")
	plan := fs.String("plan", "", "workspace: free or enterprise; site: starter, basic, cms, ecommerce, business or enterprise")
	rateLimit := fs.Int64("rate-limit", 0, "site set-plan: requests a minute of each token of an enterprise site (default 600)")
	workspace := fs.String("workspace", "", "workspace id or slug")
	site := fs.String("site", "", "site id")
	shortName := fs.String("short-name", "", "site short name")
	email := fs.String("email", "", "person's email")
	role := fs.String("role", "", "admin or member")
	sub := fs.String("sub", "", "dev-token: the subject (default: the email's stable subject)")
	unverified := fs.Bool("unverified", false, "dev-token: email_verified false")
	leaked := fs.String("token", "", "dev-leak-report: the leaked token")
	leakURL := fs.String("url", scanner.DefaultURL, "dev-leak-report: where the token was found")
	secretARN := fs.String("secret", "", "assertion-key rotate: the stack's AssertionKeySecret (its ARN)")
	dropPrevious := fs.Bool("drop-previous", false, "assertion-key rotate: publish the previous keys no longer (after a leak)")
	if err := fs.Parse(rest); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	required := func(pairs ...any) error {
		for i := 0; i < len(pairs); i += 2 {
			if *pairs[i+1].(*string) == "" {
				return fmt.Errorf("%w: %s needs --%s", errUsage, cmd, pairs[i])
			}
		}
		return nil
	}

	endpoint := getenv("DYNAMODB_ENDPOINT")
	table := getenv("TABLE_NAME")
	local := endpoint != "" || table == ""
	if local && endpoint == "" {
		endpoint = defaults.Endpoint
	}
	if table == "" {
		table = defaults.Table
	}
	// devOnly refuses a command that signs with a key of the local stack
	// when tokenctl works against AWS.
	devOnly := func(what string) error {
		if local {
			return nil
		}
		return fmt.Errorf("%s signs with %s and is refused against AWS (DYNAMODB_ENDPOINT is not set)", cmd, what)
	}
	localDir := getenv("LOCAL_DIR")
	if localDir == "" {
		localDir = defaults.Dir
	}
	connect := func() (*operator.Service, error) {
		db, who, err := client(ctx, endpoint)
		if err != nil {
			return nil, err
		}
		dir := operator.New(store.New(db, table))
		dir.Operator = who
		return dir, nil
	}

	switch cmd {
	case "workspace create":
		if err := required("slug", slug, "name", name, "plan", plan); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		ws, err := dir.CreateWorkspace(ctx, *slug, *name, tokensmith.Plan(*plan))
		if err != nil {
			return nil, err
		}
		return map[string]string{"id": ws.ID, "slug": ws.Slug}, nil
	case "workspace set-plan":
		if err := required("workspace", workspace, "plan", plan); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		ws, err := dir.SetPlan(ctx, *workspace, tokensmith.Plan(*plan))
		if err != nil {
			return nil, err
		}
		return map[string]string{"id": ws.ID, "slug": ws.Slug, "plan": string(ws.Plan)}, nil
	case "workspace revoke-all":
		if err := required("workspace", workspace); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		ws, n, err := dir.RevokeWorkspaceTokens(ctx, *workspace)
		if err != nil {
			return nil, partial(err, n)
		}
		return map[string]any{"id": ws.ID, "slug": ws.Slug, "revoked": n}, nil
	case "workspace recount-admins":
		if err := required("workspace", workspace); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		ws, was, now, err := dir.RecountAdmins(ctx, *workspace)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": ws.ID, "slug": ws.Slug, "admins": now, "was": was}, nil
	case "site revoke-all":
		if err := required("site", site); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		s, n, err := dir.RevokeSiteTokens(ctx, *site)
		if err != nil {
			return nil, partial(err, n)
		}
		return map[string]any{"id": s.ID, "revoked": n}, nil
	case "site create":
		if err := required("workspace", workspace, "name", name, "short-name", shortName); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		s, err := dir.CreateSite(ctx, *workspace, *name, *shortName, tokensmith.SitePlan(*plan))
		if err != nil {
			return nil, err
		}
		return map[string]string{"id": s.ID}, nil
	case "site set-plan":
		if err := required("site", site, "plan", plan); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		s, err := dir.SetSitePlan(ctx, *site, tokensmith.SitePlan(*plan), *rateLimit)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": s.ID, "plan": string(s.Plan), "rateLimit": s.TokenRateLimit()}, nil
	case "member add":
		if err := required("workspace", workspace, "email", email, "role", role); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		m, err := dir.AddMember(ctx, *workspace, *site, *email, tokensmith.Role(*role))
		if err != nil {
			return nil, err
		}
		return memberOut(m), nil
	case "member remove":
		if err := required("workspace", workspace, "email", email); err != nil {
			return nil, err
		}
		dir, err := connect()
		if err != nil {
			return nil, err
		}
		m, err := dir.RemoveMember(ctx, *workspace, *site, *email)
		if err != nil {
			return nil, err
		}
		return memberOut(m), nil
	case "dev-token":
		if err := required("email", email); err != nil {
			return nil, err
		}
		if err := devOnly("the local issuer"); err != nil {
			return nil, err
		}
		if a, err := mail.ParseAddress(*email); err != nil || a.Address != *email {
			return nil, fmt.Errorf("--email %q is not an email address", *email)
		}
		addr := getenv("ADDR")
		if addr == "" {
			addr = defaults.Addr
		}
		// The local issuer signs in anyone who asks, as its sign-in page
		// does: the token says who they are, the table what they may do.
		tok, err := issuer.Sign(issuer.Config{
			URL:     "http://" + addr + defaults.IssuerPath,
			KeyFile: filepath.Join(localDir, defaults.IssuerKeyFile),
		}, issuer.Claims{Email: *email, Subject: *sub, Unverified: *unverified}, time.Now(), defaults.TokenTTL)
		if errors.Is(err, issuer.ErrNoKey) {
			return nil, fmt.Errorf("%w (start the local stack with `make run` first; it creates the key)", err)
		}
		if err != nil {
			return nil, err
		}
		return map[string]string{"token": tok}, nil
	case "assertion-key rotate":
		if err := required("secret", secretARN); err != nil {
			return nil, err
		}
		if local {
			return nil, fmt.Errorf("%s works against AWS (TABLE_NAME set, DYNAMODB_ENDPOINT not); locally, delete %s and start make run again", cmd, filepath.Join(localDir, defaults.AssertionKeyFile))
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		k, err := assertion.Rotate(ctx, secretsmanager.NewFromConfig(cfg), *secretARN, time.Now(), *dropPrevious)
		if err != nil {
			return nil, err
		}
		return map[string]string{"kid": k.ID}, nil
	case "dev-leak-report":
		if err := required("token", leaked); err != nil {
			return nil, err
		}
		if err := devOnly("the local GitHub key"); err != nil {
			return nil, err
		}
		report, err := scanner.Report(localDir, *leaked, *leakURL)
		switch {
		case errors.Is(err, scanner.ErrNotToken):
			return nil, fmt.Errorf("--token is %w", err)
		case errors.Is(err, scanner.ErrNoKey):
			return nil, fmt.Errorf("%w (start the local stack with `make run` first; it creates the key)", err)
		case err != nil:
			return nil, err
		}
		return report, nil
	}
	return nil, fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// partial is the error of a revoke-all that stopped at err after revoking
// n tokens, which stay revoked: the operator runs it again.
func partial(err error, n int) error {
	if n == 0 {
		return err
	}
	return fmt.Errorf("%w (%d tokens revoked before it stopped; run it again)", err, n)
}

// memberOut is what member add and remove print: the member's id, and the
// person it is bound to (null until bound).
func memberOut(m tokensmith.Member) map[string]any {
	var userID any
	if m.Bound() {
		userID = m.UserID
	}
	return map[string]any{"memberId": m.ID, "userId": userID}
}

// client is DynamoDB Local's client for a local endpoint, and otherwise one
// from the operator's AWS configuration (profiles, SSO, the environment).
// It also names the operator, for the audit events of their changes: the
// local OS user, or the ARN of the AWS caller identity.
func client(ctx context.Context, endpoint string) (*dynamodb.Client, string, error) {
	if endpoint != "" {
		return ddbclient.Local(endpoint), localOperator(), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("load AWS configuration: %w", err)
	}
	who, err := awsOperator(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		return nil, "", err
	}
	return dynamodb.NewFromConfig(cfg, ddbclient.Options), who, nil
}

// localOperator is the OS user running tokenctl, or "" when unknown.
func localOperator() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Username
}

// callerIdentity is the STS call awsOperator makes.
type callerIdentity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// awsOperator is the ARN of the AWS identity whose credentials tokenctl
// uses. Credentials that cannot name themselves cannot write the table
// either, so tokenctl stops there.
func awsOperator(ctx context.Context, api callerIdentity) (string, error) {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("AWS caller identity: %w", err)
	}
	return aws.ToString(out.Arn), nil
}
