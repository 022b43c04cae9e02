package ratelimit

import (
	"strconv"
	"time"
)

// Keys of a decision in API Gateway's authorizer context. countFor names
// the request the decision was made for: API Gateway hands a cached
// authorizer context to later requests, which the decision does not count.
const (
	keyFor        = "countFor"
	keyAllowed    = "countAllowed"
	keyLimit      = "countLimit"
	keyRemaining  = "countRemaining"
	keyReset      = "countReset"
	keyRetryAfter = "countRetryAfter"
)

// AddToContext adds d, made for the request requestID, to the authorizer
// context c. API Gateway passes on only strings, numbers and booleans, so
// every value is a string.
func (d Decision) AddToContext(c map[string]interface{}, requestID string) {
	c[keyFor] = requestID
	c[keyAllowed] = strconv.FormatBool(d.Allowed)
	c[keyLimit] = strconv.FormatInt(d.Limit, 10)
	c[keyRemaining] = strconv.FormatInt(d.Remaining, 10)
	c[keyReset] = strconv.FormatInt(d.Reset.Unix(), 10)
	c[keyRetryAfter] = strconv.FormatInt(int64(d.RetryAfter/time.Second), 10)
}

// FromContext returns the decision in the authorizer context c if it was
// made for the request requestID; a decision made for another request (a
// cached one), none, or one that does not read whole is not there (false),
// and the request is counted again.
func FromContext(c map[string]interface{}, requestID string) (Decision, bool) {
	str := func(k string) string {
		s, _ := c[k].(string)
		return s
	}
	if requestID == "" || str(keyFor) != requestID {
		return Decision{}, false
	}
	allowed, err1 := strconv.ParseBool(str(keyAllowed))
	limit, err2 := strconv.ParseInt(str(keyLimit), 10, 64)
	remaining, err3 := strconv.ParseInt(str(keyRemaining), 10, 64)
	reset, err4 := strconv.ParseInt(str(keyReset), 10, 64)
	retry, err5 := strconv.ParseInt(str(keyRetryAfter), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || limit < 1 {
		return Decision{}, false
	}
	return Decision{Allowed: allowed, Limit: limit, Remaining: remaining, Reset: time.Unix(reset, 0).UTC(), RetryAfter: time.Duration(retry) * time.Second}, true
}
