package ddbclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith/internal/metrics"
)

// TestMeasured points the client at a server that throttles the first
// attempts of each call and answers the rest, and reads the counts from the
// invocation's record: one call, its retries and its throttled attempts.
func TestMeasured(t *testing.T) {
	tests := []struct {
		name                         string
		throttled                    int64
		wantCalls, wantRetries, want int
	}{
		{"answered at once", 0, 1, 0, 0},
		{"throttled once", 1, 1, 1, 1},
		{"throttled on every attempt", MaxAttempts, 1, MaxAttempts - 1, MaxAttempts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var attempts atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				if attempts.Add(1) <= tc.throttled {
					w.WriteHeader(http.StatusBadRequest)
					w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`))
					return
				}
				w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			rec := metrics.New(metrics.FunctionSites)
			ctx := metrics.NewContext(context.Background(), rec)
			Local(srv.URL).GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String("t"), Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "x"}},
			})
			got := map[string]float64{}
			for _, line := range rec.Lines(time.Unix(1, 0)) {
				data, err := metrics.Parse(line)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range data {
					got[d.Metric.Name] = d.Values[0]
				}
			}
			want := map[string]float64{metrics.DynamoDBCalls.Name: float64(tc.wantCalls)}
			if tc.wantRetries > 0 {
				want[metrics.DynamoDBRetries.Name] = float64(tc.wantRetries)
			}
			if tc.want > 0 {
				want[metrics.DynamoDBThrottles.Name] = float64(tc.want)
			}
			if len(got) != len(want) {
				t.Errorf("metrics = %v; want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v; want %v (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}
