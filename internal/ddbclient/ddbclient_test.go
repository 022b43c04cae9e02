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
	db := Local("http://" + l.Addr().String())
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

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{"local", map[string]string{"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000"}, false},
		{"lambda", map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}, false},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}, true},
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1"}, true},
		{"nothing", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := New(func(k string) string { return tc.env[k] })
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("New = %v; want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			o := db.Options()
			wantRegion := tc.env["AWS_REGION"]
			if tc.env["DYNAMODB_ENDPOINT"] != "" {
				wantRegion = "us-east-1"
				if got := aws.ToString(o.BaseEndpoint); got != tc.env["DYNAMODB_ENDPOINT"] {
					t.Errorf("BaseEndpoint = %q; want %q", got, tc.env["DYNAMODB_ENDPOINT"])
				}
			}
			if o.Region != wantRegion {
				t.Errorf("Region = %q; want %q", o.Region, wantRegion)
			}
			creds, err := o.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if k, ok := tc.env["AWS_ACCESS_KEY_ID"]; ok && (creds.AccessKeyID != k || creds.SessionToken != tc.env["AWS_SESSION_TOKEN"]) {
				t.Errorf("credentials = %+v; want the environment's", creds)
			}
		})
	}
}
