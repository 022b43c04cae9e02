package httpapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Proxy is a Lambda handler behind an API Gateway REST API (Lambda proxy
// integration): what a function hands to lambda.Start and what the local
// gateway calls.
type Proxy = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Adapt runs h as a proxy-integration Lambda handler.
func Adapt(h http.Handler) Proxy { return httpadapter.New(h).ProxyWithContext }
