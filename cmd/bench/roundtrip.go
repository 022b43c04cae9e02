package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// calls notes each DynamoDB call a client makes, by operation, with when it
// started and ended, as SDK middleware sees it: what a request cost, and
// how many of its calls ran one after another.
type calls struct {
	mu   sync.Mutex
	seen []call
}

type call struct {
	op         string
	start, end time.Time
}

// Option adds the noting middleware to a client's options.
func (c *calls) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("noteCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				c.mu.Lock()
				c.seen = append(c.seen, call{op: awsmiddleware.GetOperationName(ctx), start: start, end: time.Now()})
				c.mu.Unlock()
				return out, md, err
			}), middleware.Before)
	})
}

// Reset returns the calls noted so far and starts again.
func (c *calls) Reset() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.seen
	c.seen = nil
	return out
}

// inSeries is how many of cs ran one after another: the most of them that
// do not overlap in time (picked by earliest end). Calls made side by side
// count once.
func inSeries(cs []call) int {
	s := append([]call{}, cs...)
	sort.Slice(s, func(i, j int) bool { return s[i].end.Before(s[j].end) })
	n, last := 0, time.Time{}
	for _, c := range s {
		if !c.start.Before(last) {
			n, last = n+1, c.end
		}
	}
	return n
}

// roundTripRows times, one request at a time and interleaved, the bare
// UpdateItem and GetItem the authorized path is made of, a garbage token's
// 401 through the local gateway (its CPU, the authorizer's and the
// client's), and authorized GET /v2/sites and introspection through the
// local gateway with the authorizer cache off and on (30 s), against
// F = UpdateItem p50 + the 401's p50. Then it counts, per authorized
// request, the DynamoDB operations and how many ran in series.
func roundTripRows(ctx context.Context, endpoint, table, secret string, samples int) ([]row, error) {
	off, offCalls, err := serveNoted(ctx, endpoint, table, 0)
	if err != nil {
		return nil, err
	}
	defer off.close()
	on, onCalls, err := serveNoted(ctx, endpoint, table, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer on.close()

	client := off.DB
	counter := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{store.AttrPK: &types.AttributeValueMemberS{Value: "BENCH#floor"}, store.AttrSK: &types.AttributeValueMemberS{Value: "COUNT"}},
		UpdateExpression:          aws.String("ADD #c :one"),
		ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c < :limit"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":limit": &types.AttributeValueMemberN{Value: "1000000000"}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	}
	update := func() error {
		_, err := client.UpdateItem(ctx, counter)
		return err
	}
	secretItem := &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), Key: store.SecretKey(token.Hash(secret))}
	get := func() error {
		out, err := client.GetItem(ctx, secretItem)
		if err == nil && out.Item == nil {
			err = fmt.Errorf("secret item not found")
		}
		return err
	}
	// Both at once, as the authorizer makes them: what they cost side by
	// side on this DynamoDB. DynamoDB Local, on two shared cores, answers
	// the pair in about the sum of the two; DynamoDB serves two items of
	// different partitions independently.
	both := func() error {
		errc := make(chan error, 1)
		go func() { errc <- update() }()
		err := get()
		if uerr := <-errc; err == nil {
			err = uerr
		}
		return err
	}
	garbage := off.status("/v2/sites", tampered(secret), http.StatusUnauthorized)
	measured := []func() error{
		update, get, garbage, both,
		off.get("/v2/sites", secret), off.get("/v2/token/introspect", secret),
		on.get("/v2/sites", secret), on.get("/v2/token/introspect", secret),
	}
	// The warm-up fills connections, the sites cache, the first usage
	// writes and the authorizer's memory of the secret.
	times, err := warmThenInterleave(samples, measured...)
	if err != nil {
		return nil, err
	}
	p50 := func(i int) time.Duration { return percentile(times[i], 50) }
	f := p50(0) + p50(2)
	rows := []row{
		{what: "Bare UpdateItem (a conditional counter write, as the count), bare GetItem of the secret (strongly consistent), garbage token's 401 through the local gateway, the UpdateItem and the GetItem side by side, one at a time, same run: p50 each",
			figure: fmt.Sprintf("%s, %s, %s, %s", p50(0), p50(1), p50(2), p50(3))},
		{what: "F = UpdateItem p50 + the 401's p50; F' = the two side by side p50 + the 401's p50 (the floor on DynamoDB Local)", figure: fmt.Sprintf("%s; %s", f, p50(3)+p50(2))},
	}
	for i, name := range []string{
		"GET /v2/sites, authorizer cache off", "GET /v2/token/introspect, authorizer cache off",
		"GET /v2/sites, authorizer cache on (30 s)", "GET /v2/token/introspect, authorizer cache on (30 s)",
	} {
		ts := times[i+4]
		ratio := float64(percentile(ts, 50)) / float64(f)
		rows = append(rows, row{
			what:   name + " through the local gateway, every answer a 200, one at a time: p50 / p99; p50 / F; p50 / F'",
			figure: fmt.Sprintf("%s / %s; %.2f; %.2f", percentile(ts, 50), percentile(ts, 99), ratio, float64(percentile(ts, 50))/float64(p50(3)+p50(2))),
			target: "<= 1.3 F", verdict: verdict(ratio <= 1.3),
		})
	}

	// What each authorized request costs, steady state, one at a time.
	const perCase = 200
	for _, c := range []struct {
		name  string
		call  func() error
		noted *calls
	}{
		{"GET /v2/sites, authorizer cache off", off.get("/v2/sites", secret), offCalls},
		{"GET /v2/token/introspect, authorizer cache off", off.get("/v2/token/introspect", secret), offCalls},
		{"GET /v2/sites, authorizer cache on (30 s)", on.get("/v2/sites", secret), onCalls},
		{"GET /v2/token/introspect, authorizer cache on (30 s)", on.get("/v2/token/introspect", secret), onCalls},
	} {
		c.noted.Reset()
		ops, series, most := map[string]int{}, 0, 0
		for range perCase {
			if err := c.call(); err != nil {
				return nil, err
			}
			cs := c.noted.Reset()
			for _, x := range cs {
				ops[x.op]++
			}
			n := inSeries(cs)
			series += n
			most = max(most, n)
		}
		var names []string
		for op, n := range ops {
			names = append(names, fmt.Sprintf("%s %.3f", op, float64(n)/perCase))
		}
		sort.Strings(names)
		mean := float64(series) / perCase
		rows = append(rows, row{
			what:   fmt.Sprintf("DynamoDB operations per request; round trips in series (mean, most), %s (%d in a row, after warm-up)", c.name, perCase),
			figure: fmt.Sprintf("%s; %.3f, %d", strings.Join(names, ", "), mean, most),
			target: "one read and one counter write (cache off), one counter write (cache on); 1 round trip in series", verdict: verdict(mean < 1.05),
		})
	}
	return rows, nil
}

