// Package dynamotest gives tests a fresh table in DynamoDB Local, created
// exactly as template.yaml declares it. `make test` starts DynamoDB Local and
// sets DYNAMODB_ENDPOINT.
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/store"
)

// Endpoint is DynamoDB Local's address: DYNAMODB_ENDPOINT, or the default
// that `make test` and `make run` use.
func Endpoint() string {
	if e := os.Getenv("DYNAMODB_ENDPOINT"); e != "" {
		return e
	}
	return defaults.Endpoint
}

// NewTable creates a table with a unique name and returns a client and the
// name; the table is deleted when the test ends. Under -short it skips the
// test: the short tier runs without DynamoDB Local.
func NewTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := ddbclient.Local(Endpoint())
	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	def, err := tmpl.Table()
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "test-" + hex.EncodeToString(b[:])
	if err := store.EnsureTable(ctx, db, def.CreateTableInput(name), def.TimeToLiveSpecification.AttributeName); err != nil {
		t.Fatalf("create table in DynamoDB Local at %s (run the tests with `make test`, which starts it): %v", Endpoint(), err)
	}
	t.Cleanup(func() {
		db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return db, name
}

// Need skips t under -short, for a test that needs DynamoDB Local by a
// way other than NewTable.
func Need(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs DynamoDB Local: not in the -short tier")
	}
}

// Ops counts DynamoDB operations by name, as SDK middleware sees them:
// pass Option to the client (ddbclient.Local's options).
type Ops struct {
	mu     sync.Mutex
	counts map[string]int64
}

// Option adds the counting middleware to a client's options.
func (c *Ops) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("countOps",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				if c.counts == nil {
					c.counts = map[string]int64{}
				}
				c.counts[awsmiddleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// Reset returns the counts so far, by operation name, and starts again
// from zero.
func (c *Ops) Reset() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	if out == nil {
		out = map[string]int64{}
	}
	c.counts = map[string]int64{}
	return out
}
