// Package samtemplate reads template.yaml, the one definition of the table,
// the functions, their routes and the gateway responses, so that the local
// stack and the tests use what is deployed.
package samtemplate

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/tokensmith/tokensmith"
)

// Template is the part of template.yaml the code reads. Intrinsic functions
// (!Ref, !Sub, ...) are read as their plain arguments.
type Template struct {
	Parameters map[string]struct {
		Default any `yaml:"Default"`
	} `yaml:"Parameters"`
	Globals struct {
		Function struct {
			Environment Environment `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]Resource `yaml:"Resources"`
}

// Environment is a function's (or the globals') environment variables.
type Environment struct {
	Variables map[string]any `yaml:"Variables"`
}

// Resource is one resource of the template.
type Resource struct {
	Type       string         `yaml:"Type"`
	Metadata   map[string]any `yaml:"Metadata"`
	Properties yaml.Node      `yaml:"Properties"`
}

// TableDef is the table's definition, as CloudFormation declares it.
type TableDef struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []KeyElement `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string       `yaml:"IndexName"`
		KeySchema  []KeyElement `yaml:"KeySchema"`
		Projection struct {
			ProjectionType string `yaml:"ProjectionType"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
	StreamSpecification struct {
		StreamViewType string `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
}

// KeyElement is one key attribute.
type KeyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// Function is one AWS::Serverless::Function.
type Function struct {
	Environment Environment `yaml:"Environment"`
	// Policies are the function's inline policies; entries that are SAM
	// policy templates (SQSSendMessagePolicy, ...) have no Statement.
	Policies []Policy `yaml:"Policies"`
	Events   map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Method string `yaml:"Method"`
			Path   string `yaml:"Path"`
			Auth   struct {
				Authorizer string `yaml:"Authorizer"`
			} `yaml:"Auth"`
			// Stream event sources.
			FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
			DestinationConfig     struct {
				OnFailure struct {
					Destination string `yaml:"Destination"`
				} `yaml:"OnFailure"`
			} `yaml:"DestinationConfig"`
			FilterCriteria struct {
				Filters []struct {
					Pattern string `yaml:"Pattern"`
				} `yaml:"Filters"`
			} `yaml:"FilterCriteria"`
		} `yaml:"Properties"`
	} `yaml:"Events"`
}

// Policy is one inline policy. A policy written as
// !If [CONDITION, POLICY, !Ref AWS::NoValue] is read as POLICY, with
// Condition naming the template condition it depends on.
type Policy struct {
	Condition string
	Statement []Statement `yaml:"Statement"`
}

// UnmarshalYAML reads a policy, or the policy of an !If.
func (p *Policy) UnmarshalYAML(n *yaml.Node) error {
	type plain Policy
	if n.Tag == "!If" {
		if n.Kind != yaml.SequenceNode || len(n.Content) != 3 || n.Content[0].Kind != yaml.ScalarNode {
			return fmt.Errorf("samtemplate: line %d: !If wants [condition, then, else]", n.Line)
		}
		if err := n.Content[1].Decode((*plain)(p)); err != nil {
			return err
		}
		p.Condition = n.Content[0].Value
		return nil
	}
	return n.Decode((*plain)(p))
}

// Statement is one IAM policy statement. A resource is read as the argument
// of its intrinsic function: Table.Arn for !GetAtt Table.Arn.
type Statement struct {
	Effect   string  `yaml:"Effect"`
	Action   Strings `yaml:"Action"`
	Resource Strings `yaml:"Resource"`
	// Condition is the statement's condition block: operator, then
	// condition key, then values.
	Condition map[string]map[string]Strings `yaml:"Condition"`
}

// Strings is a list that the template may also write as one string, as IAM
// allows for actions and resources.
type Strings []string

// UnmarshalYAML reads one string or a list of them.
func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Strings{n.Value}
		return nil
	}
	var list []string
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return fmt.Errorf("samtemplate: line %d: want a string", c.Line)
		}
		list = append(list, c.Value)
	}
	*s = list
	return nil
}

