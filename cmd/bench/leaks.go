package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/usage"
)

// allowlistRanges returns n ranges of which only the last holds ip
// 203.0.113.5: the decision checks every range, as for a caller in the
// last one.
func allowlistRanges(n int) []string {
	out := make([]string, 0, n)
	for i := range n - 1 {
		out = append(out, fmt.Sprintf("198.51.%d.0/24", i))
	}
	return append(out, "203.0.113.0/24")
}

// allowlistRows times the authorizer's CPU path (its store in memory) for
// the same token without an allowlist and with 20 ranges, in interleaved
// batches of the same run, and reports the median of the batches'
// differences: what the allowlist adds to a decision.
func allowlistRows(ctx context.Context, secret string, sec tokensmith.Secret) []row {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	listed := sec
	listed.AllowedIPs = allowlistRanges(20)
	none := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: log}
	twenty := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(listed), Now: time.Now, Log: log}
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites",
		Resource: "/v2/sites", Path: "/v2/sites", HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer " + secret},
	}
	req.RequestContext.Identity.SourceIP = "203.0.113.5"
	const rounds, batch = 400, 500
	var tNone, tTwenty, diffs []float64
	timeBatch := func(a *authorizer.Authorizer) float64 {
		start := time.Now()
		for range batch {
			a.Handle(ctx, req)
		}
		return float64(time.Since(start).Nanoseconds()) / batch
	}
	timeBatch(none) // warm up
	timeBatch(twenty)
	for i := range rounds {
		var n, w float64
		if i%2 == 0 {
			n, w = timeBatch(none), timeBatch(twenty)
		} else {
			w, n = timeBatch(twenty), timeBatch(none)
		}
		tNone, tTwenty, diffs = append(tNone, n), append(tTwenty, w), append(diffs, w-n)
	}
	median := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	d := median(diffs)
	return []row{
		{what: fmt.Sprintf("Authorizer CPU path, store in memory, without an IP allowlist / with 20 ranges (the caller in the last), %d interleaved batches of %d: median ns/op", rounds, batch),
			figure: fmt.Sprintf("%.0f / %.0f", median(tNone), median(tTwenty))},
		{what: "What an allowlist of 20 ranges adds to a decision (median of the batches' differences)",
			figure: fmt.Sprintf("%.0f ns", d), target: "< 1 µs", verdict: verdict(d < 1000)},
	}
}

// advisorRows counts the DynamoDB writes a busy token's usage costs per
// minute, with the scopes it exercised noted in the same writes and, for
// comparison, with none noted (as before the advisor), on a token granted
// every site scope; and the size of its record once every scope has a time.
func advisorRows(ctx context.Context, st *store.Store, db *mock.CountingDB, client *dynamodb.Client, table, siteID string) ([]row, error) {
	perms := scope.Permissions{}
	for _, api := range scope.APIs(token.KindSite) {
		perms[api] = scope.Read
		if api != "site_activity" {
			perms[api] = scope.ReadWrite
		}
	}
	scopes := scope.Expand(perms)
	now := time.Now().UTC()
	mint := func(id string) (tokensmith.Secret, error) {
		site, err := st.Site(ctx, siteID)
		if err != nil {
			return tokensmith.Secret{}, err
		}
		secret, err := token.Generate(token.KindSite, rand.Reader)
		if err != nil {
			return tokensmith.Secret{}, err
		}
		t := tokensmith.Token{ID: id, Kind: token.KindSite, Name: "advisor", SiteID: site.ID, WorkspaceID: site.WorkspaceID,
			Permissions: perms, Scope: scope.Join(scopes), DisplayHint: token.DisplayHint(secret),
			SecretHash: token.Hash(secret), CreatedOn: now, ExpiresOn: now.Add(token.Inactivity)}
		ev := tokensmith.Event{ID: id, Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: now, Workspace: tokensmith.WorkspaceRef{ID: site.WorkspaceID}}
		if err := st.CreateToken(ctx, site.TokenVersion, "", site.TokenRateLimit(), t, ev, nil, now); err != nil {
			return tokensmith.Secret{}, err
		}
		return st.Secret(ctx, t.SecretHash)
	}
	const minutes, perMinute = 10, 120
	// run serves perMinute uses a minute for minutes on one recorder, each
	// use exercising the next scope (or none), and counts the writes.
	run := func(sec tokensmith.Secret, withScopes bool) int64 {
		r := &usage.Recorder{Store: st, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		db.Reset()
		for i := range minutes * perMinute {
			sc := ""
			if withScopes {
				sc = scopes[i%len(scopes)]
			}
			r.Record(ctx, sec, sc, now.Add(time.Duration(i)*time.Minute/perMinute))
		}
		return db.Writes.Load()
	}
	withSec, err := mint("0000000b00000000000000a1")
	if err != nil {
		return nil, err
	}
	withoutSec, err := mint("0000000b00000000000000a2")
	if err != nil {
		return nil, err
	}
	with, without := run(withSec, true), run(withoutSec, false)
	size, err := recordSize(ctx, client, table, store.SiteKey(siteID), "TOKEN#"+withSec.TokenID)
	if err != nil {
		return nil, err
	}
	perWith, perWithout := float64(with)/minutes, float64(without)/minutes
	return []row{
		{what: fmt.Sprintf("DynamoDB writes per token-minute for its usage, %d uses a minute for %d minutes, each use exercising the next of %d scopes / none (as before scopeLastUsed)", perMinute, minutes, len(scopes)),
			figure: fmt.Sprintf("%.2f / %.2f (one transaction of the record and the secret each)", perWith, perWithout), target: "unchanged", verdict: verdict(with == without)},
		{what: fmt.Sprintf("Size of that token's record with all %d scopes' times in scopeLastUsed (DynamoDB's item size)", len(scopes)),
			figure: fmt.Sprintf("%d bytes (%d WCU a usage write)", size, (size+1023)/1024)},
	}, nil
}

// recordSize is the size DynamoDB counts for the item at pk and sk: the
// lengths of attribute names and values.
func recordSize(ctx context.Context, client *dynamodb.Client, table string, siteKey map[string]types.AttributeValue, sk string) (int, error) {
	key := map[string]types.AttributeValue{store.AttrPK: siteKey[store.AttrPK], store.AttrSK: &types.AttributeValueMemberS{Value: sk}}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	if out.Item == nil {
		return 0, fmt.Errorf("record %s not found", sk)
	}
	return attributesSize(out.Item), nil
}

func attributesSize(m map[string]types.AttributeValue) int {
	n := 0
	for k, v := range m {
		n += len(k) + valueSize(v)
	}
	return n
}

// valueSize follows DynamoDB's item size rules closely enough for a
// record: strings by their bytes, numbers at most 21 bytes, maps and lists
// 3 bytes plus their elements (and a byte each).
func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return min(21, (len(v.Value)+1)/2+1)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		return 3 + attributesSize(v.Value) + len(v.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	}
	return 0
}