// floodRows sends n well-formed tokens that name no token (a valid
// checksum is free to compute) through the local gateway, a new string
// each time and one string again and again, and counts the DynamoDB
// operations they cost.
func floodRows(ctx context.Context, endpoint, table string, n int) ([]row, error) {
	s, noted, err := serveNoted(ctx, endpoint, table, 0)
	if err != nil {
		return nil, err
	}
	defer s.close()
	same := unknownToken()
	var rows []row
	for _, c := range []struct {
		name  string
		token func() string
	}{
		{"a new string each request", unknownToken},
		{"one string again and again", func() string { return same }},
	} {
		noted.Reset()
		for range n {
			if err := s.status("/v2/sites", c.token(), http.StatusUnauthorized)(); err != nil {
				return nil, err
			}
		}
		ops := map[string]int{}
		for _, x := range noted.Reset() {
			ops[x.op]++
		}
		var names []string
		writes := 0
		for op, k := range ops {
			names = append(names, fmt.Sprintf("%s %d", op, k))
			if op != "GetItem" && op != "Query" {
				writes += k
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			names = []string{"none"}
		}
		rows = append(rows, row{
			what:   fmt.Sprintf("DynamoDB operations of a flood of %d unknown well-formed tokens through the local gateway, %s (every answer a 401)", n, c.name),
			figure: strings.Join(names, ", "), target: "no write", verdict: verdict(writes == 0),
		})
	}
	return rows, nil
}

// serveNoted starts a stack on table with the authorizer cache at ttl (0:
// off), its DynamoDB calls noted.
func serveNoted(ctx context.Context, endpoint, table string, ttl time.Duration) (*stack, *calls, error) {
	noted := &calls{}
	s, err := serveWith(ctx, endpoint, table, 4, ttl, noted.Option, nil)
	return s, noted, err
}