// API is the AWS::Serverless::Api.
type API struct {
	Auth struct {
		DefaultAuthorizer string `yaml:"DefaultAuthorizer"`
		Authorizers       map[string]struct {
			FunctionPayloadType string `yaml:"FunctionPayloadType"`
			Identity            struct {
				Headers          []string `yaml:"Headers"`
				Context          []string `yaml:"Context"`
				ReauthorizeEvery string   `yaml:"ReauthorizeEvery"`
			} `yaml:"Identity"`
		} `yaml:"Authorizers"`
	} `yaml:"Auth"`
	GatewayResponses map[string]GatewayResponse `yaml:"GatewayResponses"`
	// MinimumCompressionSize is the smallest body gzipped for a client that
	// accepts it; nil turns compression off.
	MinimumCompressionSize *int `yaml:"MinimumCompressionSize"`
	// DefinitionBody holds the routes written into the API's definition
	// rather than as function events, by path and lower-case method.
	DefinitionBody struct {
		Paths map[string]map[string]Operation `yaml:"paths"`
	} `yaml:"DefinitionBody"`
}

// Operation is one method of a path of the API's definition.
type Operation struct {
	// Security lists the authorizers; [{NONE: []}] turns the default off.
	Security    []map[string]any `yaml:"security"`
	Integration struct {
		Type string    `yaml:"type"`
		URI  yaml.Node `yaml:"uri"`
	} `yaml:"x-amazon-apigateway-integration"`
}

// GatewayResponse is the status and JSON body API Gateway answers with for
// one response type.
type GatewayResponse struct {
	StatusCode         string `yaml:"StatusCode"`
	ResponseParameters struct {
		Headers map[string]string `yaml:"Headers"`
	} `yaml:"ResponseParameters"`
	ResponseTemplates map[string]string `yaml:"ResponseTemplates"`
}

// Load parses the embedded template.yaml.
func Load() (*Template, error) { return parse(tokensmith.Template) }

// parse parses a SAM template.
func parse(b []byte) (*Template, error) {
	var t Template
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("samtemplate: parse: %w", err)
	}
	return &t, nil
}

// Table returns the definition of the one AWS::DynamoDB::Table.
func (t *Template) Table() (TableDef, error) {
	var def TableDef
	err := t.one("AWS::DynamoDB::Table", &def)
	return def, err
}

// API returns the one AWS::Serverless::Api.
func (t *Template) API() (API, error) {
	var api API
	err := t.one("AWS::Serverless::Api", &api)
	return api, err
}

// Functions returns every AWS::Serverless::Function by logical id.
func (t *Template) Functions() (map[string]Function, error) {
	out := map[string]Function{}
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		var f Function
		if err := r.Properties.Decode(&f); err != nil {
			return nil, fmt.Errorf("samtemplate: function %s: %w", id, err)
		}
		out[id] = f
	}
	return out, nil
}

// ParameterDefault returns the default of a template parameter.
func (t *Template) ParameterDefault(name string) (string, bool) {
	p, ok := t.Parameters[name]
	if !ok || p.Default == nil {
		return "", false
	}
	return fmt.Sprint(p.Default), true
}

func (t *Template) one(typ string, v any) error {
	found := 0
	for id, r := range t.Resources {
		if r.Type != typ {
			continue
		}
		found++
		if err := r.Properties.Decode(v); err != nil {
			return fmt.Errorf("samtemplate: %s: %w", id, err)
		}
	}
	if found != 1 {
		return fmt.Errorf("samtemplate: %d resources of type %s; want 1", found, typ)
	}
	return nil
}

// CreateTableInput returns the input that creates the table as declared,
// under name. TTL is set separately, as DynamoDB requires.
func (d TableDef) CreateTableInput(name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingMode(d.BillingMode),
		KeySchema:   keySchema(d.KeySchema),
	}
	for _, a := range d.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range d.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType)},
		})
	}
	if d.StreamSpecification.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(d.StreamSpecification.StreamViewType),
		}
	}
	return in
}

// Status returns the gateway response's status, or fallback where the
// template keeps the original status (as DEFAULT_4XX does).
func (g GatewayResponse) Status(fallback int) int {
	if n, err := strconv.Atoi(g.StatusCode); err == nil {
		return n
	}
	return fallback
}

func keySchema(ks []KeyElement) []types.KeySchemaElement {
	var out []types.KeySchemaElement
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	return out
}
