package ddbclient

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/tokensmith/tokensmith"
)

// TestSlowTableFailsInsideTheLambdaTimeout points the client at a server
// that accepts connections and never answers: the call must fail, retries
// included, within WorstCase, and WorstCase must fit the functions' timeout
// in template.yaml.
func TestSlowTableFailsInsideTheLambdaTimeout(t *testing.T) {
	var tmpl struct {
		Globals struct {
			Function struct {
				Timeout int `yaml:"Timeout"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
	}
	if err := yaml.Unmarshal(tokensmith.Template, &tmpl); err != nil {
		t.Fatal(err)
	}
	if limit := time.Duration(tmpl.Globals.Function.Timeout) * time.Second; WorstCase >= limit {
		t.Fatalf("WorstCase %v does not fit the functions' timeout %v", WorstCase, limit)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Each attempt times out and opens a new connection: count them.
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			defer c.Close() // held open, never answered
		}
	}()
	db, err := New("http://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "x"}},
	})
	took := time.Since(start)
	if err == nil {
		t.Fatal("GetItem against a server that never answers succeeded")
	}
	if n := accepted.Load(); n != MaxAttempts {
		t.Errorf("%d attempts; want %d", n, MaxAttempts)
	}
	if took > WorstCase+time.Second {
		t.Errorf("GetItem failed after %v; the bound is %v", took, WorstCase)
	}
}
