package main

import (
	"fmt"
	"math"
	"time"
)

// Prices assumed for the cost model: AWS us-east-1 list prices, as published
// for 2026 (check them against the current price pages before relying on them).
const (
	priceLambdaRequest = 0.20 / 1e6                 // per invocation
	priceLambdaMs128   = 0.0000133334 * 0.125 / 1e3 // arm64, per ms at 128 MB
	priceRESTRequest   = 3.50 / 1e6                 // REST API, first 333 million a month
	priceRRU           = 0.125 / 1e6                // on-demand read request unit
	priceWRU           = 0.625 / 1e6                // on-demand write request unit
)

// costRows prices a million authorized GET /v2/sites at the measured
// durations: decision is the authorizer's p50 against DynamoDB Local. The
// sites function answers a hot site from its cache, so it reads nothing and
// runs well under a billed millisecond. limitExtra is what counting the
// request against its token's rate limit adds to the function (the median
// difference measured with and without it), which also costs one write
// request unit.
func costRows(decision, limitExtra time.Duration) []row {
	ms := func(d time.Duration) float64 { return math.Ceil(float64(d) / float64(time.Millisecond)) } // Lambda bills whole ms
	lambda := func(d time.Duration) float64 { return priceLambdaRequest + ms(d)*priceLambdaMs128 }
	api := priceRESTRequest
	fn := lambda(200 * time.Microsecond)
	authz := lambda(decision)
	uncached := (api + authz + fn + priceRRU) * 1e6
	// With a 30 s cache, a hot token calls the authorizer about once per 30 s
	// per route: nothing, per million requests at any real rate.
	cached := (api + fn) * 1e6
	limited := lambda(200*time.Microsecond + max(limitExtra, 0))
	uncachedRL := (api + authz + limited + priceRRU + priceWRU) * 1e6
	cachedRL := (api + limited + priceWRU) * 1e6
	return []row{
		{what: "Cost per million authorized GET /v2/sites, authorizer cache 0 s, site cache warm (REST API + 2 Lambda invocations at 128 MB arm64 + 1 strongly consistent read)",
			figure: fmt.Sprintf("$%.2f (API $%.2f, authorizer $%.2f, function $%.2f, DynamoDB $%.2f)", uncached, api*1e6, authz*1e6, fn*1e6, priceRRU*1e6)},
		{what: "Cost per million, authorizer cache 30 s (hot token)", figure: fmt.Sprintf("$%.2f", cached)},
		{what: "Cost per million with rate limiting, authorizer cache 0 s (the above + 1 counter write, on-demand, and the function's longer run)",
			figure: fmt.Sprintf("$%.2f (function $%.2f, DynamoDB write $%.2f)", uncachedRL, limited*1e6, priceWRU*1e6)},
		{what: "Cost per million with rate limiting, authorizer cache 30 s (every request is still counted)", figure: fmt.Sprintf("$%.2f", cachedRL)},
	}
}
