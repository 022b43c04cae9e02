package localdev_test

import (
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
)

// TestMetricsInLog: the local stack writes each invocation's metrics record
// to its log, as the functions do in AWS: the authorizer's decisions, the
// tokens function's mints and revocations, the sites function's refusals,
// the DynamoDB calls of the authorizer (the read and the count) and of the
// sites function (a token's first use), each line held to the catalogue.
func TestMetricsInLog(t *testing.T) {
	e := newEnv(t)
	secret, id := e.mint("site", `{"cms":"read"}`)
	reader, _ := e.mint("site", `{"sites":"read"}`)
	e.do("GET", "/v2/sites", secret, "")        // denied_scope: no sites:read
	e.do("GET", "/v2/sites", "tss_garbage", "") // unauthorized
	e.do("GET", "/v2/sites", reader, "")        // its first use, written
	e.do("DELETE", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, "")

	want := map[string]bool{
		"authorizer Decisions allowed": false, "authorizer Decisions unauthorized": false,
		"sites Decisions denied_scope": false, "tokens TokensMinted user": false, "tokens TokensRevoked user": false,
		"sites DynamoDBCalls": false, "authorizer DynamoDBCalls": false,
	}
	seen := metricsIn(t, e.logs.String())
	for k := range want {
		want[k] = seen[k] > 0
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no record of %s in the log", k)
		}
	}
}

// metricsIn counts the metrics the records in log hold, by function,
// metric and dimension values ("sites Decisions denied_scope"); a record
// that breaks the catalogue fails the test.
func metricsIn(t *testing.T, log string) map[string]int {
	t.Helper()
	records, bad := eventstest.Records(log)
	for _, err := range bad {
		t.Error(err)
	}
	seen := map[string]int{}
	for _, data := range records {
		for _, d := range data {
			k := d.Dimensions["function"] + " " + d.Metric.Name
			for _, dim := range d.Metric.Dimensions[1:] {
				k += " " + d.Dimensions[dim.Name]
			}
			seen[k]++
		}
	}
	return seen
}
